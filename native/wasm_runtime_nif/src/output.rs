//! What a guest prints with `enif_printf_*`: kept in the store, bounded per
//! call, and handed to the calling process, which writes it to its group
//! leader (`io:request/2`) between slices. No scheduler ever writes to a
//! file descriptor for a guest, so a stdout that nobody drains blocks the
//! caller in `receive`, as `io:format/2` would, and never the VM.

use std::time::Duration;

use rustler::{Encoder, Env, OwnedBinary};

use crate::protocol::{Answer, Request};

/// Bytes one call (or one start function) may print: a debug aid, not a
/// data channel. Past it, `enif_printf_*` returns -1 and prints nothing
/// more; a note says the output was cut.
pub const MAX_OUTPUT_PER_CALL: usize = 1 << 20;

const CUT_NOTE: &[u8] = b"\n[wasm_runtime_nif: the rest of this call's output was cut at 1 MiB]\n";

#[derive(Default)]
pub struct Output {
    /// Printed and not yet handed over.
    pending: Vec<u8>,
    /// Printed by the current call, handed over or not.
    printed: usize,
    cut: bool,
}

impl Output {
    /// A new call: its allowance is whole again.
    pub fn begin(&mut self) {
        self.printed = 0;
        self.cut = false;
    }

    /// How many more bytes the current call may print.
    pub fn room(&self) -> usize {
        MAX_OUTPUT_PER_CALL.saturating_sub(self.printed)
    }

    /// Keeps `text` up to the room left; `cut` says more was asked for.
    /// Once cut, the call prints nothing more but a note, and no UTF-8
    /// character is left unfinished before it.
    pub fn print(&mut self, text: &[u8], cut: bool) {
        let end = text.len().min(self.room());
        let cut = cut || end < text.len();
        let kept = &text[..end];
        let kept = match cut {
            true => &kept[..kept.len() - unfinished_character(kept)],
            false => kept,
        };
        self.pending.extend_from_slice(kept);
        self.printed += kept.len();
        if cut && !self.cut {
            let unfinished = unfinished_character(&self.pending);
            self.pending.truncate(self.pending.len() - unfinished);
            self.pending.extend_from_slice(CUT_NOTE);
            self.cut = true;
            self.printed = MAX_OUTPUT_PER_CALL;
        }
    }

    /// What is to be handed over, if anything. Unless this is the `last`
    /// of the call's output, a UTF-8 character begun but not finished stays
    /// for the next time, so that no character is split between two writes.
    pub fn take(&mut self, last: bool) -> Option<Vec<u8>> {
        let keep = if last {
            0
        } else {
            unfinished_character(&self.pending)
        };
        if self.pending.len() == keep {
            return None;
        }
        let rest = self.pending.split_off(self.pending.len() - keep);
        Some(std::mem::replace(&mut self.pending, rest))
    }
}

/// How many bytes at the end of `bytes` begin a UTF-8 character that is
/// not complete yet.
fn unfinished_character(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xc0 == 0x80 {
            continue;
        }
        let needs = match byte {
            0xf0..=0xf7 => 4,
            0xe0..=0xef => 3,
            0xc0..=0xdf => 2,
            _ => 1,
        };
        return if needs > back { back } else { 0 };
    }
    0
}

/// A request to write `output` first, then to do what `then` says, with
/// `left` of the call's timeout to bound the wait for the group leader
/// (`None`: no bound); `then` as it is when nothing was printed.
pub fn deliver<'a>(
    env: Env<'a>,
    output: Option<Vec<u8>>,
    left: Option<Duration>,
    then: Answer<'a>,
) -> Answer<'a> {
    let Some(bytes) = output else {
        return then;
    };
    let mut binary = OwnedBinary::new(bytes.len());
    binary.as_mut_slice().copy_from_slice(&bytes);
    Answer::Ask(Request::Output {
        bytes: binary.release(env).encode(env),
        left,
        then: Box::new(then),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_prints_at_most_its_allowance() {
        let mut output = Output::default();
        output.begin();
        output.print(b"hello", false);
        assert_eq!(output.take(false).as_deref(), Some(&b"hello"[..]));
        assert_eq!(output.take(false), None);
        let big = vec![b'x'; MAX_OUTPUT_PER_CALL];
        output.print(&big, true);
        let taken = output.take(false).unwrap();
        assert_eq!(taken.len(), MAX_OUTPUT_PER_CALL - 5 + CUT_NOTE.len());
        assert!(taken.ends_with(CUT_NOTE));
        assert_eq!(output.room(), 0);
        output.print(b"more", true);
        assert_eq!(
            output.take(false),
            None,
            "nothing past the allowance, one note"
        );
        output.begin();
        output.print(b"next call", false);
        assert_eq!(output.take(false).as_deref(), Some(&b"next call"[..]));
    }

    #[test]
    fn characters_are_never_split() {
        let mut output = Output::default();
        output.begin();
        // "ab" and the first two bytes of a three-byte character.
        output.print(b"ab\xe2\x9c", false);
        assert_eq!(output.take(false).as_deref(), Some(&b"ab"[..]));
        output.print(b"\x93!", false);
        assert_eq!(output.take(false).as_deref(), Some("\u{2713}!".as_bytes()));
        // At the end of the call whatever is left goes, finished or not.
        output.print(b"\xe2", false);
        assert_eq!(output.take(false), None);
        assert_eq!(output.take(true).as_deref(), Some(&b"\xe2"[..]));
        // Bytes that are not UTF-8 are not held back.
        output.print(b"\xff\x80", false);
        assert_eq!(output.take(false).as_deref(), Some(&b"\xff\x80"[..]));
        // The allowance ends before a character that would not fit whole,
        // as printf's formatter cuts it (to the room left), and nothing
        // follows the note.
        output.begin();
        let almost = vec![b'x'; MAX_OUTPUT_PER_CALL - 1];
        output.print(&almost, false);
        let (text, cut) = crate::printf::format(
            "\u{2713}".as_bytes(),
            crate::printf::Arg::Int(0),
            |_| None,
            output.room(),
        );
        output.print(&text, cut);
        output.print(b"more", false);
        let taken = output.take(true).unwrap();
        assert!(taken.starts_with(&almost) && taken.ends_with(CUT_NOTE));
        assert_eq!(taken.len(), almost.len() + CUT_NOTE.len());
        assert!(std::str::from_utf8(&taken).is_ok());
        // A character held back when the cut comes is dropped too.
        output.begin();
        output.print(&almost[1..], false);
        output.print(b"\xe2", false);
        output.print(b"\x9c\x93", true);
        let taken = output.take(true).unwrap();
        assert!(std::str::from_utf8(&taken).is_ok());
        assert!(taken.ends_with(CUT_NOTE));
    }
}
