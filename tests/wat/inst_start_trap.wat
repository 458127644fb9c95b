;; inst_start_trap.wat: a start function that traps, so instantiation fails.
(module
  (func $start unreachable)
  (start $start))
