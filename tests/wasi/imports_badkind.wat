;; imports_badkind.wat: WASI exports only functions; a memory from it must not link.
(module
  (import "wasi_snapshot_preview1" "memory" (memory 1))
  (func (export "_start")))
