;; inst_imports.wat: one import of every kind, for the linking tests.
(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "tab" (table 2 10 funcref))
  (import "env" "mem" (memory 1 4))
  (import "env" "g" (global i32))
  (import "env" "mg" (global (mut i64)))
  (global (export "copy") i32 (global.get 0))
  (func (export "call_f") (param i32) (result i32)
    (call $f (local.get 0)))
  (export "f_again" (func $f)))
