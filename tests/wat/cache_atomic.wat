;; cache_atomic.wat: a module with an atomic instruction, which the native tier left to the
;; interpreter when this was written (check_cache accepts either outcome, and checks what the
;; cache then says).
(module
  (memory 1 1 shared)
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0))))
