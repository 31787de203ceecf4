;; A guest that makes the library panic, through the import that only the
;; test_hooks setting defines: at once, or after a loop long enough that
;; the panic comes in a later slice, with other callers queued.
(module
  (import "env" "wasm_runtime_nif_test_panic" (func $panic))
  (func (export "panic_now") (call $panic))
  (func (export "spin_then_panic") (param $n i64)
    (local $i i64)
    (loop $l
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (local.get $n))))
    (call $panic))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
