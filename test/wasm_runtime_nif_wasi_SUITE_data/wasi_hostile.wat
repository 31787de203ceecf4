;; WASI calls with arguments WASI refuses: flags that do not exist, buffers
;; out of the memory, more random bytes than one call may ask for.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 17)
  (data (i32.const 0) "a")
  (func (export "bad_flags") (result i32)
    (call $path_open (i32.const 3) (i32.const 0xff) (i32.const 0) (i32.const 1)
      (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 64)))
  (func (export "bad_pointer") (result i32)
    (call $fd_write (i32.const 1) (i32.const 0x10fffff) (i32.const 1) (i32.const 64)))
  (func (export "random") (param $bytes i32) (result i32)
    (call $random_get (i32.const 0) (local.get $bytes))))
