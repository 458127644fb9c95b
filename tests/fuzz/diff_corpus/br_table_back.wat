(module
  (func (export "count5") (result i32) (local $i i32)
    (block $done
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_table $done $l (i32.lt_u (local.get $i) (i32.const 5)))))
    (local.get $i))
  (func (export "mixed") (result i64) (local $i i32) (local $acc i64)
    (block $done
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
        (br_table $done $done $l
          (select (i32.const 9) (i32.const 0) (i32.lt_u (local.get $i) (i32.const 100))))))
    (local.get $acc)))
