;; no_start.wat: a module that is not a WASI command (no "_start" export).
(module
  (memory (export "memory") 1)
  (func (export "main")))
