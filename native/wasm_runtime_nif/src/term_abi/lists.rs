//! Lists and tuples.

use std::ptr;

use rustler::sys::{self, ErlNifEnv, ErlNifTerm};
use wasmtime::Caller;

use super::{
    load_handles, new_term_flat, operand, store_bytes, store_results, store_term, store_term_array,
    table, term_limit, yield_now, StoreData, MAX_ARRAY_LEN,
};
use crate::term_table::flat::{self, Flat, MAX_FLAT};

pub fn get_list_cell(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    list: i64,
    head_out: i32,
    tail_out: i32,
) -> wasmtime::Result<i32> {
    let Some((env, list)) = table(&caller).term(env, list) else {
        return Ok(0);
    };
    let (mut head, mut tail) = (ErlNifTerm::default(), ErlNifTerm::default());
    // SAFETY: env and list belong to the NIF call running on this thread.
    if unsafe { sys::enif_get_list_cell(env, list, &mut head, &mut tail) } == 0 {
        return Ok(0);
    }
    store_results(
        &mut caller,
        [
            (head_out, head, Flat::UNKNOWN),
            (tail_out, tail, Flat::UNKNOWN),
        ],
    )
}

/// Cells walked between yields: about 0.1 ms.
const WALK_CHUNK: usize = 1 << 16;

/// How a list walk ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Walked {
    /// At `[]`.
    Proper,
    /// At a tail that is not a list (or the handle was not a list).
    Improper,
    /// The visitor asked to stop.
    Stopped,
}

/// Walks the list `list`, calling `visit` with each element and the terms of
/// `carried`, a chunk of cells at a time with a yield between chunks.
/// `carried` holds terms the visitor builds; they are kept in the call's
/// table across each yield, where the garbage collector moves them, as is
/// the walk's own position. Each cell costs `cell_bytes` of the heap budget.
pub async fn walk_list(
    caller: &mut Caller<'_, StoreData>,
    env: i32,
    list: i64,
    carried: &mut [ErlNifTerm],
    cell_bytes: u64,
    mut visit: impl FnMut(*mut ErlNifEnv, ErlNifTerm, &mut [ErlNifTerm]) -> bool,
) -> wasmtime::Result<Walked> {
    let Some((mut env_ptr, mut cursor)) = table(caller).term(env, list) else {
        return Ok(Walked::Improper);
    };
    // Handles of the cursor and the carried terms while the walk yields.
    let mut kept: Vec<i64> = Vec::new();
    loop {
        let mut ended = None;
        let mut cells = 0;
        while cells < WALK_CHUNK {
            let (mut head, mut tail) = (ErlNifTerm::default(), ErlNifTerm::default());
            // SAFETY: env_ptr is the env of the slice running now, and
            // cursor a term of this call found in it.
            if unsafe { sys::enif_get_list_cell(env_ptr, cursor, &mut head, &mut tail) } == 0 {
                // SAFETY: as above.
                let proper = unsafe { sys::enif_is_empty_list(env_ptr, cursor) } != 0;
                ended = Some(if proper {
                    Walked::Proper
                } else {
                    Walked::Improper
                });
                break;
            }
            if !visit(env_ptr, head, carried) {
                ended = Some(Walked::Stopped);
                break;
            }
            cursor = tail;
            cells += 1;
        }
        let table = table(caller);
        table.charge(cells as u64 * cell_bytes)?;
        if let Some(walked) = ended {
            return Ok(walked);
        }
        let live = std::iter::once(cursor).chain(carried.iter().copied());
        if kept.is_empty() {
            if table.room() < 1 + carried.len() {
                return Err(term_limit().into());
            }
            kept = live
                .map(|t| table.push(t).expect("room was checked"))
                .collect();
        } else {
            kept.iter().zip(live).for_each(|(&h, t)| table.set(h, t));
        }
        yield_now().await;
        let table = super::table(caller);
        let mut found = kept.iter().map(|&h| table.resolve(h));
        let (Some(env_now), Some(Some(super::Resolved::Term(c)))) = (table.env(env), found.next())
        else {
            return Ok(Walked::Improper);
        };
        env_ptr = env_now;
        cursor = c;
        for (slot, t) in carried.iter_mut().zip(found) {
            if let Some(super::Resolved::Term(t)) = t {
                *slot = t;
            }
        }
    }
}

pub async fn get_list_length(
    mut caller: Caller<'_, StoreData>,
    (env, list, out): (i32, i64, i32),
) -> wasmtime::Result<i32> {
    let mut length = 0u32;
    let walked = walk_list(&mut caller, env, list, &mut [], 0, |_, _, _| {
        length += 1;
        true
    })
    .await?;
    Ok((walked == Walked::Proper && store_bytes(&mut caller, out, &length.to_le_bytes())) as i32)
}

pub async fn make_reverse_list(
    mut caller: Caller<'_, StoreData>,
    (env, list, out): (i32, i64, i32),
) -> wasmtime::Result<i32> {
    let Some(env_ptr) = table(&caller).env(env) else {
        return Ok(0);
    };
    if table(&caller).term(env, list).is_none() {
        return Ok(0);
    }
    // The reversed list reaches the same terms as the list: its size is
    // summed cell by cell on the way, as the walk yields between chunks.
    let mut size = Flat::LEAF;
    // SAFETY: env_ptr is the env of the slice running now.
    let mut acc = [unsafe { sys::enif_make_list_from_array(env_ptr, ptr::null(), 0) }];
    let walked = walk_list(&mut caller, env, list, &mut acc, 16, |env, head, acc| {
        let left = Flat {
            nodes: MAX_FLAT.nodes.saturating_sub(size.nodes),
            bytes: MAX_FLAT.bytes.saturating_sub(size.bytes),
        };
        let Some(head_size) = flat::measure(env, head, left) else {
            return false;
        };
        size = size.plus(head_size).plus(Flat::LEAF);
        // SAFETY: env is the env of the slice running now; head and acc
        // are terms of this call found in it.
        acc[0] = unsafe { sys::enif_make_list_cell(env, head, acc[0]) };
        true
    })
    .await?;
    match walked {
        Walked::Proper => store_term(&mut caller, out, acc[0], size),
        Walked::Stopped => Err(flat::too_large("enif_wasm_make_reverse_list").into()),
        Walked::Improper => Ok(0),
    }
}

pub fn make_list_cell(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    head: i64,
    tail: i64,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_list_cell";
    let (env_ptr, head_term) = operand(&caller, IMPORT, env, head)?;
    let (_, tail_term) = operand(&caller, IMPORT, env, tail)?;
    let table = table(&caller);
    let size =
        flat::of_handles(table, env_ptr, &[head, tail]).ok_or_else(|| flat::too_large(IMPORT))?;
    table.charge(16)?;
    // SAFETY: env, head and tail belong to the NIF call on this thread.
    let cell = unsafe { sys::enif_make_list_cell(env_ptr, head_term, tail_term) };
    new_term_flat(&mut caller, cell, size)
}

/// Makes a list or tuple of an array of handles with `build`.
fn from_array(
    mut caller: Caller<'_, StoreData>,
    import: &str,
    (env, array, cnt): (i32, i32, i32),
    bytes_per_element: u64,
    build: impl FnOnce(*mut ErlNifEnv, &[ErlNifTerm]) -> ErlNifTerm,
) -> wasmtime::Result<i64> {
    let env = super::call_env(&caller, env)?;
    let cnt = cnt as u32;
    let (terms, size) =
        load_handles(&caller, env, array, cnt).map_err(|e| e.into_trap(import, array, cnt))?;
    table(&caller).charge(bytes_per_element * (cnt as u64 + 1))?;
    let term = build(env, &terms);
    new_term_flat(&mut caller, term, size)
}

// SAFETY (for the enif calls below): env and the terms belong to the NIF
// call on this thread, as `from_array` checked.

pub fn make_list_from_array(
    caller: Caller<'_, StoreData>,
    env: i32,
    array: i32,
    cnt: i32,
) -> wasmtime::Result<i64> {
    from_array(
        caller,
        "enif_wasm_make_list_from_array",
        (env, array, cnt),
        16,
        |env, terms| unsafe {
            sys::enif_make_list_from_array(env, terms.as_ptr(), terms.len() as u32)
        },
    )
}

pub fn make_tuple_from_array(
    caller: Caller<'_, StoreData>,
    env: i32,
    array: i32,
    cnt: i32,
) -> wasmtime::Result<i64> {
    from_array(
        caller,
        "enif_wasm_make_tuple_from_array",
        (env, array, cnt),
        8,
        |env, terms| unsafe {
            sys::enif_make_tuple_from_array(env, terms.as_ptr(), terms.len() as u32)
        },
    )
}

/// Stores the arity, and the elements when they fit in `capacity`.
pub fn get_tuple(
    mut caller: Caller<'_, StoreData>,
    env: i32,
    term: i64,
    arity_out: i32,
    array: i32,
    capacity: i32,
) -> wasmtime::Result<i32> {
    let Some((env, tuple)) = table(&caller).term(env, term) else {
        return Ok(0);
    };
    let mut arity = 0;
    let mut elements: *const ErlNifTerm = ptr::null();
    // SAFETY: env and tuple belong to the NIF call on this thread.
    if unsafe { sys::enif_get_tuple(env, tuple, &mut arity, &mut elements) } == 0 {
        return Ok(0);
    }
    let declared = super::memory_range(&caller, array, capacity as u32 as u64 * 8);
    if super::memory_range(&caller, arity_out, 4).is_none() || declared.is_none() {
        return Ok(0);
    }
    let count = arity as u32;
    if count > capacity as u32 || count > MAX_ARRAY_LEN {
        store_bytes(&mut caller, arity_out, &arity.to_le_bytes());
        return Ok(0);
    }
    let elements = if count == 0 {
        Vec::new()
    } else {
        // SAFETY: enif_get_tuple points `elements` at `arity` terms of the
        // tuple, which lives on the caller's heap for the whole slice.
        unsafe { std::slice::from_raw_parts(elements, count as usize) }.to_vec()
    };
    if store_term_array(&mut caller, array, &elements)? == 0 {
        return Ok(0);
    }
    Ok(store_bytes(&mut caller, arity_out, &arity.to_le_bytes()) as i32)
}
