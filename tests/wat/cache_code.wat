;; cache_code.wat: a module whose machine code check_cache stores in the code cache and loads
;; back: every kind of call out of generated code (runtime helpers, a host import,
;; call_indirect) and every way it traps (explicit checks, a fault in guest memory).
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (type $unary (func (param i32) (result i32)))
  (type $none (func))
  (memory 1 2)
  (table 5 funcref)
  (elem (i32.const 0) $double $square $nothing $add)
  (data (i32.const 16) "cache")

  (func $double (type $unary) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (type $unary) (i32.mul (local.get 0) (local.get 0)))
  (func $nothing (type $none))

  ;; table[i](x): 0 doubles, 1 squares, 2 has another type, 3 is the host import (another
  ;; type too), 4 is null, 5 and up are past the end.
  (func (export "indirect") (param $i i32) (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (local.get $i)))
  (func (export "host") (param i32 i32) (result i32)
    (call $add (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "unreachable") unreachable)
  ;; fib(n) with a loop: 64-bit arithmetic and a loop header's poll.
  (func (export "fib") (param $n i64) (result i64)
    (local $a i64) (local $b i64) (local $t i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $next
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $t (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $next)))
    (local.get $a))
  ;; A recursion that never ends: the stack checks at function entries.
  (func $down (export "down") (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1))))
