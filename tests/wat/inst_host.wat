;; inst_host.wat: wasm calling a host function that reads the guest's memory.
(module
  (import "env" "peek" (func $peek (param i32) (result i32)))
  (memory (export "mem") 1)
  (data (i32.const 100) "\2a")
  (func (export "run") (param i32) (result i32)
    (call $peek (local.get 0))))
