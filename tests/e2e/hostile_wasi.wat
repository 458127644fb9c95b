;; hostile_wasi.wat: a WASI module for the hostile-input test: library exports that look for
;; what an earlier command (maybe another connection's) left in the thread's WASI state, and
;; WASI calls with pointers outside the memory, which must fail with EFAULT (21).
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; The command: echoes its stdin to stdout.
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; Bytes of stdin a library export can read (must be 0: it has no stdin).
  (func (export "leak_stdin") (result i32)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 4096))
    (i32.store (i32.const 8) (i32.const 0))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.load (i32.const 8)))
  ;; Bytes of argv and environment strings it sees (must be 0).
  (func (export "leak_args") (result i32)
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $environ_sizes_get (i32.const 24) (i32.const 28)))
    (i32.add (i32.load (i32.const 20)) (i32.load (i32.const 28))))

  ;; Each returns the errno of a call with a pointer or length outside the memory.
  (func (export "efault_iovs") (result i32)
    (call $fd_write (i32.const 1) (i32.const 0xfffffff8) (i32.const 1) (i32.const 8)))
  (func (export "efault_iov_buf") (result i32)
    (i32.store (i32.const 0) (i32.const 0xffff0000))
    (i32.store (i32.const 4) (i32.const 0x20000))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "efault_iov_wrap") (result i32)
    (i32.store (i32.const 0) (i32.const 0x100))
    (i32.store (i32.const 4) (i32.const 0xffffff80))
    (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "efault_iovs_len") (result i32)
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x20000000) (i32.const 8)))
  (func (export "efault_nwritten") (result i32)
    (i32.store (i32.const 0) (i32.const 0))
    (i32.store (i32.const 4) (i32.const 1))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0xfffffffe)))
  (func (export "efault_args") (result i32)
    (call $args_get (i32.const 0xfffffff0) (i32.const 0)))
  (func (export "efault_sizes") (result i32)
    (call $args_sizes_get (i32.const 0) (i32.const 0x10000)))
  (func (export "efault_poll") (result i32)
    (call $poll_oneoff (i32.const 0xffffff00) (i32.const 0) (i32.const 0x1000000) (i32.const 8))))
