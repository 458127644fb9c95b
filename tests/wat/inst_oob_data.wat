;; inst_oob_data.wat: the second data segment is partly out of bounds of the imported memory, so
;; instantiation traps after the first one was copied.
(module
  (import "env" "mem" (memory 1))
  (data (i32.const 0) "ok")
  (data (i32.const 65535) "xx"))
