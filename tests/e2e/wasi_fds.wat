;; wasi_fds.wat: a WASI command that opens f.txt of its granted directory (fd 3) eight times
;; and never closes it, for the test that the daemon closes a run's descriptors when it ends;
;; `open8` does the same as an export a call with threads can run (thread index first).
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "f.txt")
  (func (export "_start")
    (call $open8 (i32.const 0)))
  (func $open8 (export "open8") (param $thread i32)
    (local $i i32)
    (loop $l
      ;; path_open(dirfd 3, no flags, "f.txt", no oflags, fd_read, none, no fdflags, -> @64)
      (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 5)
                             (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0)
                             (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))))
