;; decode_min.wat: a module with one exported function, a fixture of check_decode and a seed of
;; the decoder fuzz harness.
(module (func (export "f") (result i32) (i32.const 42)))
