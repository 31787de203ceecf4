;; One import name imported twice with the same type: one fun serves both.
(module
  (import "env" "next" (func $a (param i32) (result i32)))
  (import "env" "next" (func $b (param i32) (result i32)))
  (func (export "both") (param i32) (result i32) (call $b (call $a (local.get 0)))))
