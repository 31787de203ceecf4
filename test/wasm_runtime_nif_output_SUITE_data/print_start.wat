;; A start function that prints.
(module
  (import "env" "enif_printf_I" (func $printf_I (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "started %d\0a\00")
  (func $start (drop (call $printf_I (i32.const 16) (i32.const 9))))
  (start $start))
