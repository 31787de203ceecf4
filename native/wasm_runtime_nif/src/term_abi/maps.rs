//! Maps, and iteration over them with an iterator kept in guest memory.

use std::mem::MaybeUninit;

use rustler::sys::{self, ErlNifEnv, ErlNifMapIterator, ErlNifMapIteratorEntry, ErlNifTerm};
use wasmtime::Caller;

use super::{
    load_bytes, load_handles, new_term, store_bytes, store_results, store_term, table, StoreData,
    MAX_ARRAY_LEN,
};
use crate::term_table::flat::{self, Flat};
use crate::term_table::MapCursor;

/// Heap bytes charged for a map update: a small map is copied whole, a
/// large one (a HAMT) only along the path to the key.
fn update_bytes(env: *mut ErlNifEnv, map: ErlNifTerm) -> u64 {
    16 * map_size(env, map).unwrap_or(0).min(64) as u64 + 32
}

fn map_size(env: *mut ErlNifEnv, map: ErlNifTerm) -> Option<usize> {
    let mut size = 0;
    // SAFETY: env and map belong to the NIF call on this thread.
    (unsafe { sys::enif_get_map_size(env, map, &mut size) } != 0).then_some(size)
}

pub fn make_new_map(mut caller: Caller<'_, StoreData>, env: i32) -> wasmtime::Result<i64> {
    let env = super::call_env(&caller, env)?;
    // SAFETY: env belongs to the NIF call on this thread.
    let map = unsafe { sys::enif_make_new_map(env) };
    new_term(&mut caller, map)
}

pub fn get_map_size(mut caller: Caller<'_, StoreData>, env: i32, map: i64, out: i32) -> i32 {
    let Some((env, map)) = table(&caller).term(env, map) else {
        return 0;
    };
    match map_size(env, map).and_then(|size| u32::try_from(size).ok()) {
        Some(size) => store_bytes(&mut caller, out, &size.to_le_bytes()) as i32,
        None => 0,
    }
}

/// The env and the terms of `handles`, if all belong to the call.
fn operands(
    caller: &Caller<'_, StoreData>,
    env: i32,
    handles: &[i64],
) -> Option<(*mut ErlNifEnv, Vec<ErlNifTerm>)> {
    let table = table(caller);
    let env_ptr = table.env(env)?;
    let terms = handles
        .iter()
        .map(|&handle| Some(table.term(env, handle)?.1))
        .collect::<Option<Vec<_>>>()?;
    Some((env_ptr, terms))
}

pub fn get_map_value(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    map: i64,
    key: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    let Some((env, t)) = operands(&caller, env, &[map, key]) else {
        return Ok(0);
    };
    let mut value = ErlNifTerm::default();
    // SAFETY: env and the terms belong to the NIF call on this thread.
    if unsafe { sys::enif_get_map_value(env, t[0], t[1], &mut value) } == 0 {
        return Ok(0);
    }
    store_term(&mut caller, out, value, Flat::UNKNOWN)
}

/// Runs one of erl_nif's map updates and stores the new map at `out`.
fn update(
    mut caller: Caller<'_, StoreData>,
    import: &str,
    env: i32,
    handles: &[i64],
    out: i32,
    op: impl FnOnce(*mut ErlNifEnv, &[ErlNifTerm], &mut ErlNifTerm) -> i32,
) -> wasmtime::Result<i32> {
    let Some((env, found)) = operands(&caller, env, handles) else {
        return Ok(0);
    };
    // The new map holds the key and value: its size is theirs and the map's.
    let size =
        flat::of_handles(table(&caller), env, handles).ok_or_else(|| flat::too_large(import))?;
    let mut map_out = ErlNifTerm::default();
    if op(env, &found, &mut map_out) == 0 {
        return Ok(0);
    }
    table(&caller).charge(update_bytes(env, map_out))?;
    store_term(&mut caller, out, map_out, size)
}

// SAFETY (for the enif calls below): env and the terms belong to the NIF
// call on this thread, as `update` checked.

pub fn make_map_put(
    caller: Caller<'_, StoreData>,
    env: i32,
    map: i64,
    key: i64,
    value: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    update(
        caller,
        "enif_wasm_make_map_put",
        env,
        &[map, key, value],
        out,
        |env, t, map_out| unsafe { sys::enif_make_map_put(env, t[0], t[1], t[2], map_out) },
    )
}

pub fn make_map_update(
    caller: Caller<'_, StoreData>,
    env: i32,
    map: i64,
    key: i64,
    value: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    update(
        caller,
        "enif_wasm_make_map_update",
        env,
        &[map, key, value],
        out,
        |env, t, map_out| unsafe { sys::enif_make_map_update(env, t[0], t[1], t[2], map_out) },
    )
}

pub fn make_map_remove(
    caller: Caller<'_, StoreData>,
    env: i32,
    map: i64,
    key: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    update(
        caller,
        "enif_wasm_make_map_remove",
        env,
        &[map, key],
        out,
        |env, t, map_out| unsafe { sys::enif_make_map_remove(env, t[0], t[1], map_out) },
    )
}

pub fn make_map_from_arrays(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    keys: i32,
    values: i32,
    cnt: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    const IMPORT: &str = "enif_wasm_make_map_from_arrays";
    let Some(env) = table(&caller).env(env) else {
        return Ok(0);
    };
    let cnt = cnt as u32;
    if cnt > MAX_MAP_PAIRS {
        return Ok(0);
    }
    let loaded = load_handles(&caller, env, keys, cnt)
        .and_then(|k| Ok((k, load_handles(&caller, env, values, cnt)?)));
    let ((keys, key_size), (values, value_size)) = match loaded {
        Ok(loaded) => loaded,
        Err(super::ArrayError::TooLarge) => return Err(flat::too_large(IMPORT).into()),
        Err(_) => return Ok(0),
    };
    let size = key_size.plus(value_size).check(IMPORT)?;
    if has_duplicate(&keys) {
        return Ok(0);
    }
    table(&caller).charge(24 * cnt as u64)?;
    let mut map = ErlNifTerm::default();
    // SAFETY: env and the terms belong to the NIF call on this thread; both
    // arrays hold cnt terms.
    let made = unsafe {
        sys::enif_make_map_from_arrays(env, keys.as_ptr(), values.as_ptr(), cnt as usize, &mut map)
    };
    if made == 0 {
        return Ok(0);
    }
    store_term(&mut caller, out, map, size)
}

/// Whether two of `keys` are the same term. erl_nif promises to refuse
/// duplicate keys, but OTP 25 checks only maps of up to 32 pairs: above
/// that it builds a malformed map that holds both (`H == Exp` yet
/// `H =/= Exp`, lookups miss). Keys are grouped by hash and compared
/// within a group, so this costs a hash of each key.
fn has_duplicate(keys: &[ErlNifTerm]) -> bool {
    let mut hashed: Vec<(u64, ErlNifTerm)> = keys
        .iter()
        // SAFETY: the keys are terms of this NIF call.
        .map(|&key| {
            (
                unsafe { sys::enif_hash(sys::ErlNifHash::ERL_NIF_INTERNAL_HASH, key, 0) },
                key,
            )
        })
        .collect();
    hashed.sort_unstable_by_key(|&(hash, _)| hash);
    hashed.chunk_by(|a, b| a.0 == b.0).any(|same_hash| {
        same_hash.iter().enumerate().any(|(i, &(_, a))| {
            same_hash[i + 1..]
                .iter()
                // SAFETY: as above.
                .any(|&(_, b)| unsafe { sys::enif_is_identical(a, b) } != 0)
        })
    })
}

/// Most pairs `enif_wasm_make_map_from_arrays` takes: building a map costs
/// about 0.5 µs a pair (it hashes and sorts), so 2,048 take about 1 ms.
/// Larger maps are built with `enif_wasm_make_map_put`, a pair per call.
pub const MAX_MAP_PAIRS: u32 = 2048;

/// Layout of the guest's `ErlNifMapIterator`: the map handle, its size,
/// and the position.
const ITER_SIZE: usize = 16;
const ITER_MAP: usize = 0;
const ITER_INDEX: usize = 12;

/// Reads the pair at the position of an iterator in guest memory. The
/// position is guest data like any other: it is checked against the map.
pub fn map_iterator_get_pair(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    iter: i32,
    key_out: i32,
    value_out: i32,
) -> wasmtime::Result<i32> {
    let Some(iter) = load_bytes::<ITER_SIZE>(&caller, iter) else {
        return Ok(0);
    };
    let map: [u8; 8] = iter[ITER_MAP..ITER_MAP + 8].try_into().expect("8 bytes");
    let index: [u8; 4] = iter[ITER_INDEX..ITER_INDEX + 4]
        .try_into()
        .expect("4 bytes");
    let Some((env, map)) = table(&caller).term(env, i64::from_le_bytes(map)) else {
        return Ok(0);
    };
    let Ok(index) = usize::try_from(i32::from_le_bytes(index)) else {
        return Ok(0);
    };
    let size = match map_size(env, map) {
        Some(size) if index < size => size,
        _ => return Ok(0),
    };
    let table = table(&caller);
    let Some((key, value)) = pair_at(
        &mut table.map_cursor,
        &mut table.far_jump_made,
        env,
        (map, size),
        index,
    ) else {
        return Ok(0);
    };
    store_results(
        &mut caller,
        [
            (key_out, key, Flat::UNKNOWN),
            (value_out, value, Flat::UNKNOWN),
        ],
    )
}

/// The pair at `index` of `map` (which holds more than `index` pairs),
/// stepping the kept enif iterator from where it is, or starting one from
/// the nearer end of the map. Walking a map costs O(1) a step, but jumping
/// about a large one costs O(size): one jump of more than [`MAX_ARRAY_LEN`]
/// steps is allowed per slice, to find the place again after a slice
/// boundary; `None` for any other.
fn pair_at(
    cursor: &mut Option<MapCursor>,
    far_jump_made: &mut bool,
    env: *mut ErlNifEnv,
    (map, size): (ErlNifTerm, usize),
    index: usize,
) -> Option<(ErlNifTerm, ErlNifTerm)> {
    let distance = |c: &MapCursor| c.index.abs_diff(index);
    let from_ends = index.min(size - 1 - index);
    let reuse = matches!(cursor, Some(c) if c.map == map && distance(c) <= from_ends);
    let steps = match cursor {
        Some(c) if reuse => distance(c),
        _ => from_ends,
    };
    if steps > MAX_ARRAY_LEN as usize {
        // A walk of a large map loses its cursor at every slice boundary
        // and must find its place again: one far jump per slice is allowed.
        if *far_jump_made {
            return None;
        }
        *far_jump_made = true;
    }
    if !reuse {
        if let Some(mut old) = cursor.take() {
            // SAFETY: created in this slice's env.
            unsafe { sys::enif_map_iterator_destroy(env, &mut *old.iter) };
        }
        let from_last = index > size / 2;
        let entry = if from_last {
            ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_TAIL
        } else {
            ErlNifMapIteratorEntry::ERL_NIF_MAP_ITERATOR_HEAD
        };
        // SAFETY: an iterator is plain memory until enif fills it.
        let mut iter: Box<ErlNifMapIterator> =
            Box::new(unsafe { MaybeUninit::zeroed().assume_init() });
        // SAFETY: env and map belong to the NIF call on this thread, and
        // map is a map (its size was read).
        unsafe { sys::enif_map_iterator_create(env, map, &mut *iter, entry) };
        *cursor = Some(MapCursor {
            map,
            index: if from_last { size - 1 } else { 0 },
            iter,
        });
    }
    let c = cursor.as_mut().expect("set above");
    while c.index < index {
        // SAFETY: the iterator was created in this slice's env, on map.
        unsafe { sys::enif_map_iterator_next(env, &mut *c.iter) };
        c.index += 1;
    }
    while c.index > index {
        // SAFETY: as above.
        unsafe { sys::enif_map_iterator_prev(env, &mut *c.iter) };
        c.index -= 1;
    }
    let (mut key, mut value) = (ErlNifTerm::default(), ErlNifTerm::default());
    // SAFETY: as above; the iterator is at a pair, as 0 <= index < size.
    unsafe { sys::enif_map_iterator_get_pair(env, &mut *c.iter, &mut key, &mut value) };
    Some((key, value))
}
