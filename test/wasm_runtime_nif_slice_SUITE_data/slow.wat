;; Guests that run for a long time, to exercise calls spanning many slices.
(module
  (import "env" "enif_wasm_get_int32" (func $get_int32 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_int32" (func $make_int32 (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_badarg" (func $make_badarg (param i32) (result i64)))
  (import "env" "enif_wasm_get_list_cell" (func $get_list_cell (param i32 i64 i32 i32) (result i32)))
  (import "env" "enif_wasm_is_empty_list" (func $is_empty_list (param i32 i64) (result i32)))
  (import "env" "enif_wasm_get_binary_size" (func $get_binary_size (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_binary_bytes" (func $get_binary_bytes (param i32 i64 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_make_binary" (func $make_binary (param i32 i32 i32) (result i64)))
  (memory (export "memory") 2)

  ;; Counts to $n; returns $n.
  (func $spin (export "spin") (param $n i64) (result i64)
    (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $i))

  (func (export "spin_then_trap") (param $n i64)
    (drop (call $spin (local.get $n)))
    (unreachable))

  ;; Millions of iterations named by an integer term.
  (func $spin_term (param $env i32) (param $millions i64)
    (if (call $get_int32 (local.get $env) (local.get $millions) (i32.const 0))
      (then (drop (call $spin (i64.mul (i64.extend_i32_u (i32.load (i32.const 0)))
                                       (i64.const 1000000)))))))

  ;; Copies $bin into a new binary, spins, then returns the copy: the copy
  ;; was made in the first slice and must survive the rest.
  (func (export "slow_copy") (param $env i32) (param $bin i64) (param $millions i64) (result i64)
    (local $size i32) (local $copy i64)
    (if (i32.eqz (call $get_binary_size (local.get $env) (local.get $bin) (i32.const 8)))
      (then (return (call $make_badarg (local.get $env)))))
    (local.set $size (i32.load (i32.const 8)))
    (if (i32.eqz (call $get_binary_bytes (local.get $env) (local.get $bin) (i32.const 0)
                       (local.get $size) (i32.const 1024)))
      (then (return (call $make_badarg (local.get $env)))))
    (local.set $copy (call $make_binary (local.get $env) (i32.const 1024) (local.get $size)))
    (call $spin_term (local.get $env) (local.get $millions))
    (local.get $copy))

  ;; Spins first, then sums the list it was given in the first slice.
  (func (export "slow_sum") (param $env i32) (param $list i64) (param $millions i64) (result i64)
    (local $sum i32)
    (call $spin_term (local.get $env) (local.get $millions))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (call $get_list_cell (local.get $env) (local.get $list)
                                    (i32.const 16) (i32.const 24))))
        (if (call $get_int32 (local.get $env) (i64.load (i32.const 16)) (i32.const 32))
          (then (local.set $sum (i32.add (local.get $sum) (i32.load (i32.const 32))))))
        (local.set $list (i64.load (i32.const 24)))
        (br $next)))
    (call $make_int32 (local.get $env) (local.get $sum))))
