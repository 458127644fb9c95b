;; instantiate.wat: the module tests/bench/instantiate_bench.c instantiates and calls through a
;; pool on each tier: a memory with data (so the slot maps an image), a global, a table, and a
;; trivial export.
(module
  (memory (export "memory") 1 4)
  (data (i32.const 0) "\2a\00\00\00")
  (global $g (mut i32) (i32.const 0))
  (table 1 funcref)
  (elem (i32.const 0) $answer)
  (func $answer (export "answer") (result i32)
    (i32.const 42)))
