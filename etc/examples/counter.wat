;; counter.wat: a counter in a shared memory, for calls with threads (wasmslot call -T N).
;; It imports its memory, so wasmslotd.conf binds it to a [shmem] section:
;;   [shmem counter]  min = 64K  max = 1M
;;   [module counter] path = examples/counter.wasm  import = env.memory shmem:counter
;; Every instance of every module bound to that shmem, in every worker, sees the same bytes.
(module
  (import "env" "memory" (memory 1 16 shared))
  ;; add(thread_index, iterations): add 1 to the counter at address 0, `iterations` times,
  ;; each with an atomic read-modify-write; returns the thread index it was given.
  (func (export "add") (param $thread i32) (param $n i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $thread))
;; rendezvous(thread_index, n): wait until n threads have arrived (an arrival count at
  ;; address 4, memory.atomic.wait32 / notify), so it returns only when n threads really run at
  ;; the same time; returns how many had arrived before this one.
  (func (export "rendezvous") (param $thread i32) (param $n i32) (result i32)
    (local $before i32) (local $seen i32)
    (local.set $before (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (if (i32.ge_u (i32.add (local.get $before) (i32.const 1)) (local.get $n))
      (then (drop (memory.atomic.notify (i32.const 4) (i32.const -1)))))
    (block $done
      (loop $again
        (local.set $seen (i32.atomic.load (i32.const 4)))
        (br_if $done (i32.ge_u (local.get $seen) (local.get $n)))
        (drop (memory.atomic.wait32 (i32.const 4) (local.get $seen) (i64.const -1)))
        (br $again)))
    (local.get $before))
  ;; get(): the counter.
  (func (export "get") (result i32)
    (i32.atomic.load (i32.const 0)))
  ;; reset(): set the counter and the arrival count back to 0.
  (func (export "reset")
    (i32.atomic.store (i32.const 0) (i32.const 0))
    (i32.atomic.store (i32.const 4) (i32.const 0))))
