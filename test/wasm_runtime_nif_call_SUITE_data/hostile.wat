;; A guest that misuses every import of the term ABI: stale and forged
;; handles and envs, pointers outside linear memory, too many terms. Each
;; export reports what the imports answered so the suite can check it.
;; Memory: [0,8) stashed handle, [8,12) stashed env, [16,32) out-pointers,
;; [256,320) format strings, [1024,...) buffers.
(module
  (import "env" "enif_wasm_get_int32" (func $get_int32 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_int32" (func $make_int32 (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_badarg" (func $make_badarg (param i32) (result i64)))
  (import "env" "enif_wasm_get_list_cell" (func $get_list_cell (param i32 i64 i32 i32) (result i32)))
  (import "env" "enif_wasm_is_empty_list" (func $is_empty_list (param i32 i64) (result i32)))
  (import "env" "enif_wasm_get_binary_size" (func $get_binary_size (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_binary_bytes" (func $get_binary_bytes (param i32 i64 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_make_binary" (func $make_binary (param i32 i32 i32) (result i64)))
  (import "env" "enif_printf_I" (func $printf_I (param i32 i32) (result i32)))
  (import "env" "enif_printf_L" (func $printf_L (param i32 i64) (result i64)))
  (import "env" "enif_printf_F" (func $printf_F (param i32 f64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "int %d\0a\00")
  (data (i32.const 272) "long %ld\0a\00")
  (data (i32.const 288) "double %.2f\0a\00")

  ;; The int32 in term $t, or 0 when it is not one.
  (func $int (param $env i32) (param $t i64) (result i32)
    (if (result i32) (call $get_int32 (local.get $env) (local.get $t) (i32.const 16))
      (then (i32.load (i32.const 16)))
      (else (i32.const 0))))

  ;; Keeps this call's handle and env in memory for a later call.
  ;; Returns its argument: results that look like the Erlang side's own
  ;; requests must come back unchanged.
  (func (export "echo") (param $env i32) (param $t i64) (result i64)
    (local.get $t))
  (func (export "stash") (param $env i32) (param $t i64) (result i64)
    (i64.store (i32.const 0) (local.get $t))
    (i32.store (i32.const 8) (local.get $env))
    (local.get $t))

  (func (export "read_stash") (param $env i32) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (call $get_int32 (local.get $env) (i64.load (i32.const 0)) (i32.const 16))
        (call $is_empty_list (local.get $env) (i64.load (i32.const 0))))))

  (func (export "return_stash") (param $env i32) (result i64)
    (i64.load (i32.const 0)))

  (func (export "stale_env_get") (param $env i32) (param $t i64) (result i64)
    (call $make_int32 (local.get $env)
      (call $get_int32 (i32.load (i32.const 8)) (local.get $t) (i32.const 16))))

  (func (export "stale_env_make") (param $env i32) (result i64)
    (call $make_int32 (i32.load (i32.const 8)) (i32.const 1)))

  ;; 100 * (forged handles accepted) + (the real handle accepted).
  (func (export "forge") (param $env i32) (param $t i64) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (i32.mul (i32.const 100)
          (i32.add
            (i32.add
              (call $get_int32 (local.get $env) (i64.add (local.get $t) (i64.const 1)) (i32.const 16))
              (call $get_int32 (local.get $env) (i64.sub (local.get $t) (i64.const 1)) (i32.const 16)))
            (i32.add
              (i32.add
                (call $get_int32 (local.get $env) (i64.xor (local.get $t) (i64.const 0x10000000000)) (i32.const 16))
                (call $get_int32 (local.get $env) (i64.add (local.get $t) (i64.const 0x1000000)) (i32.const 16)))
              (i32.add
                (call $get_int32 (local.get $env) (i64.const 0) (i32.const 16))
                (call $get_int32 (local.get $env) (i64.const -1) (i32.const 16))))))
        (call $get_int32 (local.get $env) (local.get $t) (i32.const 16)))))

  ;; 100 * (wild out-pointers accepted) + (the last in-bounds slot accepted).
  (func (export "wild_out") (param $env i32) (param $t i64) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (i32.mul (i32.const 100)
          (i32.add
            (call $get_int32 (local.get $env) (local.get $t) (i32.const -1))
            (i32.add
              (call $get_int32 (local.get $env) (local.get $t) (i32.const 65533))
              (call $get_int32 (local.get $env) (local.get $t) (i32.const 65536)))))
        (call $get_int32 (local.get $env) (local.get $t) (i32.const 65532)))))

  (func (export "wild_cell") (param $env i32) (param $list i64) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (i32.mul (i32.const 100)
          (i32.add
            (call $get_list_cell (local.get $env) (local.get $list) (i32.const 65532) (i32.const 16))
            (call $get_list_cell (local.get $env) (local.get $list) (i32.const 16) (i32.const -8))))
        (call $get_list_cell (local.get $env) (local.get $list) (i32.const 16) (i32.const 24)))))

  ;; Sum of an integer list, walking it cell by cell.
  (func (export "sum_list") (param $env i32) (param $list i64) (result i64)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (call $get_list_cell (local.get $env) (local.get $list)
                                    (i32.const 16) (i32.const 24))))
        (local.set $sum (i32.add (local.get $sum)
                                 (call $int (local.get $env) (i64.load (i32.const 16)))))
        (local.set $list (i64.load (i32.const 24)))
        (br $next)))
    (if (result i64) (call $is_empty_list (local.get $env) (local.get $list))
      (then (call $make_int32 (local.get $env) (local.get $sum)))
      (else (call $make_badarg (local.get $env)))))

  (func (export "is_empty") (param $env i32) (param $t i64) (result i64)
    (call $make_int32 (local.get $env) (call $is_empty_list (local.get $env) (local.get $t))))

  (func (export "binary_size") (param $env i32) (param $bin i64) (result i64)
    (if (result i64) (call $get_binary_size (local.get $env) (local.get $bin) (i32.const 16))
      (then (call $make_int32 (local.get $env) (i32.load (i32.const 16))))
      (else (call $make_badarg (local.get $env)))))

  ;; Bytes [off, off+n) of $bin as a new binary, or badarg if refused.
  (func (export "slice") (param $env i32) (param $bin i64) (param $off i64) (param $n i64) (result i64)
    (local $o i32) (local $len i32)
    (local.set $o (call $int (local.get $env) (local.get $off)))
    (local.set $len (call $int (local.get $env) (local.get $n)))
    (if (result i64) (call $get_binary_bytes (local.get $env) (local.get $bin)
                           (local.get $o) (local.get $len) (i32.const 1024))
      (then (call $make_binary (local.get $env) (i32.const 1024) (local.get $len)))
      (else (call $make_badarg (local.get $env)))))

  (func (export "wild_dest") (param $env i32) (param $bin i64) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (i32.add
          (call $get_binary_bytes (local.get $env) (local.get $bin) (i32.const 0) (i32.const 1) (i32.const -1))
          (call $get_binary_bytes (local.get $env) (local.get $bin) (i32.const 0) (i32.const 2) (i32.const 65535)))
        (call $get_binary_size (local.get $env) (local.get $bin) (i32.const 65533)))))

  (func (export "make_binary_at") (param $env i32) (param $ptr i64) (param $len i64) (result i64)
    (call $make_binary (local.get $env)
      (call $int (local.get $env) (local.get $ptr))
      (call $int (local.get $env) (local.get $len))))

  ;; Makes $n binaries of the whole memory (64 KiB each); returns the last.
  (func (export "make_binaries") (param $env i32) (param $n i64) (result i64)
    (local $i i32) (local $count i32) (local $last i64)
    (local.set $count (call $int (local.get $env) (local.get $n)))
    (local.set $last (call $make_int32 (local.get $env) (i32.const 0)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $last (call $make_binary (local.get $env) (i32.const 0) (i32.const 65536)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $last))

  (func (export "bad_env_make") (param $env i32) (result i64)
    (call $make_int32 (i32.add (local.get $env) (i32.const 1)) (i32.const 1)))

  (func (export "bad_env_badarg") (param $env i32) (result i64)
    (call $make_badarg (i32.xor (local.get $env) (i32.const 0x40000000))))

  (func (export "bad_env_get") (param $env i32) (param $t i64) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (call $get_int32 (i32.add (local.get $env) (i32.const 1)) (local.get $t) (i32.const 16))
        (i32.add
          (call $is_empty_list (i32.const 0) (local.get $t))
          (call $get_binary_size (i32.const -1) (local.get $t) (i32.const 16))))))

  ;; Makes $n integer terms and returns the last.
  (func (export "make_many") (param $env i32) (param $n i64) (result i64)
    (local $i i32) (local $count i32) (local $last i64)
    (local.set $count (call $int (local.get $env) (local.get $n)))
    (local.set $last (call $make_int32 (local.get $env) (i32.const -1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $last (call $make_int32 (local.get $env) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $last))

  (func (export "badarg_as_arg") (param $env i32) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (call $get_int32 (local.get $env) (call $make_badarg (local.get $env)) (i32.const 16))
        (call $is_empty_list (local.get $env) (call $make_badarg (local.get $env))))))

  (func (export "return_badarg") (param $env i32) (result i64)
    (call $make_badarg (local.get $env)))

  (func (export "return_garbage") (param $env i32) (result i64)
    (i64.const 12345))

  ;; 10 * (bytes printed by the three printf imports) + (bad format refused).
  (func (export "print") (param $env i32) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add
        (i32.mul (i32.const 10)
          (i32.add
            (i32.add
              (call $printf_I (i32.const 256) (i32.const 7))
              (i32.wrap_i64 (call $printf_L (i32.const 272) (i64.const 0x10000000000))))
            (call $printf_F (i32.const 288) (f64.const 2.5))))
        (i32.eq (call $printf_I (i32.const -1) (i32.const 0)) (i32.const -1))))))
