;; atomics.wat: the two traps of the threads proposal, in their own module so the main
;; fixture does not depend on the engine's atomics.
(module
  (memory 1 1)
  (func (export "trap_unaligned_atomic") (result i32) (i32.atomic.load (i32.const 1)))
  (func (export "trap_expected_shared") (result i32)
    (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))
