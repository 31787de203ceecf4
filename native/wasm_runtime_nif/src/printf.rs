//! C `printf` formatting of one argument, for the `enif_printf_*` debug imports.
//!
//! The guest hands us a format string in its memory and exactly one value, so
//! every conversion in the format formats that value: integer conversions of a
//! double truncate it, float conversions of an integer convert it, and `%s`
//! reads a NUL-terminated string from guest memory at the integer's address.

/// The one value a `enif_printf_*` call passes.
#[derive(Debug, Clone, Copy)]
pub enum Arg {
    Int(i64),
    Float(f64),
}

impl Arg {
    fn as_int(self) -> i64 {
        match self {
            Arg::Int(i) => i,
            Arg::Float(f) => f as i64,
        }
    }

    fn as_float(self) -> f64 {
        match self {
            Arg::Int(i) => i as f64,
            Arg::Float(f) => f,
        }
    }
}

/// The NUL-terminated string at `ptr` in `mem`, at most `max` bytes long.
pub fn c_string(mem: &[u8], ptr: i32, max: usize) -> Option<&[u8]> {
    let start = ptr as u32 as usize;
    let rest = mem.get(start..)?;
    let rest = &rest[..rest.len().min(max)];
    let len = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..len])
}

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    /// Bits of the integer length modifier: 8 (hh), 16 (h), 32 (none) or 64.
    int_bits: u32,
}

/// Formats `format` with `arg`, at most `limit` bytes of it; `string_at`
/// reads guest strings for `%s`. The flag says output was cut: formatting
/// stops at the limit, so a format that asks for more costs no more.
pub fn format<'m>(
    format: &[u8],
    arg: Arg,
    string_at: impl Fn(i32) -> Option<&'m [u8]>,
    limit: usize,
) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(format.len().min(limit) + 16);
    let mut i = 0;
    while i < format.len() && out.len() < limit {
        let c = format[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let start = i - 1;
        let mut spec = Spec {
            int_bits: 32,
            ..Spec::default()
        };
        while let Some(&f) = format.get(i) {
            match f {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        spec.width = digits(format, &mut i);
        if format.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(digits(format, &mut i));
        }
        while let Some(&m) = format.get(i) {
            match m {
                b'h' => spec.int_bits = if spec.int_bits == 16 { 8 } else { 16 },
                b'l' | b'j' | b'z' | b't' | b'q' | b'L' => spec.int_bits = 64,
                _ => break,
            }
            i += 1;
        }
        let Some(&conv) = format.get(i) else {
            out.extend_from_slice(&format[start..]);
            break;
        };
        i += 1;
        match conv {
            b'%' => out.push(b'%'),
            b'd' | b'i' => signed(&mut out, &spec, arg.as_int()),
            b'u' | b'x' | b'X' | b'o' => unsigned(&mut out, &spec, conv, arg.as_int()),
            b'c' => pad(&mut out, &spec, &[arg.as_int() as u8], false),
            b'p' => {
                let digits = format!("0x{:x}", arg.as_int() as u32);
                pad(&mut out, &spec, digits.as_bytes(), false)
            }
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => float(&mut out, &spec, conv, arg.as_float()),
            b's' => {
                let s = string_at(arg.as_int() as i32).unwrap_or(b"(bad pointer)");
                let s = match spec.precision {
                    Some(p) if p < s.len() => &s[..p],
                    _ => s,
                };
                pad(&mut out, &spec, s, false)
            }
            _ => out.extend_from_slice(&format[start..i]),
        }
    }
    let cut = out.len() > limit || i < format.len();
    out.truncate(limit);
    (out, cut)
}

fn digits(format: &[u8], i: &mut usize) -> usize {
    let mut n: usize = 0;
    while let Some(d) = format.get(*i).filter(|d| d.is_ascii_digit()) {
        n = n
            .saturating_mul(10)
            .saturating_add((d - b'0') as usize)
            .min(1 << 16);
        *i += 1;
    }
    n
}

/// Appends `body` padded to the spec's width; `numeric` allows zero padding
/// after the sign or `0x` prefix.
fn pad(out: &mut Vec<u8>, spec: &Spec, body: &[u8], numeric: bool) {
    let fill = spec.width.saturating_sub(body.len());
    if spec.left {
        out.extend_from_slice(body);
        out.resize(out.len() + fill, b' ');
    } else if spec.zero && numeric {
        let prefix = sign_prefix_len(body);
        out.extend_from_slice(&body[..prefix]);
        out.resize(out.len() + fill, b'0');
        out.extend_from_slice(&body[prefix..]);
    } else {
        out.resize(out.len() + fill, b' ');
        out.extend_from_slice(body);
    }
}

fn sign_prefix_len(body: &[u8]) -> usize {
    let sign = usize::from(matches!(body.first(), Some(b'-' | b'+' | b' ')));
    match body.get(sign..sign + 2) {
        Some(b"0x" | b"0X") => sign + 2,
        _ => sign,
    }
}

fn truncate_signed(value: i64, bits: u32) -> i64 {
    match bits {
        8 => value as i8 as i64,
        16 => value as i16 as i64,
        32 => value as i32 as i64,
        _ => value,
    }
}

fn truncate_unsigned(value: i64, bits: u32) -> u64 {
    match bits {
        8 => value as u8 as u64,
        16 => value as u16 as u64,
        32 => value as u32 as u64,
        _ => value as u64,
    }
}

fn with_precision(digits: String, precision: Option<usize>) -> String {
    match precision {
        Some(0) if digits == "0" => String::new(),
        Some(p) if p > digits.len() => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    }
}

fn signed(out: &mut Vec<u8>, spec: &Spec, value: i64) {
    let value = truncate_signed(value, spec.int_bits);
    let digits = with_precision(value.unsigned_abs().to_string(), spec.precision);
    let sign = if value < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    pad(
        out,
        spec,
        format!("{sign}{digits}").as_bytes(),
        spec.precision.is_none(),
    )
}

fn unsigned(out: &mut Vec<u8>, spec: &Spec, conv: u8, value: i64) {
    let value = truncate_unsigned(value, spec.int_bits);
    let digits = match conv {
        b'x' => format!("{value:x}"),
        b'X' => format!("{value:X}"),
        b'o' => format!("{value:o}"),
        _ => value.to_string(),
    };
    let mut digits = with_precision(digits, spec.precision);
    if spec.alt && value != 0 {
        match conv {
            b'x' => digits.insert_str(0, "0x"),
            b'X' => digits.insert_str(0, "0X"),
            b'o' if !digits.starts_with('0') => digits.insert(0, '0'),
            _ => {}
        }
    }
    pad(out, spec, digits.as_bytes(), spec.precision.is_none())
}

/// `d.ddde±XX` as C prints it, from Rust's `d.ddde±X`.
fn exponential(value: f64, precision: usize, alt: bool) -> String {
    let rust = format!("{value:.precision$e}");
    let (mantissa, exp) = rust.split_once('e').unwrap_or((&rust, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let dot = if alt && precision == 0 { "." } else { "" };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}{dot}e{sign}{:02}", exp.unsigned_abs())
}

fn strip_fraction_zeros(s: &mut String) {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

fn general(value: f64, precision: usize, alt: bool) -> String {
    let p = precision.max(1);
    let e = exponential(value, p - 1, alt);
    let exp: i32 = e
        .rsplit_once('e')
        .and_then(|(_, x)| x.parse().ok())
        .unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let (mantissa, exp) = e.split_once('e').unwrap_or((&e, ""));
        let mut mantissa = mantissa.to_string();
        if !alt {
            strip_fraction_zeros(&mut mantissa);
        }
        format!("{mantissa}e{exp}")
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let mut fixed = format!("{value:.decimals$}");
        if !alt {
            strip_fraction_zeros(&mut fixed);
        } else if !fixed.contains('.') {
            fixed.push('.');
        }
        fixed
    }
}

fn float(out: &mut Vec<u8>, spec: &Spec, conv: u8, value: f64) {
    let precision = spec.precision.unwrap_or(6);
    let upper = conv.is_ascii_uppercase();
    let magnitude = value.abs();
    let body = if magnitude.is_nan() {
        "nan".to_string()
    } else if magnitude.is_infinite() {
        "inf".to_string()
    } else {
        match conv.to_ascii_lowercase() {
            b'f' => {
                let mut s = format!("{magnitude:.precision$}");
                if spec.alt && precision == 0 {
                    s.push('.');
                }
                s
            }
            b'e' => exponential(magnitude, precision, spec.alt),
            _ => general(magnitude, precision, spec.alt),
        }
    };
    let body = if upper {
        body.to_ascii_uppercase()
    } else {
        body
    };
    let sign = if value.is_sign_negative() && !value.is_nan() {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let numeric = value.is_finite();
    pad(out, spec, format!("{sign}{body}").as_bytes(), numeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, arg: Arg) -> String {
        let (text, cut) = format(f.as_bytes(), arg, |_| Some(&b"str"[..]), usize::MAX);
        assert!(!cut);
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn integers() {
        assert_eq!(fmt("x=%d\n", Arg::Int(-42)), "x=-42\n");
        assert_eq!(fmt("%5d|%-5d|%05d", Arg::Int(42)), "   42|42   |00042");
        assert_eq!(fmt("%+d % d", Arg::Int(7)), "+7  7");
        assert_eq!(fmt("%.3d", Arg::Int(7)), "007");
        assert_eq!(fmt("%u", Arg::Int(-1)), "4294967295");
        assert_eq!(fmt("%lu", Arg::Int(-1)), "18446744073709551615");
        assert_eq!(fmt("%lld", Arg::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(fmt("%d", Arg::Int(1 << 32)), "0", "%d is an int");
        assert_eq!(fmt("%hhd", Arg::Int(255)), "-1");
        assert_eq!(
            fmt("%x %X %#x %o %#o", Arg::Int(255)),
            "ff FF 0xff 377 0377"
        );
        assert_eq!(fmt("%#010x", Arg::Int(255)), "0x000000ff");
        assert_eq!(fmt("%c", Arg::Int(65)), "A");
        assert_eq!(fmt("%d", Arg::Float(3.9)), "3");
    }

    #[test]
    fn floats() {
        assert_eq!(fmt("%f", Arg::Float(3.5)), "3.500000");
        assert_eq!(
            fmt("%.2f|%8.3f|%-8.1f|%08.2f", Arg::Float(-1.005)),
            "-1.00|  -1.005|-1.0    |-0001.00"
        );
        assert_eq!(fmt("%e", Arg::Float(12345.678)), "1.234568e+04");
        assert_eq!(fmt("%E", Arg::Float(0.00012)), "1.200000E-04");
        assert_eq!(fmt("%g", Arg::Float(100000.0)), "100000");
        assert_eq!(fmt("%g", Arg::Float(1000000.0)), "1e+06");
        assert_eq!(fmt("%g", Arg::Float(0.0001)), "0.0001");
        assert_eq!(fmt("%g", Arg::Float(0.00001234)), "1.234e-05");
        assert_eq!(fmt("%g", Arg::Float(1.23456)), "1.23456");
        assert_eq!(fmt("%.3g", Arg::Float(1.23456)), "1.23");
        assert_eq!(fmt("%f %f %f", Arg::Float(f64::NAN)), "nan nan nan");
        assert_eq!(fmt("%F", Arg::Float(f64::NEG_INFINITY)), "-INF");
        assert_eq!(fmt("%f", Arg::Int(2)), "2.000000");
    }

    #[test]
    fn strings_and_odd_formats() {
        assert_eq!(fmt("<%s>", Arg::Int(0)), "<str>");
        assert_eq!(fmt("<%.2s|%5s>", Arg::Int(0)), "<st|  str>");
        assert_eq!(fmt("100%%", Arg::Int(0)), "100%");
        assert_eq!(fmt("%y", Arg::Int(0)), "%y");
        assert_eq!(fmt("end %", Arg::Int(0)), "end %");
        assert_eq!(fmt("%99999999999d", Arg::Int(1)).len(), 1 << 16);
        let (bad, _) = format(b"%s", Arg::Int(9), |_| None, 100);
        assert_eq!(bad, b"(bad pointer)");
    }

    #[test]
    fn formatting_stops_at_the_limit() {
        let wide = "%65536d".repeat(600);
        let (text, cut) = format(wide.as_bytes(), Arg::Int(1), |_| None, 100_000);
        assert_eq!(text.len(), 100_000);
        assert!(cut);
        let (text, cut) = format(b"exactly", Arg::Int(1), |_| None, 7);
        assert_eq!((&text[..], cut), (&b"exactly"[..], false));
        let (text, cut) = format(b"%d%d", Arg::Int(1), |_| None, 1);
        assert_eq!((&text[..], cut), (&b"1"[..], true));
    }

    #[test]
    fn c_strings_stay_in_bounds() {
        let mem = b"abc\0def";
        assert_eq!(c_string(mem, 0, 100), Some(&b"abc"[..]));
        assert_eq!(c_string(mem, 4, 100), None, "no terminator before the end");
        assert_eq!(c_string(mem, 0, 2), None, "longer than the limit");
        assert_eq!(c_string(mem, 100, 100), None);
        assert_eq!(c_string(mem, -1, 100), None);
    }
}
