;; slot_oob.wat: a data segment past the initial memory: not imaged, and instantiation traps
;; exactly as without a pool.
(module
  (memory 1 2)
  (data (i32.const 0) "written first")
  (data (i32.const 65530) "0123456789"))
