;; slot_secret.wat: a module whose data is imaged, with accessors to read, write and grow its
;; memory; the slot tests use it to prove a terminated instance leaves nothing behind.
(module
  (memory (export "memory") 2 4)
  (data (i32.const 100) "pristine image data")
  (data (i32.const 70000) "second page")
  ;; passive: never in the image, copied by memory.init as usual
  (data $passive "passive!")
  (func (export "init_passive") (param i32)
    local.get 0
    i32.const 0
    i32.const 8
    memory.init $passive)
  (func (export "load8") (param i32) (result i32)
    local.get 0
    i32.load8_u)
  (func (export "store8") (param i32 i32)
    local.get 0
    local.get 1
    i32.store8)
  (func (export "load64") (param i32) (result i64)
    local.get 0
    i64.load)
  ;; "SECRET!!" as a little-endian i64
  (func (export "write_secret") (param i32)
    local.get 0
    i64.const 0x2121544552434553
    i64.store)
  (func (export "grow") (param i32) (result i32)
    local.get 0
    memory.grow)
  (func (export "size") (result i32)
    memory.size))
