;; Several memories and tables, each able to grow far on its own: the
;; instance's ceilings bound them together.
(module
  (memory $m0 1) (memory $m1 1) (memory $m2 1) (memory $m3 1)
  (table $t0 1 funcref) (table $t1 1 funcref) (table $t2 1 funcref)
  (func (export "grow_memory") (param $which i32) (param $pages i32) (result i32)
    (block $3 (block $2 (block $1 (block $0
      (br_table $0 $1 $2 $3 (local.get $which)))
      (return (memory.grow $m0 (local.get $pages))))
      (return (memory.grow $m1 (local.get $pages))))
      (return (memory.grow $m2 (local.get $pages))))
    (memory.grow $m3 (local.get $pages)))
  (func (export "grow_table") (param $which i32) (param $n i32) (result i32)
    (block $2 (block $1 (block $0
      (br_table $0 $1 $2 (local.get $which)))
      (return (table.grow $t0 (ref.null func) (local.get $n))))
      (return (table.grow $t1 (ref.null func) (local.get $n))))
    (table.grow $t2 (ref.null func) (local.get $n))))
