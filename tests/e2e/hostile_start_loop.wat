;; hostile_start_loop.wat: a start function that never returns; only the deadline ends it.
(module
  (memory 1)
  (func $start (i32.store (i32.const 0) (i32.const 1)) (loop $l (br $l)))
  (start $start)
  (func (export "f") (result i32) i32.const 1))
