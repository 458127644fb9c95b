;; shm_unshared.wat: imports an unshared memory, which cannot be bound to a [shmem].
(module
  (import "env" "memory" (memory 1 16))
  (func (export "get") (result i32) (i32.load (i32.const 0))))
