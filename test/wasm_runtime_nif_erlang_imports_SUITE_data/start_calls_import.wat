;; A start function that calls an Erlang import: not possible outside a call.
(module
  (import "env" "hello" (func $hello))
  (func $start (call $hello))
  (start $start))
