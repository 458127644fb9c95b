;; imports_badstub.wat: an unknown WASI name whose type returns no errno is not WASI at all.
(module
  (import "wasi_snapshot_preview1" "frobnicate" (func (param i32)))
  (func (export "_start")))
