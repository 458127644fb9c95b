;; inst_segments.wat: active, passive and declarative element segments and active/passive data
;; segments, one of them ending exactly at the end of the memory.
(module
  (table (export "tab") 4 funcref)
  (memory (export "mem") 1)
  (func $a (export "a") (result i32) (i32.const 1))
  (func $b (export "b") (result i32) (i32.const 2))
  (elem (i32.const 1) $a $b)
  (elem func $b)
  (elem declare func $a)
  (elem (table 0) (i32.const 3) funcref (ref.null func))
  (data (i32.const 16) "hello")
  (data (i32.const 65531) "world")
  (data "passive")
  (func (export "call") (param i32) (result i32)
    (call_indirect (result i32) (local.get 0))))
