;; slot_other.wat: a second module with a smaller memory and other data, for a slot that moves
;; between modules.
(module
  (memory 1 1)
  (data (i32.const 100) "OTHER")
  (func (export "load8") (param i32) (result i32)
    local.get 0
    i32.load8_u)
  (func (export "store8") (param i32 i32)
    local.get 0
    local.get 1
    i32.store8))
