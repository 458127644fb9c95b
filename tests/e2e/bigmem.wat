;; bigmem.wat: a memory without a declared maximum, grown on request, for the tests of
;; max_memory's default and of max_total_memory.
(module
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) memory.size)
  (func (export "spin") (loop $l (br $l))))
