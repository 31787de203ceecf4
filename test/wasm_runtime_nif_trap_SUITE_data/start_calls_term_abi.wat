;; A start function that calls a term-ABI import: there is no call, so no
;; env, and the import traps.
(module
  (import "env" "enif_wasm_make_int32" (func $make_int32 (param i32 i32) (result i64)))
  (func $start (drop (call $make_int32 (i32.const 1) (i32.const 5))))
  (start $start))
