;; A guest that uses what the limits bound: instructions, memory, tables.
(module
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (func $spin (export "spin") (param $n i64) (result i64)
    (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $i))
  ;; Recursion $n calls deep.
  (func $depth (export "depth") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))
  ;; memory.grow: the old size in pages, or -1 when refused.
  (func (export "grow_memory") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "memory_pages") (result i32) (memory.size))
  (func (export "grow_table") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))
