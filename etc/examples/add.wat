;; add.wat: an example module for wasmslotd: integer and float arithmetic on typed values.
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "add64") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.add)
  (func (export "mulf") (param f64 f64) (result f64)
    local.get 0
    local.get 1
    f64.mul)
  ;; Euclid's algorithm, to have something that loops.
  (func (export "gcd") (param $a i32) (param $b i32) (result i32)
    (local $t i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $b)))
        (local.set $t (i32.rem_u (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $t))
        (br $next)))
    local.get $a)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.div_s))
