;; embed.wat: the module docs/examples/embed.c loads: an export to call, a counter kept in
;; linear memory (so a recycled slot visibly starts fresh), and a load that can go out of bounds.
(module
  (memory (export "memory") 1 4)
  (data (i32.const 0) "\2a\00\00\00")     ;; the counter starts at 42 in every new instance
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "bump") (result i32)       ;; counter += 1, returns the new value
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (i32.load (i32.const 0)))
  (func (export "peek") (param i32) (result i32)
    (i32.load (local.get 0))))
