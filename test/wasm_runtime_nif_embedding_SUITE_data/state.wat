;; Memories and globals for the embedding API: a memory that may grow to 4
;; pages, a second one, globals of every kind, and functions that read and
;; change them from the guest's side.
(module
  (memory (export "memory") 1 4)
  (memory (export "other") 2)
  (global $counter (export "counter") (mut i32) (i32.const 7))
  (global (export "answer") i64 (i64.const 42))
  (global (export "ratio") (mut f64) (f64.const 0.5))
  (global (export "small") (mut f32) (f32.const 1.5))
  (global (export "vector") (mut v128) (v128.const i64x2 1 2))
  (data (memory 0) (i32.const 16) "hello")
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (global.get $counter))
  (func (export "load8") (param i32) (result i32)
    (i32.load8_u (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "spin") (param i64) (result i64)
    (local $i i64)
    (loop $l (local.set $i (i64.add (local.get $i) (i64.const 1)))
             (br_if $l (i64.lt_u (local.get $i) (local.get 0))))
    (local.get $i))
  (func (export "trap") unreachable))
