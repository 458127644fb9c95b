;; atomic_guest.wat: guest code on an imported shared memory for check_atomic and atomic-bench:
;; atomic counters, a cmpxchg spin-lock around a plain counter, a wait/notify ping-pong, the
;; bare instructions for trap checks, and a parallel computation that takes its work from an
;; atomic counter and adds its result to an atomic total.
(module
  (import "env" "mem" (memory 1 64 shared))

  ;; Add 1 to the i32 at $addr, $n times.
  (func (export "inc") (param $addr i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (drop (i32.atomic.rmw.add (local.get $addr) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  ;; $n times: take the spin-lock at $lock (0 free, 1 held) with cmpxchg, add 1 to the plain
  ;; (non-atomic) i32 at $ctr, release the lock with an atomic store.
  (func (export "locked_inc") (param $lock i32) (param $ctr i32) (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (loop $spin
          (br_if $spin
            (i32.atomic.rmw.cmpxchg (local.get $lock) (i32.const 0) (i32.const 1))))
        (i32.store (local.get $ctr) (i32.add (i32.load (local.get $ctr)) (i32.const 1)))
        (i32.atomic.store (local.get $lock) (i32.const 0))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))

  ;; One player of a ping-pong on the i32 at $addr: in round r the player with parity $p waits
  ;; (memory.atomic.wait32, no timeout) until the word is 2r + p, then stores 2r + p + 1 and
  ;; wakes the other player. Returns the rounds played.
  (func (export "pingpong") (param $addr i32) (param $p i32) (param $rounds i32) (result i32)
    (local $r i32) (local $mine i32) (local $v i32)
    (block $done
      (loop $round
        (br_if $done (i32.ge_u (local.get $r) (local.get $rounds)))
        (local.set $mine (i32.add (i32.shl (local.get $r) (i32.const 1)) (local.get $p)))
        (block $ready
          (loop $wait
            (local.set $v (i32.atomic.load (local.get $addr)))
            (br_if $ready (i32.eq (local.get $v) (local.get $mine)))
            (drop (memory.atomic.wait32 (local.get $addr) (local.get $v) (i64.const -1)))
            (br $wait)))
        (i32.atomic.store (local.get $addr) (i32.add (local.get $mine) (i32.const 1)))
        (drop (memory.atomic.notify (local.get $addr) (i32.const 1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $round)))
    (local.get $r))

  ;; The bare instructions.
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "load64_off") (param i32) (result i64) (i64.atomic.load offset=8 (local.get 0)))
  (func (export "store16") (param i32 i32) (i32.atomic.store16 (local.get 0) (local.get 1)))
  (func (export "add") (param i32 i32) (result i32) (i32.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "sub8") (param i32 i32) (result i32)
    (i32.atomic.rmw8.sub_u (local.get 0) (local.get 1)))
  (func (export "xchg64_32") (param i32 i64) (result i64)
    (i64.atomic.rmw32.xchg_u (local.get 0) (local.get 1)))
  (func (export "cmpxchg") (param i32 i32 i32) (result i32)
    (i32.atomic.rmw.cmpxchg (local.get 0) (local.get 1) (local.get 2)))
  (func (export "cmpxchg16") (param i32 i32 i32) (result i32)
    (i32.atomic.rmw16.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fence") (atomic.fence))

  ;; A parallel computation: chunks of $chunk bytes of [$from, $to) are handed out by an
  ;; atomic counter at $next (an offset relative to $from; the first caller finds 0). Every
  ;; word of a chunk gets $rounds xorshift-multiply steps (as shmem_guest's "mix") and is
  ;; stored back; the sum of a chunk's results is added to the i64 at $total with one
  ;; i64.atomic.rmw.add. Returns the number of chunks this caller did.
  (func (export "work")
    (param $next i32) (param $from i32) (param $to i32) (param $chunk i32) (param $rounds i32)
    (param $total i32) (result i32)
    (local $p i32) (local $end i32) (local $x i32) (local $r i32) (local $sum i64) (local $n i32)
    (block $finished
      (loop $take
        (local.set $p
          (i32.add (local.get $from)
                   (i32.atomic.rmw.add (local.get $next) (local.get $chunk))))
        (br_if $finished (i32.ge_u (local.get $p) (local.get $to)))
        (local.set $end (i32.add (local.get $p) (local.get $chunk)))
        (if (i32.gt_u (local.get $end) (local.get $to))
          (then (local.set $end (local.get $to))))
        (local.set $sum (i64.const 0))
        (block $chunk_done
          (loop $words
            (br_if $chunk_done (i32.ge_u (local.get $p) (local.get $end)))
            (local.set $x (i32.load (local.get $p)))
            (local.set $r (local.get $rounds))
            (block $mixed
              (loop $steps
                (br_if $mixed (i32.eqz (local.get $r)))
                (local.set $x (i32.xor (local.get $x) (i32.shl (local.get $x) (i32.const 13))))
                (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))))
                (local.set $x (i32.mul (local.get $x) (i32.const 0x2545f491)))
                (local.set $r (i32.sub (local.get $r) (i32.const 1)))
                (br $steps)))
            (i32.store (local.get $p) (local.get $x))
            (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (local.get $x))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $words)))
        (drop (i64.atomic.rmw.add (local.get $total) (local.get $sum)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $take)))
    (local.get $n)))
