//! [`Atom`]: an atom's name, held by value.

use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};

use crate::{sys, Decoder, Encoder, Env, Error, NifResult, Term};

/// Longest atom name, in characters.
const MAX_LEN: usize = 255;

/// An atom, held as its Latin-1 name (at most 255 characters, no heap).
///
/// Term handles live only as long as their call; an `Atom` is a plain value
/// that can be a `const` and is made into a term when encoded:
///
/// ```
/// use erl_nif_wasm::Atom;
/// const OK: Atom = Atom::new("ok");
/// assert_eq!(OK, "ok");
/// ```
///
/// Only atoms whose characters are all below 256 can be read or made by
/// name: the term ABI works in Latin-1 (see `include/erl_nif_wasm.h`).
#[derive(Clone, Copy)]
pub struct Atom {
    len: u8,
    name: [u8; MAX_LEN],
}

impl Atom {
    /// The atom named `name`.
    ///
    /// # Panics
    /// If `name` has more than 255 characters or a character above U+00FF.
    pub const fn new(name: &str) -> Atom {
        match Atom::try_new(name) {
            Some(atom) => atom,
            None => panic!("not an atom name: over 255 characters or not Latin-1"),
        }
    }

    /// The atom named `name`, or `None` if it has more than 255 characters
    /// or a character above U+00FF.
    pub const fn try_new(name: &str) -> Option<Atom> {
        let utf8 = name.as_bytes();
        let mut atom = Atom {
            len: 0,
            name: [0; MAX_LEN],
        };
        let mut i = 0;
        while i < utf8.len() {
            // U+0000..U+007F is one UTF-8 byte, U+0080..U+00FF two
            // starting with 0xC2 or 0xC3; anything else is out of range.
            let byte = utf8[i];
            let latin1 = if byte < 0x80 {
                i += 1;
                byte
            } else if byte == 0xC2 || byte == 0xC3 {
                i += 2;
                ((byte & 0x03) << 6) | (utf8[i - 1] & 0x3F)
            } else {
                return None;
            };
            if atom.len as usize == MAX_LEN {
                return None;
            }
            atom.name[atom.len as usize] = latin1;
            atom.len += 1;
        }
        Some(atom)
    }

    /// The atom whose Latin-1 name is `latin1`, or `None` if it is longer
    /// than 255 bytes.
    pub fn from_latin1(latin1: &[u8]) -> Option<Atom> {
        let mut atom = Atom {
            len: 0,
            name: [0; MAX_LEN],
        };
        atom.name.get_mut(..latin1.len())?.copy_from_slice(latin1);
        atom.len = latin1.len() as u8;
        Some(atom)
    }

    /// The name in Latin-1, one byte per character.
    pub fn as_latin1(&self) -> &[u8] {
        &self.name[..self.len as usize]
    }

    /// The name, if it is all ASCII (then Latin-1 and UTF-8 agree).
    pub fn as_str(&self) -> Option<&str> {
        let name = self.as_latin1();
        if name.is_ascii() {
            core::str::from_utf8(name).ok()
        } else {
            None
        }
    }

    /// The characters of the name.
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.as_latin1().iter().map(|&b| char::from(b))
    }

    /// The atom as a term of `env`'s call.
    pub fn to_term<'a>(&self, env: Env<'a>) -> Term<'a> {
        let name = self.as_latin1();
        // SAFETY: the name is readable.
        let raw =
            unsafe { sys::enif_wasm_make_atom_len(env.as_raw(), name.as_ptr(), name.len() as u32) };
        Term::from_raw(env, raw)
    }

    /// The atom `term` is, or `BadArg`.
    pub fn from_term(term: Term<'_>) -> NifResult<Atom> {
        // The name and its NUL.
        let mut buf = [0u8; MAX_LEN + 1];
        // SAFETY: `buf` is writable for its length.
        let written = unsafe {
            sys::enif_wasm_get_atom(
                term.env().as_raw(),
                term.as_raw(),
                buf.as_mut_ptr(),
                buf.len() as u32,
                sys::ERL_NIF_LATIN1,
            )
        };
        match written {
            1.. => Atom::from_latin1(&buf[..written as usize - 1]).ok_or(Error::BadArg),
            _ => Err(Error::BadArg),
        }
    }
}

/// True if `term` is the atom whose (short, ASCII) name is `name`.
pub(crate) fn is_atom_named(term: Term<'_>, name: &str) -> bool {
    let mut buf = [0u8; 16];
    let size = name.len() + 1;
    if size > buf.len() {
        return Atom::from_term(term).is_ok_and(|atom| atom == name);
    }
    // SAFETY: `buf` is writable for `size` bytes.
    let written = unsafe {
        sys::enif_wasm_get_atom(
            term.env().as_raw(),
            term.as_raw(),
            buf.as_mut_ptr(),
            size as u32,
            sys::ERL_NIF_LATIN1,
        )
    };
    written as usize == size && &buf[..name.len()] == name.as_bytes()
}

impl Encoder for Atom {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        self.to_term(env)
    }
}

impl<'a> Decoder<'a> for Atom {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        Atom::from_term(term)
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Atom) -> bool {
        self.as_latin1() == other.as_latin1()
    }
}

impl Eq for Atom {}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        self.chars().eq(other.chars())
    }
}

impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

/// Ordered as Erlang orders atoms: by characters.
impl Ord for Atom {
    fn cmp(&self, other: &Atom) -> Ordering {
        self.as_latin1().cmp(other.as_latin1())
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Atom) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_latin1().hash(state);
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chars().try_for_each(|c| fmt::Write::write_char(f, c))
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::Atom;

    #[test]
    fn names_convert_between_utf8_and_latin1() {
        let atom = Atom::new("été");
        assert_eq!(atom.as_latin1(), &[0xE9, b't', 0xE9]);
        assert_eq!(atom, "été");
        assert_eq!(atom.as_str(), None);
        assert_eq!(Atom::new("ok").as_str(), Some("ok"));
        assert_eq!(Atom::from_latin1(&[0xFF]), Some(Atom::new("ÿ")));
        assert_eq!(Atom::new("").as_latin1(), b"");
    }

    #[test]
    fn names_outside_latin1_or_too_long_are_refused() {
        assert!(Atom::try_new("α").is_none());
        assert!(Atom::try_new("😀").is_none());
        assert!(Atom::try_new(&"a".repeat(255)).is_some());
        assert!(Atom::try_new(&"a".repeat(256)).is_none());
        assert!(Atom::try_new(&"é".repeat(255)).is_some());
        assert!(Atom::from_latin1(&[b'a'; 256]).is_none());
    }

    #[test]
    fn atoms_order_and_print_by_name() {
        assert!(Atom::new("a") < Atom::new("b"));
        assert!(Atom::new("ab") > Atom::new("a"));
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", Atom::new("ça")), "ça");
        assert_eq!(format!("{:?}", Atom::new("ok")), "Atom(ok)");
    }
}
