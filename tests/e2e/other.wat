;; other.wat: a second module for the end-to-end tests (reload adds it, pools stay apart).
(module
  (func (export "answer") (result i32) i32.const 42))
