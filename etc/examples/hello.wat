;; hello.wat: an example module for wasmslotd with a memory: a counter and a greeting in its
;; data segment, reset to pristine for every new instance.
(module
  (memory (export "memory") 1 16)
  (data (i32.const 0) "hello, wasmslot")
  (global $calls (mut i32) (i32.const 0))
  ;; Counts calls on one instance: a fresh instance starts again at 1.
  (func (export "count") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    global.get $calls)
  ;; The first 8 bytes of the greeting as an i64 (little endian).
  (func (export "greeting") (result i64)
    i32.const 0
    i64.load)
  ;; Overwrite the greeting; the next instance still sees the original.
  (func (export "scribble") (param i64)
    i32.const 0
    local.get 0
    i64.store)
  ;; Runs forever: the module's deadline ends it with a timeout trap.
  (func (export "spin")
    (loop $l (br $l))))
