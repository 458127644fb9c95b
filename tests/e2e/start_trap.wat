;; start_trap.wat: a module whose start function traps, so instantiate must fail cleanly.
(module
  (func $start unreachable)
  (start $start)
  (func (export "f") (result i32) i32.const 1))
