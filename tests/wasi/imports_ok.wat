;; imports_ok.wat: WASI imports that link (a known function, an unknown one that becomes a
;; NOSYS stub, proc_exit) next to a non-WASI import the embedder provides.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "answer" (global i32))
  (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
