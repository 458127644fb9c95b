;; inst_exports.wat: one export of every kind, a function exported under several names (one
;; holding a NUL byte), and a global initialised with a function reference.
(module
  (func $add (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (table (export "tab") 2 5 funcref)
  (memory (export "mem") 1 3)
  (global (export "g") (mut i32) (i32.const 42))
  (global (export "gf") f64 (f64.const 1.5))
  (global (export "fr") funcref (ref.func $add))
  (export "add again" (func $add))
  (export "a\00b" (func $add)))
