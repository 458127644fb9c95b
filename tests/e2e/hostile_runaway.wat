;; hostile_runaway.wat: runaway guests for the hostile-input test: endless loops, deep and
;; wide recursion, memory.grow to the limit in a loop, huge table grows.
(module
  (memory 1)
  (table $t 1 funcref)
  (table $big 0 externref)
  (func (export "spin") (loop $l (br $l)))
  (func $rec (export "recurse") (call $rec))
  ;; Recursion with big frames: the value stack runs out before the call depth.
  (func $wide (param i64) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (i64.add (call $wide (i64.add (local.get 0) (i64.const 1))) (local.get 1)))
  (func (export "recurse_wide") (result i64) (call $wide (i64.const 0)))
  ;; Grow one page at a time until memory.grow fails; returns the final size in pages.
  (func (export "grow_max") (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $l)))
    memory.size)
  (func (export "grow_huge") (result i32) (memory.grow (i32.const 0x7fffffff)))
  ;; Grow, touch every page, repeat: the pages are the daemon's to reclaim.
  (func (export "grow_touch") (result i32)
    (local $p i32)
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $l)))
    (block $end
      (loop $w
        (br_if $end (i32.ge_u (local.get $p) (i32.mul (memory.size) (i32.const 65536))))
        (i32.store (local.get $p) (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 65536)))
        (br $w)))
    memory.size)
  (func (export "table_grow_huge") (result i32)
    (table.grow $t (ref.null func) (i32.const 0x7fffffff)))
  (func (export "table_grow_big") (result i32)
    (table.grow $big (ref.null extern) (i32.const 0x1000000)))
  (func (export "table_grow_loop") (result i32)
    (local $n i32)
    (block $done
      (loop $l
        (br_if $done (i32.eq (table.grow $big (ref.null extern) (i32.const 65536)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 100000)))
        (br $l)))
    (table.size $big))
  ;; A finite loop of n iterations; returns n.
  (func $count (export "count") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    local.get $i)
  ;; The same as a threaded call's export: the thread index first.
  (func (export "count_t") (param i32 i32) (result i32) (call $count (local.get 1)))
  (func (export "ok") (result i32) i32.const 42))
