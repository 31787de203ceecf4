//! Maps: [`MapIterator`], map methods of [`Term`], and `BTreeMap` as a map.

#[cfg(feature = "alloc")]
use alloc::{collections::BTreeMap, vec::Vec};

use crate::term::written;
use crate::{sys, Decoder, Encoder, Env, Error, NifResult, Term};

/// Walks the pairs of a map, in the order of erl_nif's map iterators, from
/// either end. Reading a pair is one host call; nothing is allocated.
#[derive(Clone, Copy, Debug)]
pub struct MapIterator<'a> {
    env: Env<'a>,
    // `iter.index` is the next pair from the front, `back` one past the
    // next pair from the back.
    iter: sys::ErlNifMapIterator,
    back: i32,
}

impl<'a> MapIterator<'a> {
    /// An iterator over `map`, or `None` if it is not a map.
    pub fn new(map: Term<'a>) -> Option<MapIterator<'a>> {
        let (env, first) = (map.env(), sys::ERL_NIF_MAP_ITERATOR_FIRST);
        // SAFETY: `written` passes a pointer to an iterator.
        let iter = written(|iter| unsafe {
            sys::enif_wasm_map_iterator_create(env.as_raw(), map.as_raw(), iter, first)
        });
        let iter = iter.ok()?;
        Some(MapIterator {
            env,
            iter,
            back: iter.size,
        })
    }

    fn pair_at(&self, index: i32) -> Option<(Term<'a>, Term<'a>)> {
        let at = sys::ErlNifMapIterator { index, ..self.iter };
        let (mut key, mut value) = (0, 0);
        // SAFETY: `at` is readable, `key` and `value` writable.
        if unsafe {
            sys::enif_wasm_map_iterator_get_pair(self.env.as_raw(), &at, &mut key, &mut value)
        } == 0
        {
            return None;
        }
        Some((
            Term::from_raw(self.env, key),
            Term::from_raw(self.env, value),
        ))
    }
}

impl<'a> Iterator for MapIterator<'a> {
    type Item = (Term<'a>, Term<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.iter.index >= self.back {
            return None;
        }
        let pair = self.pair_at(self.iter.index)?;
        self.iter.index += 1;
        Some(pair)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.back - self.iter.index).max(0) as usize;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for MapIterator<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.iter.index >= self.back {
            return None;
        }
        let pair = self.pair_at(self.back - 1)?;
        self.back -= 1;
        Some(pair)
    }
}

impl ExactSizeIterator for MapIterator<'_> {}

impl<'a> Decoder<'a> for MapIterator<'a> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        MapIterator::new(term).ok_or(Error::BadArg)
    }
}

impl<'a> Term<'a> {
    /// An iterator over the map's pairs, or `BadArg` if this is not a map.
    pub fn map_iter(self) -> NifResult<MapIterator<'a>> {
        MapIterator::decode(self)
    }

    /// `map_size/1`, or `BadArg`.
    pub fn map_size(self) -> NifResult<usize> {
        let (env, map) = (self.env().as_raw(), self.as_raw());
        // SAFETY: `written` passes a pointer to a u32.
        let size: u32 = written(|size| unsafe { sys::enif_wasm_get_map_size(env, map, size) })?;
        Ok(size as usize)
    }

    /// The value at `key` (`maps:get/2`); `BadArg` if this is not a map or
    /// has no such key.
    pub fn map_get(self, key: impl Encoder) -> NifResult<Term<'a>> {
        let (env, map, key) = (
            self.env().as_raw(),
            self.as_raw(),
            key.encode(self.env()).as_raw(),
        );
        // SAFETY: `written` passes a pointer to a handle.
        let value = written(|value| unsafe { sys::enif_wasm_get_map_value(env, map, key, value) })?;
        Ok(Term::from_raw(self.env(), value))
    }

    /// The map with `key => value` (`maps:put/3`), or `BadArg`.
    pub fn map_put(self, key: impl Encoder, value: impl Encoder) -> NifResult<Term<'a>> {
        let (env, map) = (self.env().as_raw(), self.as_raw());
        let (key, value) = (
            key.encode(self.env()).as_raw(),
            value.encode(self.env()).as_raw(),
        );
        // SAFETY: `written` passes a pointer to a handle.
        let out = written(|out| unsafe { sys::enif_wasm_make_map_put(env, map, key, value, out) })?;
        Ok(Term::from_raw(self.env(), out))
    }

    /// The map with `key := value` (`maps:update/3`); `BadArg` if this is not
    /// a map holding `key`.
    pub fn map_update(self, key: impl Encoder, value: impl Encoder) -> NifResult<Term<'a>> {
        let (env, map) = (self.env().as_raw(), self.as_raw());
        let (key, value) = (
            key.encode(self.env()).as_raw(),
            value.encode(self.env()).as_raw(),
        );
        // SAFETY: `written` passes a pointer to a handle.
        let out =
            written(|out| unsafe { sys::enif_wasm_make_map_update(env, map, key, value, out) })?;
        Ok(Term::from_raw(self.env(), out))
    }

    /// The map without `key` (`maps:remove/2`), or `BadArg`.
    pub fn map_remove(self, key: impl Encoder) -> NifResult<Term<'a>> {
        let (env, map, key) = (
            self.env().as_raw(),
            self.as_raw(),
            key.encode(self.env()).as_raw(),
        );
        // SAFETY: `written` passes a pointer to a handle.
        let out = written(|out| unsafe { sys::enif_wasm_make_map_remove(env, map, key, out) })?;
        Ok(Term::from_raw(self.env(), out))
    }
}

/// The map of `keys[i] => values[i]` (same lengths); `BadArg` on a repeated
/// key. The host takes at most `MAX_MAP_PAIRS` pairs per call: the rest
/// are put one at a time.
pub(crate) fn make_map_raw<'a>(
    env: Env<'a>,
    keys: &[sys::ErlNifTerm],
    values: &[sys::ErlNifTerm],
) -> NifResult<Term<'a>> {
    let first = keys.len().min(sys::MAX_MAP_PAIRS);
    let mut map = 0;
    // SAFETY: both arrays are readable for `first` handles, `map` writable.
    let made = unsafe {
        sys::enif_wasm_make_map_from_arrays(
            env.as_raw(),
            keys.as_ptr(),
            values.as_ptr(),
            first as u32,
            &mut map,
        )
    };
    if made == 0 {
        return Err(Error::BadArg);
    }
    let mut map = Term::from_raw(env, map);
    for (&key, &value) in keys[first..].iter().zip(&values[first..]) {
        let (key, value) = (Term::from_raw(env, key), Term::from_raw(env, value));
        if map.map_get(key).is_ok() {
            return Err(Error::BadArg);
        }
        map = map.map_put(key, value)?;
    }
    Ok(map)
}

/// A map of the encoded pairs.
#[cfg(feature = "alloc")]
impl<K: Encoder, V: Encoder> Encoder for BTreeMap<K, V> {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        let keys: Vec<_> = self.keys().map(|k| k.encode(env).as_raw()).collect();
        let values: Vec<_> = self.values().map(|v| v.encode(env).as_raw()).collect();
        // Distinct Rust keys may encode to the same term (an `Ord` that is not
        // Erlang's): then the later pairs win, as with maps:from_list/1.
        make_map_raw(env, &keys, &values).unwrap_or_else(|_| {
            keys.iter()
                .zip(&values)
                .fold(env.new_map(), |map, (&k, &v)| {
                    let put = map.map_put(Term::from_raw(env, k), Term::from_raw(env, v));
                    put.expect("a map")
                })
        })
    }
}

/// From a map whose every key and value decode, else `BadArg`.
#[cfg(feature = "alloc")]
impl<'a, K: Decoder<'a> + Ord, V: Decoder<'a>> Decoder<'a> for BTreeMap<K, V> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        term.map_iter()?
            .map(|(k, v)| Ok((k.decode()?, v.decode()?)))
            .collect()
    }
}
