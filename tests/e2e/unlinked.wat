;; unlinked.wat: a module with imports wasmslotd does not provide (env.*), next to a WASI one,
;; for unknown_imports (test_config.py): exports that never call them work when the pool
;; stubs them, and calling one traps unlinked_import.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "host_log" (func $log (param i32)))
  (import "env" "host_sum" (func $sum (param i64 f64) (result i32)))
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "uses_log") (param i32) (result i32)
    (call $log (local.get 0))
    (local.get 0))
  (func (export "uses_sum") (result i32)
    (call $sum (i64.const 1) (f64.const 2))))
