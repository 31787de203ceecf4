//! Maps, and iteration over them with an iterator kept in guest memory.

use std::mem::MaybeUninit;

use rustler::sys::{self, ErlNifEnv, ErlNifMapIterator, ErlNifMapIteratorEntry, ErlNifTerm};
use wasmtime::Caller;

use super::table::MapCursor;
use super::{
    load_bytes, load_handles, new_term, store_bytes, store_term, store_terms, table, HostState,
};

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

pub fn make_new_map(mut caller: Caller<'_, HostState>, env: i32) -> wasmtime::Result<i64> {
    let env = super::call_env(&caller, env)?;
    // SAFETY: env belongs to the NIF call on this thread.
    let map = unsafe { sys::enif_make_new_map(env) };
    new_term(&mut caller, map)
}

pub fn get_map_size(mut caller: Caller<'_, HostState>, env: i32, map: i64, out: i32) -> i32 {
    let Some((env, map)) = table(&caller).term(env, map) else {
        return 0;
    };
    match map_size(env, map).and_then(|size| u32::try_from(size).ok()) {
        Some(size) => store_bytes(&mut caller, out, &size.to_le_bytes()) as i32,
        None => 0,
    }
}

/// The env and terms of several handles, if all belong to the call.
fn terms<const N: usize>(
    caller: &Caller<'_, HostState>,
    env: i32,
    handles: [i64; N],
) -> Option<(*mut ErlNifEnv, [ErlNifTerm; N])> {
    let table = table(caller);
    let mut terms = [ErlNifTerm::default(); N];
    let mut env_ptr = None;
    for (slot, handle) in terms.iter_mut().zip(handles) {
        let (e, t) = table.term(env, handle)?;
        env_ptr = Some(e);
        *slot = t;
    }
    Some((env_ptr.or_else(|| table.env(env))?, terms))
}

pub fn get_map_value(
    mut caller: Caller<'_, HostState>,
    env: i32,
    map: i64,
    key: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    let Some((env, [map, key])) = terms(&caller, env, [map, key]) else {
        return Ok(0);
    };
    let mut value = ErlNifTerm::default();
    // SAFETY: env and the terms belong to the NIF call on this thread.
    if unsafe { sys::enif_get_map_value(env, map, key, &mut value) } == 0 {
        return Ok(0);
    }
    store_term(&mut caller, out, value)
}

/// Runs one of erl_nif's map updates and stores the new map at `out`.
fn update(
    mut caller: Caller<'_, HostState>,
    env: i32,
    handles: &[i64],
    out: i32,
    op: impl FnOnce(*mut ErlNifEnv, &[ErlNifTerm], &mut ErlNifTerm) -> i32,
) -> wasmtime::Result<i32> {
    let mut found = Vec::with_capacity(handles.len());
    for &handle in handles {
        match table(&caller).term(env, handle) {
            Some((_, term)) => found.push(term),
            None => return Ok(0),
        }
    }
    let Some(env) = table(&caller).env(env) else {
        return Ok(0);
    };
    let mut map_out = ErlNifTerm::default();
    if op(env, &found, &mut map_out) == 0 {
        return Ok(0);
    }
    table(&caller).charge(update_bytes(env, map_out))?;
    store_term(&mut caller, out, map_out)
}

// SAFETY (for the enif calls below): env and the terms belong to the NIF
// call on this thread, as `update` checked.

pub fn make_map_put(
    caller: Caller<'_, HostState>,
    env: i32,
    map: i64,
    key: i64,
    value: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    update(
        caller,
        env,
        &[map, key, value],
        out,
        |env, t, map_out| unsafe { sys::enif_make_map_put(env, t[0], t[1], t[2], map_out) },
    )
}

pub fn make_map_update(
    caller: Caller<'_, HostState>,
    env: i32,
    map: i64,
    key: i64,
    value: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    update(
        caller,
        env,
        &[map, key, value],
        out,
        |env, t, map_out| unsafe { sys::enif_make_map_update(env, t[0], t[1], t[2], map_out) },
    )
}

pub fn make_map_remove(
    caller: Caller<'_, HostState>,
    env: i32,
    map: i64,
    key: i64,
    out: i32,
) -> wasmtime::Result<i32> {
    update(caller, env, &[map, key], out, |env, t, map_out| unsafe {
        sys::enif_make_map_remove(env, t[0], t[1], map_out)
    })
}

pub fn make_map_from_arrays(
    mut caller: Caller<'_, HostState>,
    env: i32,
    keys: i32,
    values: i32,
    cnt: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    let Some(env) = table(&caller).env(env) else {
        return Ok(0);
    };
    let cnt = cnt as u32;
    let (Ok(keys), Ok(values)) = (
        load_handles(&caller, keys, cnt),
        load_handles(&caller, values, cnt),
    ) else {
        return Ok(0);
    };
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
    store_term(&mut caller, out, map)
}

/// Layout of the guest's `ErlNifMapIterator`: the map handle, its size,
/// and the position.
const ITER_MAP: i32 = 0;
const ITER_INDEX: i32 = 12;

/// Reads the pair at the position of an iterator in guest memory. The
/// position is guest data like any other: it is checked against the map.
pub fn map_iterator_get_pair(
    mut caller: Caller<'_, HostState>,
    env: i32,
    iter: i32,
    key_out: i32,
    value_out: i32,
) -> wasmtime::Result<i32> {
    let (Some(map), Some(index)) = (
        load_bytes::<8>(&caller, iter.wrapping_add(ITER_MAP)),
        load_bytes::<4>(&caller, iter.wrapping_add(ITER_INDEX)),
    ) else {
        return Ok(0);
    };
    let Some((env, map)) = table(&caller).term(env, i64::from_le_bytes(map)) else {
        return Ok(0);
    };
    let Ok(index) = usize::try_from(i32::from_le_bytes(index)) else {
        return Ok(0);
    };
    match map_size(env, map) {
        Some(size) if index < size => {}
        _ => return Ok(0),
    }
    let (key, value) = pair_at(table(&caller).map_cursor(), env, map, index);
    store_terms(&mut caller, &[(key_out, key), (value_out, value)])
}

/// The pair at `index` of `map` (which holds more than `index` pairs),
/// stepping the kept enif iterator from where it is, or starting one from
/// the nearer end of the map.
fn pair_at(
    cursor: &mut Option<MapCursor>,
    env: *mut ErlNifEnv,
    map: ErlNifTerm,
    index: usize,
) -> (ErlNifTerm, ErlNifTerm) {
    let size = map_size(env, map).expect("a map");
    let distance = |c: &MapCursor| c.index.abs_diff(index);
    let reuse =
        matches!(cursor, Some(c) if c.map == map && distance(c) <= index.min(size - 1 - index));
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
    (key, value)
}
