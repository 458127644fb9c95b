;; signals.wat: a load that goes out of bounds when asked (tests/check_signals.c).
(module
  (memory 1 1)
  (func (export "peek") (param i32) (result i32)
    (i32.load (local.get 0))))
