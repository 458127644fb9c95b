;; shmem_guest.wat: guest code on an imported shared memory, for check_shmem and atomic-bench:
;; size/grow/load/store/fill seen across threads and processes, and a compute kernel that
;; threads run over disjoint ranges of one memory.
(module
  (import "env" "mem" (memory 1 64 shared))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  ;; For every 32-bit word in [from, to): run `rounds` steps of an xorshift-multiply mix
  ;; seeded with the word, store the result back, and return the sum of the results.
  (func (export "mix") (param $from i32) (param $to i32) (param $rounds i32) (result i64)
    (local $p i32) (local $x i32) (local $r i32) (local $sum i64)
    (local.set $p (local.get $from))
    (block $done
      (loop $words
        (br_if $done (i32.ge_u (local.get $p) (local.get $to)))
        (local.set $x (i32.load (local.get $p)))
        (local.set $r (local.get $rounds))
        (block $mixed
          (loop $steps
            (br_if $mixed (i32.eqz (local.get $r)))
            (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
            (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
            (local.set $x (i32.mul (local.get $x) (i32.const 0x2545f491)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br $steps)))
        (i32.store (local.get $p) (local.get $x))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $x))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $words)))
    (local.get $sum)))
