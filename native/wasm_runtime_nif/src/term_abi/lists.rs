//! Lists and tuples.

use std::ptr;

use rustler::sys::{self, ErlNifEnv, ErlNifTerm};
use wasmtime::Caller;

use super::{
    load_handles, new_term, operand, store_bytes, store_term, store_term_array, table, term_limit,
    yield_now, HostState, MAX_ARRAY_LEN,
};

pub fn get_list_cell(
    mut caller: Caller<'_, HostState>,
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
    super::store_terms(&mut caller, &[(head_out, head), (tail_out, tail)])
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
    caller: &mut Caller<'_, HostState>,
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
        for _ in 0..WALK_CHUNK {
            let (mut head, mut tail) = (ErlNifTerm::default(), ErlNifTerm::default());
            // SAFETY: env_ptr is the env of the slice running now, and
            // cursor a term of this call found in it.
            if unsafe { sys::enif_get_list_cell(env_ptr, cursor, &mut head, &mut tail) } == 0 {
                // SAFETY: as above.
                let proper = unsafe { sys::enif_is_empty_list(env_ptr, cursor) } != 0;
                return Ok(if proper {
                    Walked::Proper
                } else {
                    Walked::Improper
                });
            }
            if !visit(env_ptr, head, carried) {
                return Ok(Walked::Stopped);
            }
            cursor = tail;
        }
        let table = table(caller);
        table.charge(WALK_CHUNK as u64 * cell_bytes)?;
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
    mut caller: Caller<'_, HostState>,
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
    mut caller: Caller<'_, HostState>,
    (env, list, out): (i32, i64, i32),
) -> wasmtime::Result<i32> {
    let Some(env_ptr) = table(&caller).env(env) else {
        return Ok(0);
    };
    // SAFETY: env_ptr is the env of the slice running now.
    let mut acc = [unsafe { sys::enif_make_list_from_array(env_ptr, ptr::null(), 0) }];
    let walked = walk_list(&mut caller, env, list, &mut acc, 16, |env, head, acc| {
        // SAFETY: env is the env of the slice running now; head and acc
        // are terms of this call found in it.
        acc[0] = unsafe { sys::enif_make_list_cell(env, head, acc[0]) };
        true
    })
    .await?;
    if walked != Walked::Proper {
        return Ok(0);
    }
    store_term(&mut caller, out, acc[0])
}

pub fn make_list_cell(
    mut caller: Caller<'_, HostState>,
    env: i32,
    head: i64,
    tail: i64,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_list_cell";
    let (env_ptr, head) = operand(&caller, IMPORT, env, head)?;
    let (_, tail) = operand(&caller, IMPORT, env, tail)?;
    table(&caller).charge(16)?;
    // SAFETY: env, head and tail belong to the NIF call on this thread.
    let cell = unsafe { sys::enif_make_list_cell(env_ptr, head, tail) };
    new_term(&mut caller, cell)
}

pub fn make_list_from_array(
    mut caller: Caller<'_, HostState>,
    env: i32,
    array: i32,
    cnt: i32,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_list_from_array";
    let env = super::call_env(&caller, env)?;
    let cnt = cnt as u32;
    let terms = load_handles(&caller, array, cnt).map_err(|e| e.into_trap(IMPORT, array, cnt))?;
    table(&caller).charge(16 * cnt as u64)?;
    // SAFETY: env and the terms belong to the NIF call on this thread.
    let list = unsafe { sys::enif_make_list_from_array(env, terms.as_ptr(), cnt) };
    new_term(&mut caller, list)
}

pub fn make_tuple_from_array(
    mut caller: Caller<'_, HostState>,
    env: i32,
    array: i32,
    cnt: i32,
) -> wasmtime::Result<i64> {
    const IMPORT: &str = "enif_wasm_make_tuple_from_array";
    let env = super::call_env(&caller, env)?;
    let cnt = cnt as u32;
    let terms = load_handles(&caller, array, cnt).map_err(|e| e.into_trap(IMPORT, array, cnt))?;
    table(&caller).charge(8 * (cnt as u64 + 1))?;
    // SAFETY: env and the terms belong to the NIF call on this thread.
    let tuple = unsafe { sys::enif_make_tuple_from_array(env, terms.as_ptr(), cnt) };
    new_term(&mut caller, tuple)
}

/// Stores the arity, and the elements when they fit in `capacity`.
pub fn get_tuple(
    mut caller: Caller<'_, HostState>,
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
    if !store_bytes(&mut caller, arity_out, &arity.to_le_bytes()) {
        return Ok(0);
    }
    let arity = arity as u32;
    if arity > capacity as u32 || arity > MAX_ARRAY_LEN {
        return Ok(0);
    }
    let elements = if arity == 0 {
        Vec::new()
    } else {
        // SAFETY: enif_get_tuple points `elements` at `arity` terms of the
        // tuple, which lives on the caller's heap for the whole slice.
        unsafe { std::slice::from_raw_parts(elements, arity as usize) }.to_vec()
    };
    store_term_array(&mut caller, array, &elements)
}
