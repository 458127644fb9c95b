;; guest_bounds.wat: WASI calls made by a real guest with pointers out of its memory get
;; EFAULT (21) back, an unimplemented call gets NOSYS (52); any other answer traps. Ends
;; with "bounds ok" on stdout and proc_exit(0).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "bounds ok\n")

  (func $expect (param $got i32) (param $want i32)
    (if (i32.ne (local.get $got) (local.get $want)) (then unreachable)))

  (func (export "_start")
    ;; iovec at 0: { buf = 16, len = 10 }
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 10))
    ;; the iovec array past the end, wrapping around 2^32; nwritten/nread out of range
    (call $expect (call $fd_write (i32.const 1) (i32.const 65535) (i32.const 1) (i32.const 8)) (i32.const 21))
    (call $expect (call $fd_write (i32.const 1) (i32.const -8) (i32.const 2) (i32.const 8)) (i32.const 21))
    (call $expect (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65533)) (i32.const 21))
    (call $expect (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const -1)) (i32.const 21))
    ;; an iovec whose buffer wraps around 2^32
    (i32.store (i32.const 32) (i32.const -16))
    (i32.store (i32.const 36) (i32.const 64))
    (call $expect (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 8)) (i32.const 21))
    (call $expect (call $args_get (i32.const 65534) (i32.const 100)) (i32.const 21))
    (call $expect (call $environ_sizes_get (i32.const 100) (i32.const 65536)) (i32.const 21))
    (call $expect (call $random_get (i32.const 65000) (i32.const 1000)) (i32.const 21))
    (call $expect (call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 65529)) (i32.const 21))
    (call $expect (call $fd_fdstat_get (i32.const 1) (i32.const 65520)) (i32.const 21))
    (call $expect (call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const 0x10000000) (i32.const 8)) (i32.const 21))
    ;; path_open: the path wraps around 2^32; with a good path there is no directory (BADF)
    (call $expect
      (call $path_open (i32.const 3) (i32.const 0) (i32.const -4) (i32.const 8) (i32.const 0)
        (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 8))
      (i32.const 21))
    (call $expect
      (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 6) (i32.const 0)
        (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 8))
      (i32.const 8))
    ;; a preview1 function this library does not implement
    (call $expect (call $sock_accept (i32.const 0) (i32.const 0) (i32.const 8)) (i32.const 52))
    ;; nothing above wrote output; now a good write
    (call $expect (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
    (call $expect (i32.load (i32.const 8)) (i32.const 10))
    (call $proc_exit (i32.const 0))
    unreachable))
