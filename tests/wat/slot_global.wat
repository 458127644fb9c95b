;; slot_global.wat: a data segment at an imported global's offset cannot be imaged; the slot
;; falls back to copying it at instantiation.
(module
  (import "env" "offset" (global i32))
  (memory 1 2)
  (data (global.get 0) "copied data")
  (func (export "load8") (param i32) (result i32)
    local.get 0
    i32.load8_u)
  (func (export "store8") (param i32 i32)
    local.get 0
    local.get 1
    i32.store8))
