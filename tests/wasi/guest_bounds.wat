;; guest_bounds.wat: WASI calls made by a real guest with pointers out of its memory get
;; EFAULT (21) back, an unimplemented call gets NOSYS (52); any other answer traps. Every
;; implemented call that takes a pointer is tried with each of its pointers out of bounds
;; (past the end, straddling it, wrapping around 2^32), with a length that overflows where
;; it has one. fd_close, fd_fdstat_set_flags, sched_yield and proc_exit take no pointer.
;; Ends with "bounds ok" on stdout and proc_exit(0).
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
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_tell" (func $fd_tell (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory"
    (func $path_remove_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file"
    (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
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
    ;; The rest of the calls, and the other pointers of the calls above. Pointers past the
    ;; end (-1) fault even with a zero length, so the checks hold whatever argv and env are.
    (call $expect (call $args_sizes_get (i32.const 65534) (i32.const 100)) (i32.const 21))
    (call $expect (call $args_sizes_get (i32.const 100) (i32.const -1)) (i32.const 21))
    (call $expect (call $args_get (i32.const -1) (i32.const 100)) (i32.const 21))
    (call $expect (call $environ_sizes_get (i32.const 65533) (i32.const 100)) (i32.const 21))
    (call $expect (call $environ_get (i32.const -1) (i32.const 100)) (i32.const 21))
    (call $expect (call $environ_get (i32.const 100) (i32.const -1)) (i32.const 21))
    (call $expect (call $clock_res_get (i32.const 1) (i32.const 65530)) (i32.const 21))
    (call $expect (call $clock_res_get (i32.const 1) (i32.const -4)) (i32.const 21))
    (call $expect (call $clock_time_get (i32.const 1) (i64.const 0) (i32.const -4)) (i32.const 21))
    (call $expect (call $random_get (i32.const -16) (i32.const 32)) (i32.const 21))
    (call $expect (call $random_get (i32.const 0) (i32.const -1)) (i32.const 21))
    (call $expect (call $fd_fdstat_get (i32.const 0) (i32.const -8)) (i32.const 21))
    (call $expect (call $fd_filestat_get (i32.const 1) (i32.const 65500)) (i32.const 21))
    (call $expect (call $fd_filestat_get (i32.const 1) (i32.const -32)) (i32.const 21))
    (call $expect (call $fd_prestat_get (i32.const 3) (i32.const 65530)) (i32.const 21))
    (call $expect (call $fd_prestat_dir_name (i32.const 3) (i32.const 65530) (i32.const 100)) (i32.const 21))
    (call $expect (call $fd_prestat_dir_name (i32.const 3) (i32.const -1) (i32.const 0)) (i32.const 21))
    (call $expect (call $fd_readdir (i32.const 3) (i32.const 65000) (i32.const 1000) (i64.const 0) (i32.const 8))
      (i32.const 21))
    (call $expect (call $fd_readdir (i32.const 3) (i32.const 64) (i32.const 8) (i64.const 0) (i32.const 65534))
      (i32.const 21))
    (call $expect (call $fd_seek (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 65530)) (i32.const 21))
    (call $expect (call $fd_tell (i32.const 0) (i32.const -4)) (i32.const 21))
    ;; fd_read: the iovec array straddling the end, an iovec buffer wrapping around 2^32
    (call $expect (call $fd_read (i32.const 0) (i32.const 65532) (i32.const 1) (i32.const 8)) (i32.const 21))
    (call $expect (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 8)) (i32.const 21))
    ;; fd_write: a count whose array size (count * 8) reaches 2^32
    (call $expect (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x20000000) (i32.const 8)) (i32.const 21))
    ;; poll_oneoff with a good subscription at 256 (zeros: a relative realtime clock, 0 ns)
    ;; and the events or the count out of bounds
    (call $expect (call $poll_oneoff (i32.const 256) (i32.const 65520) (i32.const 1) (i32.const 8)) (i32.const 21))
    (call $expect (call $poll_oneoff (i32.const 256) (i32.const 512) (i32.const 1) (i32.const 65534)) (i32.const 21))
    ;; the directory calls: path pointers out of bounds, then their result pointers
    (call $expect (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 6) (i32.const 0)
        (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 65534))
      (i32.const 21))
    (call $expect (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const -4) (i32.const 8) (i32.const 512))
      (i32.const 21))
    (call $expect (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 6) (i32.const 65500))
      (i32.const 21))
    (call $expect (call $path_create_directory (i32.const 3) (i32.const -4) (i32.const 8)) (i32.const 21))
    (call $expect (call $path_remove_directory (i32.const 3) (i32.const 65530) (i32.const 100)) (i32.const 21))
    (call $expect (call $path_unlink_file (i32.const 3) (i32.const -1) (i32.const 1)) (i32.const 21))
    ;; a preview1 function this library does not implement
    (call $expect (call $sock_accept (i32.const 0) (i32.const 0) (i32.const 8)) (i32.const 52))
    ;; nothing above wrote output; now a good write
    (call $expect (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
    (call $expect (i32.load (i32.const 8)) (i32.const 10))
    (call $proc_exit (i32.const 0))
    unreachable))
