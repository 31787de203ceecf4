;; A start function that never returns.
(module
  (func $start (loop $forever (br $forever)))
  (start $start))
