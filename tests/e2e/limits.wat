;; limits.wat: a WASI module for the resource-limit test (test_limits.py): a command whose
;; stdout is 1 MiB of 0xff bytes (not UTF-8: a ~1.4 MB base64 reply), a table to grow, and
;; recursion to fill the stack.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (table $t 10 funcref)

  ;; The command: fills bytes [1024, 1024 + 1 MiB) with 0xff and writes them to stdout.
  (func (export "_start")
    (memory.fill (i32.const 1024) (i32.const 0xff) (i32.const 1048576))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1048576))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; table.grow by n entries: the old size, or -1 past the limit.
  (func (export "tgrow") (param i32) (result i32)
    (table.grow $t (ref.null func) (local.get 0)))

  ;; The table's size now.
  (func (export "tsize") (result i32) (table.size $t))

  ;; Plain recursion n deep: returns n.
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))

  ;; Recursion without end.
  (func $runaway (export "runaway") (param i32) (result i32)
    (call $runaway (i32.add (local.get 0) (i32.const 1)))))
