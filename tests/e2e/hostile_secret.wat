;; hostile_secret.wat: the hostile-input test's isolation probe: plant a secret in the image
;; part and in a grown part of the memory (then trap, spin or return), and scan a fresh
;; instance's memory for anything that is not the pristine image.
(module
  (memory (export "memory") 1 4)
  (data (i32.const 16) "pristine")
  (global $g (mut i64) (i64.const 0))

  ;; The secret at the data segment, elsewhere in page 0, and in a page grown on top.
  (func $plant
    (i64.store (i32.const 16) (i64.const 0x5ec2e75ec2e75ec2))
    (i64.store (i32.const 0x8000) (i64.const 0x5ec2e75ec2e75ec2))
    (i64.store (i32.const 0xfff8) (i64.const 0x5ec2e75ec2e75ec2))
    (drop (memory.grow (i32.const 1)))
    (i64.store (i32.const 0x10000) (i64.const 0x5ec2e75ec2e75ec2))
    (i64.store (i32.const 0x1fff8) (i64.const 0x5ec2e75ec2e75ec2))
    (global.set $g (i64.const 0x5ec2e75ec2e75ec2)))
  (func (export "plant") call $plant)
  (func (export "plant_trap") call $plant unreachable)
  (func (export "plant_spin") call $plant (loop $l (br $l)))
  (func (export "plant_oob") (result i32) call $plant (i32.load (i32.const 0x7ffffff0)))
  (func $rec (param i32) (result i32)
    (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "plant_stack") (result i32) call $plant (call $rec (i32.const 0)))
  ;; A threaded call: thread 1 traps, the others plant and return.
  (func (export "plant_thread") (param i32) (result i32)
    call $plant
    (if (i32.eq (local.get 0) (i32.const 1)) (then unreachable))
    local.get 0)

  ;; Words that differ from the pristine image, over 2 pages (grown first when needed), plus
  ;; 1000 when the data segment is not "pristine", plus 10000 when the global is not 0.
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
    (if (i64.ne (global.get $g) (i64.const 0))
      (then (local.set $n (i32.add (local.get $n) (i32.const 10000)))))
    local.get $n)
  (func (export "size") (result i32) memory.size))
