;; e2e.wat: the end-to-end tests' module: every value type, multi-value, each trap kind, a
;; runaway loop, and memory/global state to prove isolation between instances.
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (memory (export "memory") 1 4)
  (data (i32.const 16) "pristine")
  (global $counter (mut i32) (i32.const 0))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $seven $double)

  (func $seven (type $v_i) i32.const 7)
  (func $double (type $i_i) (i32.mul (local.get 0) (i32.const 2)))

  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "add_i64") (param i64 i64) (result i64)
    (i64.add (local.get 0) (local.get 1)))
  (func (export "mul_f32") (param f32 f32) (result f32)
    (f32.mul (local.get 0) (local.get 1)))
  (func (export "div_f64") (param f64 f64) (result f64)
    (f64.div (local.get 0) (local.get 1)))
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_i32") (param i32) (result i32) local.get 0)
  ;; Multi-value: all four types back in reverse order.
  (func (export "swap") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)

  ;; State that lives as long as the instance.
  (func (export "incr") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    global.get $counter)
  (func (export "peek") (result i64) (i64.load (i32.const 16)))
  (func (export "poke") (param i64) (i64.store (i32.const 16) (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) memory.size)

  ;; One export per trap kind.
  (func (export "trap_unreachable") unreachable)
  (func (export "trap_oob_memory") (result i32) (i32.load (i32.const 0x7ffffff0)))
  (func (export "trap_oob_table") (result funcref) (table.get $t (i32.const 100)))
  (func (export "trap_oob_table2") (table.set $t (i32.const 100) (ref.null func)))
  (func (export "trap_div_zero") (param i32) (result i32)
    (i32.div_s (i32.const 1) (local.get 0)))
  (func (export "trap_overflow") (result i32)
    (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "trap_conversion") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "trap_undefined_element") (result i32)
    (call_indirect $t (type $v_i) (i32.const 10)))
  (func (export "trap_uninitialized_element") (result i32)
    (call_indirect $t (type $v_i) (i32.const 3)))
  (func (export "trap_indirect_mismatch") (result i32)
    (call_indirect $t (type $v_i) (i32.const 1)))
  (func $recurse (export "trap_stack") (call $recurse))
  (func (export "call_table") (param i32) (result i32)
    (call_indirect $t (type $v_i) (local.get 0)))

  ;; A runaway loop: only its deadline ends it.
  (func (export "spin") (loop $l (br $l)))
  (func (export "spin_i32") (result i32) (loop $l (br $l)) i32.const 0))
