;; run_big.wat: run-bench's guest with a 32 MiB data image (its first and last bytes are
;; non-zero, so the image spans all of it) in a memory of 34 MiB.
(module
  (memory (export "memory") 544 544)
  (data (i32.const 0) "\01")
  (data (i32.const 33554431) "\02")
  ;; Write one byte (odd, so never the image's zero) in each of n pages spread evenly over the
  ;; image.
  (func (export "touch") (param $n i32)
    (local $i i32) (local $stride i32)
    (local.set $stride (i32.div_u (i32.const 33554432) (local.get $n)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 offset=8 (i32.mul (local.get $i) (local.get $stride))
                    (i32.or (local.get $i) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
