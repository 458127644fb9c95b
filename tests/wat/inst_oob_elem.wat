;; inst_oob_elem.wat: the second element segment is partly out of bounds of the imported table,
;; so instantiation traps after the first one was written.
(module
  (import "env" "tab" (table 4 funcref))
  (func $f (result i32) (i32.const 5))
  (elem (i32.const 0) $f)
  (elem (i32.const 3) $f $f))
