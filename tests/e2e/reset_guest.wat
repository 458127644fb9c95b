;; reset_guest.wat: the reset test's guest: plant bytes everywhere (the image, zero pages, a
;; grown page), let the WASI host read stdin into its memory, and count what is not pristine.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4 8)
  (data (i32.const 16) "pristine")
  (data (i32.const 0x20000) "also pristine")
  ;; Reference copies of both, which scan reads and nothing writes.
  (data (i32.const 0x3ff00) "pristine")
  (data (i32.const 0x3ff10) "also pristine")
  ;; A WASI command: stdin lands over the image (at 16) and in a zero page (0x30000), through
  ;; the host's fd_read, with an iovec array at 0x100.
  (func (export "_start")
    (i32.store (i32.const 0x100) (i32.const 16))
    (i32.store (i32.const 0x104) (i32.const 8))
    (i32.store (i32.const 0x108) (i32.const 0x30000))
    (i32.store (i32.const 0x10c) (i32.const 4096))
    (drop (call $fd_read (i32.const 0) (i32.const 0x100) (i32.const 2) (i32.const 0x110))))
  ;; The guest's own writes: every 4 KiB of the first three pages, and a grown page.
  (func (export "plant") (param $v i32)
    (local $a i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (i32.const 0x30000)))
        (i32.store8 (i32.add (local.get $a) (i32.const 100)) (local.get $v))
        (local.set $a (i32.add (local.get $a) (i32.const 4096)))
        (br $next)))
    (drop (memory.grow (i32.const 1)))
    (i32.store (i32.const 0x40010) (local.get $v)))
  ;; Bytes below the reference copies that differ from a fresh instance's, plus one when the
  ;; memory is not back at 4 pages.
  (func (export "scan") (result i32)
    (local $a i32) (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a) (i32.const 0x3ff00)))
        (local.set $n (i32.add (local.get $n)
          (i32.ne (i32.load8_u (local.get $a)) (call $pristine (local.get $a)))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $next)))
    (i32.add (local.get $n) (i32.ne (memory.size) (i32.const 4))))
  ;; The byte a fresh instance has at a.
  (func $pristine (param $a i32) (result i32)
    (if (result i32) (i32.and (i32.ge_u (local.get $a) (i32.const 16))
                              (i32.lt_u (local.get $a) (i32.const 24)))
      (then (i32.load8_u (i32.add (i32.sub (local.get $a) (i32.const 16)) (i32.const 0x3ff00))))
      (else (if (result i32) (i32.and (i32.ge_u (local.get $a) (i32.const 0x20000))
                                      (i32.lt_u (local.get $a) (i32.const 0x2000d)))
        (then (i32.load8_u (i32.add (i32.sub (local.get $a) (i32.const 0x20000))
                                    (i32.const 0x3ff10))))
        (else (i32.const 0)))))))
