;; imports_badsig.wat: fd_write imported with the wrong signature must not link.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i64) (result i32)))
  (func (export "_start")))
