;; A start function that throws an exception nobody catches.
(module
  (tag $oops)
  (func $start (throw $oops))
  (start $start))
