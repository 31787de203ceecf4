;; A guest without an exported memory: every pointer it passes is refused.
(module
  (import "env" "enif_wasm_get_int32" (func $get_int32 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_int32" (func $make_int32 (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_binary" (func $make_binary (param i32 i32 i32) (result i64)))
  (import "env" "enif_printf_I" (func $printf_I (param i32 i32) (result i32)))
  (func (export "get") (param $env i32) (param $t i64) (result i64)
    (call $make_int32 (local.get $env)
      (i32.add (call $get_int32 (local.get $env) (local.get $t) (i32.const 0))
               (call $printf_I (i32.const 0) (i32.const 0)))))
  (func (export "empty_binary") (param $env i32) (result i64)
    (call $make_binary (local.get $env) (i32.const 0) (i32.const 0))))
