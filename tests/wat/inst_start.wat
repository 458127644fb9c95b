;; inst_start.wat: a start function that writes a global and the memory before anyone calls in.
(module
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func $start
    (global.set $g (i32.const 7))
    (i32.store (i32.const 8) (i32.const 0x11223344)))
  (start $start))
