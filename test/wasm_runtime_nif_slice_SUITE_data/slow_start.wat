;; A start function that runs for a while, then sets a global to read back.
(module
  (global $ready (mut i32) (i32.const 0))
  (func $start
    (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (i64.const 300000000)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (global.set $ready (i32.const 1)))
  (func (export "ready") (result i32) (global.get $ready))
  (start $start))
