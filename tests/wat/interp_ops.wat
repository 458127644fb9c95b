;; interp_ops.wat: interpreter fixture: arithmetic edge cases, every trap kind, calls,
;; multi-value, recursion, loops and a host callback for re-entry (tests/check_interp.c).
(module
  (import "env" "callback" (func $cb (param i32) (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $add1 $ret_f32)

  (func $add1 (type $i_i) (i32.add (local.get 0) (i32.const 1)))
  (func $ret_f32 (result f32) (f32.const 1.5))

  ;; arithmetic
  (func (export "div_s") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem_s") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
  (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
  (func (export "rotl") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
  (func (export "clz64") (param i64) (result i64) (i64.clz (local.get 0)))
  (func (export "trunc_f32_s") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func (export "trunc_f64_u64") (param f64) (result i64) (i64.trunc_f64_u (local.get 0)))
  (func (export "sat_f64_s") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
  (func (export "f32_min") (param f32 f32) (result f32) (f32.min (local.get 0) (local.get 1)))
  (func (export "f64_max") (param f64 f64) (result f64) (f64.max (local.get 0) (local.get 1)))
  (func (export "f32_neg") (param f32) (result f32) (f32.neg (local.get 0)))
  (func (export "f64_nearest") (param f64) (result f64) (f64.nearest (local.get 0)))
  (func (export "f32_add") (param f32 f32) (result f32) (f32.add (local.get 0) (local.get 1)))
  (func (export "extend8") (param i32) (result i32) (i32.extend8_s (local.get 0)))

  ;; a loop with locals, compare-and-branch and local.set fusion: sum of 1..n
  (func (export "sum") (param i32) (result i64) (local $acc i64)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $l)))
    (local.get $acc))

  ;; loop latches fused into add-compare-branch; the first add sits before the loop label and
  ;; must not be fused with the loop's first compare
  (func (export "latch") (param i32) (result i32) (local i32)
    (local.set 1 (i32.add (local.get 0) (i32.const 1)))
    (block $b
      (loop $l
        (br_if $b (i32.eq (local.get 1) (i32.const 5)))
        (local.set 1 (i32.add (local.get 1) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get 1) (i32.const 100)))))
    (local.get 1))
  (func (export "latch_tee") (param i32) (result i32)
    (loop $l
      (br_if $l (i32.ne (local.tee 0 (i32.add (local.get 0) (i32.const 3))) (i32.const 30))))
    (local.get 0))

  ;; pending reads of a local that is then overwritten: returns a*1000 + b with a, b swapped
  (func (export "swap_pending") (param i32 i32) (result i32)
    (local.get 0)
    (local.set 0 (local.get 1))
    (local.set 1)
    (i32.add (i32.mul (local.get 0) (i32.const 1000)) (local.get 1)))

  ;; traps
  (func (export "unreachable") (unreachable))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_far") (param i32) (result i64) (i64.load offset=0xfffffff0 (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  ;; an address computed by i32.add wraps at 32 bits even when the add is fused into the access
  (func (export "load_wrap") (param i32) (result i32)
    (i32.load offset=4 (i32.add (local.get 0) (i32.const 8))))
  (func (export "store_wrap") (param i32 i32)
    (i32.store (i32.add (local.get 0) (i32.const 8)) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "call_ind") (param i32 i32) (result i32)
    (call_indirect $t (type $i_i) (local.get 0) (local.get 1)))
  (func (export "table_get_null") (param i32) (result i32)
    (ref.is_null (table.get $t (local.get 0))))

  ;; recursion
  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
  ;; plain recursion n deep: down(n) = n
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $runaway (export "runaway") (param i32) (result i32)
    (call $runaway (i32.add (local.get 0) (i32.const 1))))
  (func (export "spin") (loop $l (br $l)))
  ;; 2^n calls and not one loop: only the polls at calls can end it.
  (func $tree (export "tree") (param i32)
    (if (local.get 0)
      (then (call $tree (i32.sub (local.get 0) (i32.const 1)))
            (call $tree (i32.sub (local.get 0) (i32.const 1))))))

  ;; multi-value
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "divmod") (param i32 i32) (result i32 i32)
    (block (result i32 i32)
      (br_if 0 (i32.const -1) (i32.const -1) (i32.eqz (local.get 1)))
      (drop) (drop)
      (i32.div_u (local.get 0) (local.get 1))
      (i32.rem_u (local.get 0) (local.get 1))))
  (func (export "pick") (param i32) (result i32 i32)
    (block (result i32 i32)
      (block (result i32 i32)
        (i32.const 1) (i32.const 2)
        (br_table 0 1 (local.get 0)))
      (i32.const 10) (i32.add)))
  ;; br_table entries that jump back to an enclosing loop: a C switch in a loop compiles so.
  ;; "count" takes the loop entry n - 1 times; "backtable" mixes forward and backward entries
  ;; and its default is the loop.
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_table $done $l (i32.lt_u (local.get $i) (local.get $n)))))
    (local.get $i))
  (func (export "backtable") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (br_table $done $done $l
          (select (i32.const 9) (i32.const 0) (i32.lt_u (local.get $i) (local.get $n))))))
    (local.get $acc))

  ;; re-entry through the host: callback(n) calls "reenter"(n - 1) and adds 1
  (func (export "reenter") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 100))
      (else (call $cb (local.get 0)))))
  ;; the same, but the innermost call faults in memory
  (func (export "reenter_trap") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.load (i32.const 70000)))
      (else (call $cb (local.get 0)))))

  ;; constants as immediates and fused f64 forms (test_immediates_and_fused_f64)
  (func (export "imm_i32") (param i32) (result i32)
    ;; sub by a constant, a constant first operand of a commutative op, shl, mul by a constant
    (i32.mul (i32.shl (i32.add (i32.const 7) (i32.sub (local.get 0) (i32.const 5)))
                      (i32.const 2))
             (i32.const 3)))
  (func (export "imm_i64") (param i64) (result i64)
    (i64.xor (i64.add (local.get 0) (i64.const 0x100000001)) (i64.const -1)))
  (func (export "imm_f64") (param f64) (result f64) (f64.sub (local.get 0) (f64.const 0.25)))
  ;; latches comparing with a constant bound and a local bound; a compare with a constant
  (func (export "count_to") (param i32 i32) (result i32) (local $i i32) (local $n i32)
    (loop $l
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 3))) (i32.const 30))))
    (loop $m
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $m (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get 0))))
    (if (i32.gt_s (local.get 1) (i32.const 100)) (then (local.set $n (i32.const -1))))
    (local.get $n))
  ;; a latch adding a local step and comparing with a constant bound: iterations to reach 50
  (func (export "step_to") (param i32) (result i32) (local $i i32) (local $n i32)
    (loop $l
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (local.get 0))) (i32.const 50))))
    (local.get $n))
  ;; loads and stores at (u32)(a + constant), which wraps at 32 bits
  (func (export "xi_store_load") (param i32) (result i32)
    (i32.store offset=4 (i32.add (local.get 0) (i32.const 32)) (i32.const 0x5a5a))
    (i32.load offset=4 (i32.add (local.get 0) (i32.const 32))))
  ;; an array element (shift, add, load): (u32)((i << 2) + 16) + 4, which wraps at 32 bits
  (func (export "elem_load") (param i32) (result i32)
    (i32.load offset=4 (i32.add (i32.shl (local.get 0) (i32.const 2)) (i32.const 16))))
  ;; a pointer bump (local.tee of an add) and a load through it: the local is updated too
  (func (export "bump_load") (param i32) (result i32) (local $p i32)
    (local.set $p (local.get 0))
    (i32.add (i32.load (local.tee $p (i32.add (local.get $p) (i32.const 16)))) (local.get $p)))
  ;; stores through a local that the next instruction advances by a local or a constant
  (func (export "fill_words") (param $p i32) (param $n i32) (param $step i32) (result i32)
    (loop $l
      (i32.store (local.get $p) (i32.const 7))
      (local.set $p (i32.add (local.get $p) (local.get $step)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.or (i32.shl (local.get $p) (i32.const 8))
            (i32.add (i32.load (i32.const 1000)) (i32.load (i32.const 1032)))))
  (func (export "fill_bytes") (param $p i32) (param $n i32) (result i32)
    (loop $l
      (i32.store8 (local.get $p) (local.get $n))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.add (i32.mul (local.get $p) (i32.const 256))
             (i32.add (i32.mul (i32.load8_u (i32.const 2000)) (i32.const 16))
                      (i32.load8_u (i32.const 2002)))))
  ;; a*b + c over memory operands; each product is rounded before the add
  (func (export "muladd") (param i32 f64) (result f64)
    (f64.add
      (f64.mul (f64.load (i32.add (local.get 0) (i32.const 8))) (f64.load (local.get 0)))
      (local.get 1)))
  (func (export "muladd_regs") (param f64 f64 f64) (result f64)
    (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "mul_load") (param i32 f64) (result f64)
    (f64.sub (local.get 1) (f64.load offset=8 (local.get 0))))
  (func (export "set_f64") (param i32 f64) (f64.store (local.get 0) (local.get 1)))
)
