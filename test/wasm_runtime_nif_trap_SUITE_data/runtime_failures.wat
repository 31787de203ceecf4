;; Failures that are not wasm traps but still end a call: an exception no
;; handler catches, and a GC heap that is full at the instance's ceiling.
(module
  (tag $oops (param i32))
  (type $cell (struct (field i64) (field (ref null $cell))))
  (global $head (mut (ref null $cell)) (ref.null $cell))
  (func (export "throw_uncaught") (result i32)
    (throw $oops (i32.const 7)))
  ;; Caught inside, with its payload: not a failure.
  (func (export "throw_caught") (result i32)
    (block $handler (result i32)
      (try_table (catch $oops $handler)
        (throw $oops (i32.const 7)))
      (i32.const 0)))
  ;; Keeps $n cells alive in a list; returns how many it made.
  (func (export "hoard") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (global.set $head (struct.new $cell (i64.extend_i32_u (local.get $i)) (global.get $head)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i)))
