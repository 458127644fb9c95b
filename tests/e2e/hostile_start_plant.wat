;; hostile_start_plant.wat: a start function that, on a coin toss (WASI random_get), plants a
;; secret in the image part and in a grown part of the memory and then traps; the instances
;; that do start scan their memory for anything that is not the pristine image.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory 1 4)
  (data (i32.const 16) "pristine")
  (func $start
    (drop (call $random (i32.const 0x9000) (i32.const 1)))
    (if (i32.and (i32.load8_u (i32.const 0x9000)) (i32.const 1))
      (then
        (i64.store (i32.const 16) (i64.const 0x5ec2e75ec2e75ec2))
        (i64.store (i32.const 0x8000) (i64.const 0x5ec2e75ec2e75ec2))
        (drop (memory.grow (i32.const 1)))
        (i64.store (i32.const 0x10000) (i64.const 0x5ec2e75ec2e75ec2))
        unreachable))
    (i32.store8 (i32.const 0x9000) (i32.const 0)))
  (start $start)
  ;; Words that differ from the pristine image over 2 pages, plus 1000 when the data segment
  ;; is not "pristine".
  (func (export "scan") (result i32)
    (local $i i32) (local $n i32)
    (if (i32.lt_u (memory.size) (i32.const 2))
      (then (drop (memory.grow (i32.sub (i32.const 2) (memory.size))))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const 0x20000)))
        (if (i32.and (i32.ne (local.get $i) (i32.const 16))
                     (i64.ne (i64.load (local.get $i)) (i64.const 0)))
          (then (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $l)))
    (if (i64.ne (i64.load (i32.const 16)) (i64.const 0x656e697473697270))
      (then (local.set $n (i32.add (local.get $n) (i32.const 1000)))))
    local.get $n))
