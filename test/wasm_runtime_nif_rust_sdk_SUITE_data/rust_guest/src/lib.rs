//! The guest of wasm_runtime_nif_rust_sdk_SUITE, written with the
//! erl_nif_wasm SDK (sdk/rust/erl_nif_wasm). Build it with
//!
//! ```sh
//! CARGO_TARGET_DIR=sdk/rust/target cargo build --release \
//!     --target wasm32-unknown-unknown \
//!     --manifest-path test/wasm_runtime_nif_rust_sdk_SUITE_data/rust_guest/Cargo.toml
//! ```
//!
//! Every function below is called from Erlang as
//! `wasm_runtime_nif:call(Instance, Name, Args)`.

use std::collections::BTreeMap;

use erl_nif_wasm::{
    nif, Atom, Binary, Bytes, Encoder, Env, Error, ListIterator, NifResult, Term, TermType,
};

const OVERFLOW: Error = Error::Atom("overflow");

nif! {
    /// add(A, B): A + B, wrapping around at 64 bits like wasm's i64.add.
    fn add(a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    /// sum_list(List): the sum of a proper list of 64-bit integers, decoded
    /// into a Vec first; raises overflow if the sum does not fit 64 bits.
    fn sum_list(list: Vec<i64>) -> NifResult<i64> {
        let sum: i128 = list.iter().map(|&x| i128::from(x)).sum();
        i64::try_from(sum).map_err(|_| OVERFLOW)
    }

    /// sum_iter(List): as sum_list, walking the list cell by cell without
    /// allocating.
    fn sum_iter<'a>(mut list: ListIterator<'a>) -> NifResult<i64> {
        let mut sum = 0i128;
        for head in &mut list {
            sum += i128::from(head.decode::<i64>()?);
        }
        if !list.tail().is_empty_list() {
            return Err(Error::BadArg); // an improper list
        }
        i64::try_from(sum).map_err(|_| OVERFLOW)
    }

    /// double_all(List): [2 * X || X <- List].
    fn double_all(list: Vec<i64>) -> NifResult<Vec<i64>> {
        list.into_iter().map(|x| x.checked_mul(2).ok_or(OVERFLOW)).collect()
    }

    /// reverse_bytes(Bin): the bytes of Bin in reverse order.
    fn reverse_bytes(bin: Bytes) -> Bytes {
        let mut bytes = bin;
        bytes.reverse();
        bytes
    }

    /// upcase(Bin): Bin with ASCII letters in upper case.
    fn upcase<'a>(env: Env<'a>, bin: Binary<'a>) -> Term<'a> {
        let mut bytes = bin.to_vec();
        bytes.make_ascii_uppercase();
        env.make_binary(&bytes)
    }

    /// map_incr(Map, Key): maps:update_with(Key, fun(V) -> V + 1 end, 1, Map).
    fn map_incr<'a>(map: Term<'a>, key: Term<'a>) -> NifResult<Term<'a>> {
        if !map.is_map() {
            return Err(Error::BadArg);
        }
        let count = match map.map_get(key) {
            Ok(count) => count.decode::<i64>()?.checked_add(1).ok_or(OVERFLOW)?,
            Err(_) => 1,
        };
        map.map_put(key, count)
    }

    /// rebuild(Term): a copy of Term built again from its parts.
    fn rebuild<'a>(env: Env<'a>, term: Term<'a>) -> NifResult<Term<'a>> {
        rebuild_term(env, term)
    }

    /// tagged(X): {ok, X}, through the encoding of Result.
    fn tagged<'a>(x: Term<'a>) -> Result<Term<'a>, Atom> {
        Ok(x)
    }

    /// safe_div(A, B): {ok, A div B}, or {error, division_by_zero}.
    fn safe_div(a: i64, b: i64) -> Result<i64, Atom> {
        a.checked_div(b).ok_or(Atom::new("division_by_zero"))
    }

    /// fail_with(Reason): raises error:Reason.
    fn fail_with<'a>(reason: Term<'a>) -> NifResult<Term<'a>> {
        Err(Error::term(reason))
    }

    /// badarg_if_negative(N): N, or raises badarg if N < 0.
    fn badarg_if_negative(n: i64) -> NifResult<i64> {
        if n < 0 {
            return Err(Error::BadArg);
        }
        Ok(n)
    }

    /// send_self(Msg): sends {from_rust, Msg} to the caller; returns a new
    /// reference.
    fn send_self<'a>(env: Env<'a>, msg: Term<'a>) -> NifResult<Term<'a>> {
        if !env.send(env.self_pid(), (Atom::new("from_rust"), msg)) {
            return Err(Error::Atom("not_sent"));
        }
        Ok(env.make_ref())
    }

    /// describe(Term): the type of Term, as an atom (atom, bitstring, float,
    /// fun, integer, list, map, pid, port, reference or tuple).
    fn describe<'a>(term: Term<'a>) -> Atom {
        Atom::new(term.term_type().name())
    }

    /// negate(Bool): not Bool.
    fn negate(b: bool) -> bool {
        !b
    }

    /// greet(Name): <<"Hello, ", Name/binary, "!">>, Name a UTF-8 binary.
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }

    /// maybe_double(X): nil for nil, else 2 * X.
    fn maybe_double(x: Option<i32>) -> Option<i64> {
        x.map(|x| 2 * i64::from(x))
    }

    /// swap({A, B}): {B, A}.
    fn swap<'a>(pair: (Term<'a>, Term<'a>)) -> (Term<'a>, Term<'a>) {
        (pair.1, pair.0)
    }

    /// histogram(Bin): #{Byte => Count} for the bytes of Bin.
    fn histogram(bin: Bytes) -> BTreeMap<u8, u32> {
        let mut counts = BTreeMap::new();
        for byte in bin.iter() {
            *counts.entry(*byte).or_insert(0) += 1;
        }
        counts
    }

    /// total(#{Name => N}): the sum of the values of a map with UTF-8
    /// binary keys and integer values.
    fn total(map: BTreeMap<String, i64>) -> NifResult<i64> {
        map.values().try_fold(0i64, |sum, &n| sum.checked_add(n).ok_or(OVERFLOW))
    }
}

/// Takes `term` apart and builds it again from its parts.
fn rebuild_term<'a>(env: Env<'a>, term: Term<'a>) -> NifResult<Term<'a>> {
    match term.term_type() {
        TermType::Integer => match (term.decode::<i64>(), term.decode::<u64>()) {
            (Ok(small), _) => Ok(small.encode(env)),
            (_, Ok(large)) => Ok(large.encode(env)),
            // A bignum: only the external term format can carry it.
            _ => through_external_format(env, term),
        },
        TermType::Float => Ok(term.decode::<f64>()?.encode(env)),
        // Atoms with a character above 255 have no Latin-1 name.
        TermType::Atom => match term.decode::<Atom>() {
            Ok(atom) => Ok(atom.encode(env)),
            Err(_) => through_external_format(env, term),
        },
        // Bitstrings that are not whole bytes are not binaries.
        TermType::Bitstring => match term.decode::<Bytes>() {
            Ok(bytes) => Ok(bytes.encode(env)),
            Err(_) => through_external_format(env, term),
        },
        TermType::List => rebuild_list(env, term),
        TermType::Tuple => match term.tuple_elements() {
            Ok(elements) => {
                let elements: Vec<Term<'a>> = elements
                    .into_iter()
                    .map(|t| rebuild_term(env, t))
                    .collect::<NifResult<_>>()?;
                Ok(env.make_tuple(&elements))
            }
            // Over 65536 elements: the term ABI can neither read nor make it.
            Err(_) => through_external_format(env, term),
        },
        TermType::Map => {
            let (mut keys, mut values) = (Vec::new(), Vec::new());
            for (key, value) in term.map_iter()? {
                keys.push(rebuild_term(env, key)?);
                values.push(rebuild_term(env, value)?);
            }
            env.make_map_from_arrays(&keys, &values)
        }
        // Pids, ports, references and funs cannot be built from parts.
        TermType::Pid | TermType::Port | TermType::Reference | TermType::Fun => Ok(term),
        TermType::Unknown => Err(Error::BadArg),
    }
}

/// A list, cell by cell, keeping an improper tail.
fn rebuild_list<'a>(env: Env<'a>, list: Term<'a>) -> NifResult<Term<'a>> {
    let mut cells = list.list_iter()?;
    let mut heads = Vec::new();
    for head in &mut cells {
        heads.push(rebuild_term(env, head)?);
    }
    let tail = match cells.tail() {
        tail if tail.is_empty_list() => env.make_list(&[]),
        improper => rebuild_term(env, improper)?,
    };
    Ok(heads
        .into_iter()
        .rev()
        .fold(tail, |tail, head| env.make_list_cell(head, tail)))
}

/// binary_to_term(term_to_binary(Term)).
fn through_external_format<'a>(env: Env<'a>, term: Term<'a>) -> NifResult<Term<'a>> {
    let bytes = term.to_binary()?.to_vec();
    env.binary_to_term(&bytes)
        .map(|(copy, _)| copy)
        .ok_or(Error::BadArg)
}
