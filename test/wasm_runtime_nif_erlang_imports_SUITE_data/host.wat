;; A guest that calls imports implemented by Erlang funs.
(module
  (import "env" "add_one" (func $add_one (param i32) (result i32)))
  (import "erlang" "log" (func $log (param i32 i64)))
  (import "erlang" "pair" (func $pair (param i32) (result i32 i64)))
  (import "erlang" "fmul" (func $fmul (param f64 f64) (result f64)))
  (import "env" "enif_wasm_get_int32" (func $get_int32 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_int32" (func $make_int32 (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_badarg" (func $make_badarg (param i32) (result i64)))
  (memory (export "memory") 1)

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

  (func (export "call_log") (param i32 i64) (call $log (local.get 0) (local.get 1)))

  ;; Both results of pair, as first + second.
  (func (export "call_pair") (param i32) (result i64)
    (local $second i64)
    (call $pair (local.get 0))
    (local.set $second)
    (i64.extend_i32_s)
    (local.get $second)
    (i64.add))

  (func (export "call_fmul") (param f64 f64) (result f64) (call $fmul (local.get 0) (local.get 1)))

  ;; A term function that spins through many slices, then calls add_one on
  ;; its argument, which must still be valid.
  (func (export "slow_term_add_one") (param $env i32) (param $t i64) (param $spin i64) (result i64)
    (local $i i64) (local $n i64)
    (if (i32.eqz (call $get_int32 (local.get $env) (local.get $spin) (i32.const 0)))
      (then (return (call $make_badarg (local.get $env)))))
    (local.set $n (i64.mul (i64.extend_i32_u (i32.load (i32.const 0))) (i64.const 1000000)))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (if (i32.eqz (call $get_int32 (local.get $env) (local.get $t) (i32.const 0)))
      (then (return (call $make_badarg (local.get $env)))))
    (call $make_int32 (local.get $env) (call $add_one (i32.load (i32.const 0))))))
