;; A start function that traps: instantiation must fail, cleanly.
(module
  (func $start (unreachable))
  (start $start))
