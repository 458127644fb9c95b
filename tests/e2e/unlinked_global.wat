;; unlinked_global.wat: an unknown import that is not a function: no stub can stand for it, so
;; even unknown_imports = trap refuses the module.
(module
  (import "env" "limit" (global i32))
  (func (export "get") (result i32) (global.get 0)))
