;; A guest that misuses every import of erl_nif_wasm.h added after the seed:
;; forged, stale and predicted handles, wrong envs, pointers and lengths
;; outside linear memory, huge counts, iterators that lie, cyclic attempts,
;; and new atoms without end. wasm_runtime_nif_hostile_imports_SUITE drives it.
;;
;; Most exports share one signature, (env, EK, HK, Pos, N, P1, P2, P3, P4,
;; A, B, C) -> term, every argument an integer term except A, B and C, the
;; valid terms the import is given. $pro decodes them into globals:
;;   $E       the env passed to the import: the call's env (EK 0) or a bad
;;            one (EK 1 env+1, 2 zero, 3 -1, 4 the env of an earlier call,
;;            5 env xor 2^30);
;;   $F       a forged handle (HK, see $forge);
;;   $H1..$H3 A, B and C, with the one at position Pos (1-3) replaced by $F;
;;   $P1..$P4 raw i32 pointers, lengths and counts (an Erlang integer,
;;            wrapped: 16#ffffffff is -1); $N the raw i64 N.
;; Getters (g_*) return the integer (R bsl 8) bor Changed, R what the import
;; returned and Changed a mask of the sentinel regions it wrote to: 1 for
;; [16, 128) (out-slots), 2 for [0x1000, 0x1100) (buffers), 4 for the last
;; 64 bytes of memory. A refused call is therefore exactly 0. Makers (m_*)
;; return what the import returned, or trap.
;;
;; Memory (32 pages, 2 MiB): [16, 128) out-slots (OUT 16, OUT2 24, OUT3 32),
;; 0x180 scratch for decoding, 0x200 a map iterator, 0x300 atom names,
;; 0x1000 buffers, 0x2000 the A, B, C array, 0x2100 and 0x2200 key and value
;; arrays, 0x3000 bytes poked by the suite, 0x10000 and 0x100000 two arrays
;; of up to 65,537 handles.
(module
  (type $op (func (param i32 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))

  ;; Seed imports used as tools.
  (import "env" "enif_wasm_get_int32" (func $get_int32 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_int32" (func $make_int32 (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_badarg" (func $make_badarg (param i32) (result i64)))
  (import "env" "enif_wasm_get_binary_size" (func $get_binary_size (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_binary_bytes" (func $get_binary_bytes (param i32 i64 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_make_binary" (func $make_binary (param i32 i32 i32) (result i64)))
  ;; Numbers
  (import "env" "enif_wasm_get_int" (func $get_int (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_uint" (func $get_uint (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_int64" (func $get_int64 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_uint64" (func $get_uint64 (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_double" (func $get_double (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_int" (func $make_int (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_uint" (func $make_uint (param i32 i32) (result i64)))
  (import "env" "enif_wasm_make_int64" (func $make_int64 (param i32 i64) (result i64)))
  (import "env" "enif_wasm_make_uint64" (func $make_uint64 (param i32 i64) (result i64)))
  (import "env" "enif_wasm_make_double" (func $make_double (param i32 f64) (result i64)))
  ;; Atoms and strings
  (import "env" "enif_wasm_make_atom_len" (func $make_atom_len (param i32 i32 i32) (result i64)))
  (import "env" "enif_wasm_make_existing_atom_len" (func $make_existing_atom_len (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_get_atom" (func $get_atom (param i32 i64 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_get_atom_length" (func $get_atom_length (param i32 i64 i32 i32) (result i32)))
  (import "env" "enif_wasm_make_string_len" (func $make_string_len (param i32 i32 i32 i32) (result i64)))
  (import "env" "enif_wasm_get_string" (func $get_string (param i32 i64 i32 i32 i32) (result i32)))
  ;; Tuples and lists
  (import "env" "enif_wasm_get_tuple" (func $get_tuple (param i32 i64 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_make_tuple_from_array" (func $make_tuple_from_array (param i32 i32 i32) (result i64)))
  (import "env" "enif_wasm_get_list_length" (func $get_list_length (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_list_cell" (func $make_list_cell (param i32 i64 i64) (result i64)))
  (import "env" "enif_wasm_make_list_from_array" (func $make_list_from_array (param i32 i32 i32) (result i64)))
  (import "env" "enif_wasm_make_reverse_list" (func $make_reverse_list (param i32 i64 i32) (result i32)))
  ;; Binaries, iolists, external term format
  (import "env" "enif_wasm_make_sub_binary" (func $make_sub_binary (param i32 i64 i32 i32) (result i64)))
  (import "env" "enif_wasm_inspect_iolist_as_binary" (func $inspect_iolist_as_binary (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_term_to_binary" (func $term_to_binary (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_binary_to_term" (func $binary_to_term (param i32 i32 i32 i32 i32) (result i32)))
  ;; Maps
  (import "env" "enif_wasm_make_new_map" (func $make_new_map (param i32) (result i64)))
  (import "env" "enif_wasm_get_map_size" (func $get_map_size (param i32 i64 i32) (result i32)))
  (import "env" "enif_wasm_get_map_value" (func $get_map_value (param i32 i64 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_map_put" (func $make_map_put (param i32 i64 i64 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_map_update" (func $make_map_update (param i32 i64 i64 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_map_remove" (func $make_map_remove (param i32 i64 i64 i32) (result i32)))
  (import "env" "enif_wasm_make_map_from_arrays" (func $make_map_from_arrays (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "enif_wasm_map_iterator_get_pair" (func $map_iterator_get_pair (param i32 i32 i32 i32) (result i32)))
  ;; Type tests and comparison
  (import "env" "enif_wasm_is_atom" (func $is_atom (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_binary" (func $is_binary (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_fun" (func $is_fun (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_list" (func $is_list (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_map" (func $is_map (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_number" (func $is_number (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_pid" (func $is_pid (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_port" (func $is_port (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_ref" (func $is_ref (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_tuple" (func $is_tuple (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_exception" (func $is_exception (param i32 i64) (result i32)))
  (import "env" "enif_wasm_term_type" (func $term_type (param i32 i64) (result i32)))
  (import "env" "enif_wasm_is_identical" (func $is_identical (param i32 i64 i64) (result i32)))
  (import "env" "enif_wasm_compare" (func $compare (param i32 i64 i64) (result i32)))
  ;; Exceptions, processes, references
  (import "env" "enif_wasm_raise_exception" (func $raise_exception (param i32 i64) (result i64)))
  (import "env" "enif_wasm_has_pending_exception" (func $has_pending_exception (param i32 i32) (result i32)))
  (import "env" "enif_wasm_self" (func $self (param i32) (result i64)))
  (import "env" "enif_wasm_send" (func $send (param i32 i64 i64) (result i32)))
  (import "env" "enif_wasm_is_process_alive" (func $is_process_alive (param i32 i64) (result i32)))
  (import "env" "enif_wasm_make_ref" (func $make_ref (param i32) (result i64)))

  (memory (export "memory") 32)
  (data (i32.const 0x300) "hostile_api_atom_00000000")
  (data (i32.const 0x340) "ok")

  ;; A handle and the env of an earlier call (see "stash").
  (global $stash (mut i64) (i64.const 0))
  (global $stash_env (mut i32) (i32.const 0))
  ;; The decoded arguments of the call in progress (see $pro).
  (global $E (mut i32) (i32.const 0))
  (global $F (mut i64) (i64.const 0))
  (global $H1 (mut i64) (i64.const 0))
  (global $H2 (mut i64) (i64.const 0))
  (global $H3 (mut i64) (i64.const 0))
  (global $P1 (mut i32) (i32.const 0))
  (global $P2 (mut i32) (i32.const 0))
  (global $P3 (mut i32) (i32.const 0))
  (global $P4 (mut i32) (i32.const 0))
  (global $N (mut i64) (i64.const 0))

  ;; ---- helpers ----

  (func $memend (result i32)
    (i32.mul (memory.size) (i32.const 65536)))

  ;; The integer in term $t (0 if it is not one), read with get_int64.
  (func $num (param $env i32) (param $t i64) (result i64)
    (if (result i64) (call $get_int64 (local.get $env) (local.get $t) (i32.const 0x180))
      (then (i64.load (i32.const 0x180)))
      (else (i64.const 0))))

  (func $num32 (param $env i32) (param $t i64) (result i32)
    (i32.wrap_i64 (call $num (local.get $env) (local.get $t))))

  ;; The env to pass: the call's own, or one of the bad ones.
  (func $envf (param $env i32) (param $k i32) (result i32)
    (block $bad
      (block $k5 (block $k4 (block $k3 (block $k2 (block $k1 (block $k0
        (br_table $k0 $k1 $k2 $k3 $k4 $k5 $bad (local.get $k)))
        (return (local.get $env)))
        (return (i32.add (local.get $env) (i32.const 1))))
        (return (i32.const 0)))
        (return (i32.const -1)))
        (return (global.get $stash_env)))
        (return (i32.xor (local.get $env) (i32.const 0x40000000))))
    unreachable)

  ;; A forged handle of kind $k (0 is $a itself, not forged):
  ;;  1 zero, 2 -1, 3 a fixed random value, 4 the newest handle + 1 (the
  ;;  handle the next term made would get), 5 the env as a term, 6 a handle
  ;;  of an earlier call (kept in a global), 7 the badarg exception handle,
  ;;  8 $a with a generation bit flipped, 9 N as given by the caller,
  ;;  10 $a's slot in the next call's generation, 11 ... in the previous one.
  (func $forge (param $env i32) (param $k i32) (param $a i64) (result i64)
    (block $bad
      (block $k11 (block $k10 (block $k9 (block $k8 (block $k7 (block $k6
      (block $k5 (block $k4 (block $k3 (block $k2 (block $k1 (block $k0
        (br_table $k0 $k1 $k2 $k3 $k4 $k5 $k6 $k7 $k8 $k9 $k10 $k11 $bad (local.get $k)))
        (return (local.get $a)))
        (return (i64.const 0)))
        (return (i64.const -1)))
        (return (i64.const 0x0123456789abcdef)))
        (return (i64.add (call $make_int32 (local.get $env) (i32.const 0)) (i64.const 1))))
        (return (i64.extend_i32_u (local.get $env))))
        (return (global.get $stash)))
        (return (call $make_badarg (local.get $env))))
        (return (i64.xor (local.get $a) (i64.const 0x10000000000))))
        (return (global.get $N)))
        (return (i64.add (local.get $a) (i64.const 0x1000000))))
        (return (i64.sub (local.get $a) (i64.const 0x1000000))))
    unreachable)

  ;; Fills the sentinel regions with 0x5a.
  (func $reset
    (memory.fill (i32.const 16) (i32.const 0x5a) (i32.const 112))
    (memory.fill (i32.const 0x1000) (i32.const 0x5a) (i32.const 256))
    (memory.fill (i32.sub (call $memend) (i32.const 64)) (i32.const 0x5a) (i32.const 64)))

  ;; 1 if a byte of [$at, $at + $len) is not 0x5a ($len a multiple of 8).
  (func $differs (param $at i32) (param $len i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (if (i64.ne (i64.load (i32.add (local.get $at) (local.get $i))) (i64.const 0x5a5a5a5a5a5a5a5a))
          (then (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $next)))
    (i32.const 0))

  (func $changed (result i32)
    (i32.or
      (i32.or (call $differs (i32.const 16) (i32.const 112))
              (i32.shl (call $differs (i32.const 0x1000) (i32.const 256)) (i32.const 1)))
      (i32.shl (call $differs (i32.sub (call $memend) (i32.const 64)) (i32.const 64)) (i32.const 2))))

  ;; (R bsl 8) bor Changed, as an integer term.
  (func $result (param $env i32) (param $r i32) (result i64)
    (call $make_int64 (local.get $env)
      (i64.or (i64.shl (i64.extend_i32_s (local.get $r)) (i64.const 8))
              (i64.extend_i32_u (call $changed)))))

  ;; Decodes the common arguments. The forged handle is made last, so that
  ;; "the newest handle + 1" names no term.
  (func $pro (type $op)
    (local $env i32) (local $pos i32)
    (local.set $env (local.get 0))
    (global.set $N (call $num (local.get $env) (local.get 4)))
    (global.set $P1 (call $num32 (local.get $env) (local.get 5)))
    (global.set $P2 (call $num32 (local.get $env) (local.get 6)))
    (global.set $P3 (call $num32 (local.get $env) (local.get 7)))
    (global.set $P4 (call $num32 (local.get $env) (local.get 8)))
    (global.set $E (call $envf (local.get $env) (call $num32 (local.get $env) (local.get 1))))
    (local.set $pos (call $num32 (local.get $env) (local.get 3)))
    (global.set $F (call $forge (local.get $env) (call $num32 (local.get $env) (local.get 2)) (local.get 9)))
    (global.set $H1 (select (global.get $F) (local.get 9) (i32.eq (local.get $pos) (i32.const 1))))
    (global.set $H2 (select (global.get $F) (local.get 10) (i32.eq (local.get $pos) (i32.const 2))))
    (global.set $H3 (select (global.get $F) (local.get 11) (i32.eq (local.get $pos) (i32.const 3))))
    (call $reset)
    (i64.const 0))

  ;; ---- tools for the suite ----

  ;; Keeps this call's handle and env for a later call; returns T.
  (func (export "stash") (param $env i32) (param $t i64) (result i64)
    (global.set $stash (local.get $t))
    (global.set $stash_env (local.get $env))
    (local.get $t))

  ;; The handle kept by "stash", returned from a later call: not a handle
  ;; of that call, so the call raises {bad_result_handle, return_stash, H}.
  (func (export "return_stash") (param $env i32) (result i64)
    (global.get $stash))

  ;; {ok, 42}, made with a few of the new imports: the instance works.
  (func (export "healthy") (param $env i32) (result i64)
    (i64.store (i32.const 0x2000) (call $make_atom_len (local.get $env) (i32.const 0x340) (i32.const 2)))
    (i64.store (i32.const 0x2008) (call $make_int (local.get $env) (i32.const 42)))
    (call $make_tuple_from_array (local.get $env) (i32.const 0x2000) (i32.const 2)))

  ;; Copies the bytes of binary Bin to address At; returns get_binary_bytes' answer.
  (func (export "poke") (param $env i32) (param $at i64) (param $bin i64) (result i64)
    (drop (call $get_binary_size (local.get $env) (local.get $bin) (i32.const 0x180)))
    (call $make_int32 (local.get $env)
      (call $get_binary_bytes (local.get $env) (local.get $bin) (i32.const 0)
        (i32.load (i32.const 0x180)) (call $num32 (local.get $env) (local.get $at)))))

  ;; The Len bytes at At, as a binary.
  (func (export "peek") (param $env i32) (param $at i64) (param $len i64) (result i64)
    (call $make_binary (local.get $env) (call $num32 (local.get $env) (local.get $at))
      (call $num32 (local.get $env) (local.get $len))))

  ;; ---- getters: numbers ----

  (func (export "g_get_int") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_int (global.get $E) (global.get $H1) (global.get $P1))))

  (func (export "g_get_uint") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_uint (global.get $E) (global.get $H1) (global.get $P1))))

  (func (export "g_get_int64") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_int64 (global.get $E) (global.get $H1) (global.get $P1))))

  (func (export "g_get_uint64") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_uint64 (global.get $E) (global.get $H1) (global.get $P1))))

  (func (export "g_get_double") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_double (global.get $E) (global.get $H1) (global.get $P1))))

  ;; ---- getters: atoms and strings (encoding in P4) ----

  ;; get_atom(A, buf P1, size P2)
  (func (export "g_get_atom") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $get_atom (global.get $E) (global.get $H1) (global.get $P1) (global.get $P2) (global.get $P4))))

  ;; get_atom_length(A, len P1)
  (func (export "g_get_atom_length") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $get_atom_length (global.get $E) (global.get $H1) (global.get $P1) (global.get $P4))))

  ;; make_existing_atom_len(name P1, len P2, atom P3)
  (func (export "g_existing_atom") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $make_existing_atom_len (global.get $E) (global.get $P1) (global.get $P2) (global.get $P3) (global.get $P4))))

  ;; get_string(A, buf P1, size P2)
  (func (export "g_get_string") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $get_string (global.get $E) (global.get $H1) (global.get $P1) (global.get $P2) (global.get $P4))))

  ;; ---- getters: tuples and lists ----

  ;; get_tuple(A, arity P1, array P2, capacity P3)
  (func (export "g_get_tuple") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $get_tuple (global.get $E) (global.get $H1) (global.get $P1) (global.get $P2) (global.get $P3))))

  ;; get_list_length(A, len P1)
  (func (export "g_get_list_length") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_list_length (global.get $E) (global.get $H1) (global.get $P1))))

  ;; make_reverse_list(A, out P1)
  (func (export "g_reverse_list") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $make_reverse_list (global.get $E) (global.get $H1) (global.get $P1))))

  ;; ---- getters: binaries, iolists, external term format ----

  ;; inspect_iolist_as_binary(A, out P1)
  (func (export "g_iolist") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $inspect_iolist_as_binary (global.get $E) (global.get $H1) (global.get $P1))))

  ;; term_to_binary(A, out P1)
  (func (export "g_t2b") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $term_to_binary (global.get $E) (global.get $H1) (global.get $P1))))

  ;; binary_to_term(data P1, size P2, out P3, opts P4)
  (func (export "g_b2t") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $binary_to_term (global.get $E) (global.get $P1) (global.get $P2) (global.get $P3) (global.get $P4))))

  ;; ---- getters: maps ----

  ;; get_map_size(A, out P1)
  (func (export "g_map_size") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $get_map_size (global.get $E) (global.get $H1) (global.get $P1))))

  ;; get_map_value(map A, key B, out P1)
  (func (export "g_map_value") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $get_map_value (global.get $E) (global.get $H1) (global.get $H2) (global.get $P1))))

  ;; make_map_put(map A, key B, value C, out P1)
  (func (export "g_map_put") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $make_map_put (global.get $E) (global.get $H1) (global.get $H2) (global.get $H3) (global.get $P1))))

  ;; make_map_update(map A, key B, value C, out P1)
  (func (export "g_map_update") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $make_map_update (global.get $E) (global.get $H1) (global.get $H2) (global.get $H3) (global.get $P1))))

  ;; make_map_remove(map A, key B, out P1)
  (func (export "g_map_remove") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0)
      (call $make_map_remove (global.get $E) (global.get $H1) (global.get $H2) (global.get $P1))))

  ;; keys [A, B] at 0x2100 and values [C, C] at 0x2200, then
  ;; make_map_from_arrays(keys P1, values P2, count P3, out P4)
  (func (export "g_map_from_arrays") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (i64.store (i32.const 0x2100) (global.get $H1))
    (i64.store (i32.const 0x2108) (global.get $H2))
    (i64.store (i32.const 0x2200) (global.get $H3))
    (i64.store (i32.const 0x2208) (global.get $H3))
    (call $result (local.get 0)
      (call $make_map_from_arrays (global.get $E) (global.get $P1) (global.get $P2) (global.get $P3) (global.get $P4))))

  ;; The iterator {map A, size P4, index N} at 0x200, then
  ;; map_iterator_get_pair(iter P1, key P2, value P3)
  (func (export "g_iter_pair") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (i64.store (i32.const 0x200) (global.get $H1))
    (i32.store (i32.const 0x208) (global.get $P4))
    (i32.store (i32.const 0x20c) (i32.wrap_i64 (global.get $N)))
    (call $result (local.get 0)
      (call $map_iterator_get_pair (global.get $E) (global.get $P1) (global.get $P2) (global.get $P3))))

  ;; ---- getters: type tests, comparison, processes ----

  ;; is_atom .. is_tuple, is_exception, term_type on A, chosen by P1 (0-11)
  (func (export "g_is") (type $op)
    (local $r i32)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (block $done
      (block $t11 (block $t10 (block $t9 (block $t8 (block $t7 (block $t6
      (block $t5 (block $t4 (block $t3 (block $t2 (block $t1 (block $t0
        (br_table $t0 $t1 $t2 $t3 $t4 $t5 $t6 $t7 $t8 $t9 $t10 $t11 $done (global.get $P1)))
        (local.set $r (call $is_atom (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_binary (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_fun (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_list (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_map (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_number (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_pid (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_port (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_ref (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_tuple (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $is_exception (global.get $E) (global.get $H1))) (br $done))
        (local.set $r (call $term_type (global.get $E) (global.get $H1))))
    (call $result (local.get 0) (local.get $r)))

  ;; is_identical(A, B)
  (func (export "g_identical") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $is_identical (global.get $E) (global.get $H1) (global.get $H2))))

  ;; has_pending_exception(reason P1). With P2 =/= 0 a badarg exception is
  ;; made first (with the call's own env); the result is then sent to the
  ;; caller and the exception term returned (the call raises badarg).
  (func (export "g_pending") (type $op)
    (local $e i64) (local $v i64)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (if (global.get $P2) (then (local.set $e (call $make_badarg (local.get 0)))))
    (local.set $v (call $result (local.get 0) (call $has_pending_exception (global.get $E) (global.get $P1))))
    (if (result i64) (global.get $P2)
      (then
        (drop (call $send (local.get 0) (call $self (local.get 0)) (local.get $v)))
        (local.get $e))
      (else (local.get $v))))

  ;; send(to A, msg B)
  (func (export "g_send") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $send (global.get $E) (global.get $H1) (global.get $H2))))

  ;; is_process_alive(A)
  (func (export "g_alive") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $result (local.get 0) (call $is_process_alive (global.get $E) (global.get $H1))))

  ;; ---- makers: return a term or trap ----

  (func (export "m_make_int") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_int (global.get $E) (i32.wrap_i64 (global.get $N))))

  (func (export "m_make_uint") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_uint (global.get $E) (i32.wrap_i64 (global.get $N))))

  (func (export "m_make_int64") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_int64 (global.get $E) (global.get $N)))

  (func (export "m_make_uint64") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_uint64 (global.get $E) (global.get $N)))

  ;; make_double of the f64 whose bits are N
  (func (export "m_make_double") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_double (global.get $E) (f64.reinterpret_i64 (global.get $N))))

  ;; make_atom_len(name P1, len P2)
  (func (export "m_make_atom") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_atom_len (global.get $E) (global.get $P1) (global.get $P2)))

  ;; make_string_len(string P1, len P2, encoding P4)
  (func (export "m_make_string") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_string_len (global.get $E) (global.get $P1) (global.get $P2) (global.get $P4)))

  ;; [A, B, C] at 0x2000, then make_tuple_from_array(array P1, count P2)
  (func (export "m_tuple") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (i64.store (i32.const 0x2000) (global.get $H1))
    (i64.store (i32.const 0x2008) (global.get $H2))
    (i64.store (i32.const 0x2010) (global.get $H3))
    (call $make_tuple_from_array (global.get $E) (global.get $P1) (global.get $P2)))

  ;; [A, B, C] at 0x2000, then make_list_from_array(array P1, count P2)
  (func (export "m_list") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (i64.store (i32.const 0x2000) (global.get $H1))
    (i64.store (i32.const 0x2008) (global.get $H2))
    (i64.store (i32.const 0x2010) (global.get $H3))
    (call $make_list_from_array (global.get $E) (global.get $P1) (global.get $P2)))

  ;; make_list_cell(A, B)
  (func (export "m_list_cell") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_list_cell (global.get $E) (global.get $H1) (global.get $H2)))

  ;; make_sub_binary(A, pos P1, size P2)
  (func (export "m_sub_binary") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_sub_binary (global.get $E) (global.get $H1) (global.get $P1) (global.get $P2)))

  (func (export "m_new_map") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_new_map (global.get $E)))

  ;; raise_exception(A): the call raises error:A, or traps
  (func (export "m_raise") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $raise_exception (global.get $E) (global.get $H1)))

  (func (export "m_self") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $self (global.get $E)))

  (func (export "m_make_ref") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_ref (global.get $E)))

  ;; compare(A, B) as an integer term; traps for a bad handle
  (func (export "m_compare") (type $op)
    (drop (call $pro (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7) (local.get 8) (local.get 9) (local.get 10) (local.get 11)))
    (call $make_int (local.get 0) (call $compare (global.get $E) (global.get $H1) (global.get $H2))))

  ;; ---- huge counts ----

  ;; Writes $h into $n slots at $at (at most 65,537 of them).
  (func $fill (param $at i32) (param $n i32) (param $h i64)
    (local $i i32)
    (if (i32.gt_u (local.get $n) (i32.const 65537)) (then (local.set $n (i32.const 65537))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i64.store (i32.add (local.get $at) (i32.shl (local.get $i) (i32.const 3))) (local.get $h))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; Count copies of A at 0x10000 (at most 65,537 written), then
  ;; make_tuple_from_array(0x10000, Count).
  (func (export "m_tuple_big") (param $env i32) (param $a i64) (param $count i64) (result i64)
    (local $n i32)
    (local.set $n (call $num32 (local.get $env) (local.get $count)))
    (call $fill (i32.const 0x10000) (local.get $n) (local.get $a))
    (call $make_tuple_from_array (local.get $env) (i32.const 0x10000) (local.get $n)))

  ;; The same with make_list_from_array.
  (func (export "m_list_big") (param $env i32) (param $a i64) (param $count i64) (result i64)
    (local $n i32)
    (local.set $n (call $num32 (local.get $env) (local.get $count)))
    (call $fill (i32.const 0x10000) (local.get $n) (local.get $a))
    (call $make_list_from_array (local.get $env) (i32.const 0x10000) (local.get $n)))

  ;; Distinct integer keys 0.. at 0x10000 and values at 0x100000 (at most
  ;; 65,537 written), then make_map_from_arrays(.., Count, OUT); getter result.
  (func (export "g_map_big") (param $env i32) (param $count i64) (result i64)
    (local $n i32) (local $i i32) (local $k i32) (local $h i64)
    (call $reset)
    (local.set $n (call $num32 (local.get $env) (local.get $count)))
    (local.set $k (select (i32.const 65537) (local.get $n) (i32.gt_u (local.get $n) (i32.const 65537))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
        (local.set $h (call $make_int32 (local.get $env) (local.get $i)))
        (i64.store (i32.add (i32.const 0x10000) (i32.shl (local.get $i) (i32.const 3))) (local.get $h))
        (i64.store (i32.add (i32.const 0x100000) (i32.shl (local.get $i) (i32.const 3))) (local.get $h))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $result (local.get $env)
      (call $make_map_from_arrays (local.get $env) (i32.const 0x10000) (i32.const 0x100000)
        (local.get $n) (i32.const 16))))

  ;; ---- cyclic attempts ----

  ;; L0 = [A | A] (one handle as head and tail), then K times L = [L | L]:
  ;; each cell is new, so this ends, with a term of K + 1 shared levels.
  (func (export "cyc_list") (param $env i32) (param $a i64) (param $k i64) (result i64)
    (local $l i64) (local $i i32) (local $n i32)
    (local.set $n (call $num32 (local.get $env) (local.get $k)))
    (local.set $l (call $make_list_cell (local.get $env) (local.get $a) (local.get $a)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $l (call $make_list_cell (local.get $env) (local.get $l) (local.get $l)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $l))

  ;; M = #{}, then for I in 0..K-1: M = M#{I => M} (a map put into itself).
  (func (export "cyc_map") (param $env i32) (param $k i64) (result i64)
    (local $m i64) (local $i i32) (local $n i32)
    (local.set $n (call $num32 (local.get $env) (local.get $k)))
    (local.set $m (call $make_new_map (local.get $env)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (if (i32.eqz (call $make_map_put (local.get $env) (local.get $m)
                       (call $make_int32 (local.get $env) (local.get $i)) (local.get $m) (i32.const 16)))
          (then (return (call $make_badarg (local.get $env)))))
        (local.set $m (i64.load (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $m))

  ;; cyc_list(A, K) sent to the caller: a message of 2^(K+1) cells once
  ;; copied, from K + 1 handles. Returns send's answer as an integer.
  (func (export "cyc_send") (param $env i32) (param $a i64) (param $k i64) (result i64)
    (local $l i64) (local $i i32) (local $n i32)
    (local.set $n (call $num32 (local.get $env) (local.get $k)))
    (local.set $l (call $make_list_cell (local.get $env) (local.get $a) (local.get $a)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $l (call $make_list_cell (local.get $env) (local.get $l) (local.get $l)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $make_int32 (local.get $env)
      (call $send (local.get $env) (call $self (local.get $env)) (local.get $l))))

  ;; ---- the atom table ----

  ;; Makes Count atoms hostile_api_atom_XXXXXXXX, XXXXXXXX the hex of
  ;; Start, Start+1, ...; returns Count if none trapped.
  (func (export "atoms") (param $env i32) (param $start i64) (param $count i64) (result i64)
    (local $i i32) (local $n i32) (local $v i32) (local $j i32) (local $d i32)
    (local.set $n (call $num32 (local.get $env) (local.get $count)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $v (i32.add (call $num32 (local.get $env) (local.get $start)) (local.get $i)))
        (local.set $j (i32.const 0))
        (block $hex_done
          (loop $hex
            (br_if $hex_done (i32.ge_u (local.get $j) (i32.const 8)))
            (local.set $d (i32.and (i32.shr_u (local.get $v) (i32.sub (i32.const 28) (i32.shl (local.get $j) (i32.const 2))))
                                   (i32.const 15)))
            (i32.store8 (i32.add (i32.const 0x311) (local.get $j))
              (i32.add (local.get $d) (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $d) (i32.const 10)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $hex)))
        (drop (call $make_atom_len (local.get $env) (i32.const 0x300) (i32.const 25)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $make_int32 (local.get $env) (local.get $n))))
