;; decode_shared.wat: a module importing a shared memory (threads proposal), a fixture of
;; check_decode and a seed of the decoder fuzz harness.
(module
  (import "env" "mem" (memory 1 16 shared))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
)
