;; shm_reader.wat: a second module over the shared memory of counter.wat, without atomic
;; instructions (so the daemon's shared-memory plumbing is tested whatever the engine's
;; atomics support): plain loads and stores, memory.grow, and a per-thread mark.
(module
  (import "env" "memory" (memory 1 16 shared))
  ;; get(): the counter at address 0 (where counter.wat keeps it).
  (func (export "get") (result i32) (i32.load (i32.const 0)))
  (func (export "set") (param i32) (i32.store (i32.const 0) (local.get 0)))
  ;; grow(pages): memory.grow's result.
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  ;; mark(thread_index, value): store value at 64 + 4 * thread_index; returns thread_index * 10.
  (func (export "mark") (param $t i32) (param $v i32) (result i32)
    (i32.store offset=64 (i32.shl (local.get $t) (i32.const 2)) (local.get $v))
    (i32.mul (local.get $t) (i32.const 10)))
  ;; peek(thread_index): what mark stored for that thread.
  (func (export "peek") (param $t i32) (result i32)
    (i32.load offset=64 (i32.shl (local.get $t) (i32.const 2))))
  ;; trap_if(thread_index, bad): unreachable in the thread whose index is bad.
  (func (export "trap_if") (param $t i32) (param $bad i32) (result i32)
    (if (i32.eq (local.get $t) (local.get $bad)) (then unreachable))
    (local.get $t)))
