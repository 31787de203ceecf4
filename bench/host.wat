;; The benchmark's guest for Erlang imports and for the latency run.
(module
  (import "env" "add_one" (func $add_one (param i32) (result i32)))
  (func (export "call_add_one") (param i32) (result i32) (call $add_one (local.get 0)))
  ;; Calls add_one $n times, feeding each result to the next call.
  (func (export "add_n") (param $x i32) (param $n i32) (result i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x (call $add_one (local.get $x)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $x))
  ;; Counts to $n.
  (func (export "spin") (param $n i64) (result i64)
    (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $i)))
