//! The tokens of [`JsonReader`](super::JsonReader) as functions of a
//! position in the text: whitespace, strings (borrowed, unescaped or
//! skipped), numbers and literals checked against the grammar, and the
//! skipping of whole values. Plain string content is scanned eight bytes
//! at a time. Never panics, never reads past the text.

use alloc::borrow::Cow;
use alloc::string::String;

use super::{JsonError, MAX_DEPTH};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of `word` that is `"`, `\` or a control
/// character; bytes above the lowest flagged one may be flagged wrongly,
/// so only the lowest counts. Flipping bit 1 maps `"` (0x22) to 0x20 and
/// controls onto controls, so one "below 0x21" test finds both.
fn stops(word: u64) -> u64 {
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v;
    (below(word ^ (ONES * 0x02), 0x21) | below(word ^ (ONES * u64::from(b'\\')), 1)) & HIGHS
}

fn is_stop(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// A syntax error found by the lexer: where, and what. Eight bytes, so
/// that results travel in registers on the hot path.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stop {
    at: u32,
    problem: Problem,
}

#[derive(Debug, Clone, Copy)]
enum Problem {
    InvalidNumber,
    InvalidLiteral,
    ExpectedColon,
    ExpectedValue,
    TooDeep,
    ExpectedSeparator,
    ExpectedKey,
    ControlCharacter,
    UnterminatedString,
    InvalidEscape,
    LoneSurrogate,
    InvalidUnicodeEscape,
}

impl Problem {
    fn text(self) -> &'static str {
        match self {
            Self::InvalidNumber => "invalid number",
            Self::InvalidLiteral => "invalid literal",
            Self::ExpectedColon => "expected : after a key",
            Self::ExpectedValue => "expected a value",
            Self::TooDeep => "nested too deeply",
            Self::ExpectedSeparator => "expected , or the end of the container",
            Self::ExpectedKey => "expected a string key",
            Self::ControlCharacter => "control character in a string",
            Self::UnterminatedString => "unterminated string",
            Self::InvalidEscape => "invalid escape",
            Self::LoneSurrogate => "lone surrogate in a \\u escape",
            Self::InvalidUnicodeEscape => "invalid \\u escape",
        }
    }
}

impl From<Stop> for JsonError {
    fn from(stop: Stop) -> Self {
        Self::Syntax {
            at: stop.at as usize,
            problem: stop.problem.text(),
        }
    }
}

type Lexed<T> = core::result::Result<T, Stop>;

fn syntax_at(at: usize, problem: Problem) -> Stop {
    Stop {
        at: u32::try_from(at).unwrap_or(u32::MAX),
        problem,
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// The first position from `i` that is not whitespace.
#[inline(always)]
pub(super) fn skip_ws(bytes: &[u8], i: usize) -> usize {
    // Compact JSON has none: one comparison settles it.
    match bytes.get(i) {
        Some(&b) if b > b' ' => i,
        _ => skip_ws_run(bytes, i),
    }
}

fn skip_ws_run(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    i
}

/// The string whose content starts at `from` (after its opening quote):
/// its text and the position after its closing quote.
#[inline]
pub(super) fn string(text: &str, from: usize) -> Lexed<(Cow<'_, str>, usize)> {
    let end = plain_run(text.as_bytes(), from);
    if text.as_bytes().get(end) == Some(&b'"') {
        return Ok((Cow::Borrowed(slice(text, from, end)), end + 1));
    }
    decode_string(text, from)
}

/// A string with escapes (or an error), off the hot path.
#[cold]
#[inline(never)]
fn decode_string(text: &str, from: usize) -> Lexed<(Cow<'_, str>, usize)> {
    let mut out = String::new();
    let end = scan_string(text, from, &mut out)?;
    Ok((Cow::Owned(out), end))
}

/// Checks the number at `i`; returns the position after it and whether
/// it is an integer (no fraction, no exponent).
pub(super) fn number_end(bytes: &[u8], i: usize) -> Lexed<(usize, bool)> {
    let mut i = i + usize::from(bytes.get(i) == Some(&b'-'));
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits_end(bytes, i),
        _ => return Err(syntax_at(i, Problem::InvalidNumber)),
    }
    let mut integral = true;
    if bytes.get(i) == Some(&b'.') {
        integral = false;
        i = some_digits(bytes, i + 1)?;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        integral = false;
        i += 1 + usize::from(matches!(bytes.get(i + 1), Some(b'+' | b'-')));
        i = some_digits(bytes, i)?;
    }
    Ok((i, integral))
}

/// Powers of ten that an `f64` holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of a number without exponent whose digits make an integer
/// of at most 2^53 and that has at most 22 decimals: that integer and the
/// power of ten are exact in an `f64`, so one division rounds correctly
/// (Clinger's fast path). `None` leaves the number to the full parser.
pub(super) fn exact_f64(number: &[u8]) -> Option<f64> {
    let (negative, digits) = match number.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, number),
    };
    if digits.len() > 19 {
        return None;
    }
    let (mut mantissa, mut decimals, mut point) = (0u64, 0usize, false);
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                decimals += usize::from(point);
            }
            b'.' => point = true,
            _ => return None,
        }
    }
    if mantissa > 1 << 53 {
        return None;
    }
    let value = mantissa as f64 / *EXACT_POWERS_OF_TEN.get(decimals)?;
    Some(if negative { -value } else { value })
}

/// Checks that `word` is at `i`; returns the position after it.
pub(super) fn literal(bytes: &[u8], i: usize, word: &str) -> Lexed<usize> {
    let end = i + word.len();
    if bytes.get(i..end) != Some(word.as_bytes()) {
        return Err(syntax_at(i, Problem::InvalidLiteral));
    }
    Ok(end)
}

/// The position after the colon that follows a key ending before `i`.
pub(super) fn colon_end(bytes: &[u8], i: usize) -> Lexed<usize> {
    let i = skip_ws(bytes, i);
    if bytes.get(i) != Some(&b':') {
        return Err(syntax_at(i, Problem::ExpectedColon));
    }
    Ok(i + 1)
}

/// Skips the value at `from` (after whitespace), nesting at most
/// `depth_left` containers; returns the position after it.
#[inline]
pub(super) fn skip_value(text: &str, from: usize, depth_left: usize) -> Lexed<usize> {
    let bytes = text.as_bytes();
    let i = skip_ws(bytes, from);
    match bytes.get(i) {
        Some(b'"') => scan_string(text, i + 1, &mut Skipped),
        Some(b'-' | b'0'..=b'9') => Ok(number_end(bytes, i)?.0),
        Some(b't') => literal(bytes, i, "true"),
        Some(b'f') => literal(bytes, i, "false"),
        _ => skip_nested(text, i, depth_left),
    }
}

/// Skips a value that may be a container, without recursion.
#[inline(never)]
fn skip_nested(text: &str, from: usize, depth_left: usize) -> Lexed<usize> {
    let bytes = text.as_bytes();
    // The closing bracket of each open container, innermost last.
    let mut closers = [0u8; MAX_DEPTH];
    let mut open = 0usize;
    let mut i = from;
    loop {
        i = skip_ws(bytes, i);
        let closer = match bytes.get(i) {
            Some(b'"') => {
                i = scan_string(text, i + 1, &mut Skipped)?;
                None
            }
            Some(b'-' | b'0'..=b'9') => {
                i = number_end(bytes, i)?.0;
                None
            }
            Some(b't') => skip_literal(bytes, &mut i, "true")?,
            Some(b'f') => skip_literal(bytes, &mut i, "false")?,
            Some(b'n') => skip_literal(bytes, &mut i, "null")?,
            Some(b'{') => Some(b'}'),
            Some(b'[') => Some(b']'),
            _ => return Err(syntax_at(i, Problem::ExpectedValue)),
        };
        if let Some(closer) = closer {
            let slot = closers
                .get_mut(open)
                .filter(|_| open < depth_left)
                .ok_or(syntax_at(i, Problem::TooDeep))?;
            i = skip_ws(bytes, i + 1);
            if bytes.get(i) == Some(&closer) {
                i += 1;
            } else {
                *slot = closer;
                open += 1;
                if closer == b'}' {
                    i = key_end(text, i)?;
                }
                continue;
            }
        }
        // After a value: close what ends here; stop at the next value.
        loop {
            let Some(&closer) = open.checked_sub(1).and_then(|top| closers.get(top)) else {
                return Ok(i);
            };
            i = skip_ws(bytes, i);
            match bytes.get(i) {
                Some(b',') if closer == b'}' => {
                    i = key_end(text, skip_ws(bytes, i + 1))?;
                    break;
                }
                Some(b',') => {
                    i += 1;
                    break;
                }
                Some(&b) if b == closer => {
                    i += 1;
                    open -= 1;
                }
                _ => return Err(syntax_at(i, Problem::ExpectedSeparator)),
            }
        }
    }
}

fn skip_literal(bytes: &[u8], i: &mut usize, word: &str) -> Lexed<Option<u8>> {
    *i = literal(bytes, *i, word)?;
    Ok(None)
}

/// Skips the key at `i` and its colon; returns the position after them.
fn key_end(text: &str, i: usize) -> Lexed<usize> {
    if text.as_bytes().get(i) != Some(&b'"') {
        return Err(syntax_at(i, Problem::ExpectedKey));
    }
    colon_end(text.as_bytes(), scan_string(text, i + 1, &mut Skipped)?)
}

/// Where string content goes: decoded into a `String`, or nowhere.
trait Content {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
    /// Whether the value of a `\u` escape matters (then it is judged).
    const DECODES: bool;
}

/// Content that is only checked.
struct Skipped;

impl Content for Skipped {
    fn push_str(&mut self, _: &str) {}
    fn push(&mut self, _: char) {}
    const DECODES: bool = false;
}

impl Content for String {
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }
    fn push(&mut self, c: char) {
        String::push(self, c);
    }
    const DECODES: bool = true;
}

/// Walks string content from `from` to the closing quote, into `out`;
/// returns the position after the quote.
#[inline(always)]
fn scan_string(text: &str, from: usize, out: &mut impl Content) -> Lexed<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    loop {
        let end = plain_run(bytes, i);
        out.push_str(slice(text, i, end));
        i = match bytes.get(end) {
            Some(b'"') => return Ok(end + 1),
            Some(b'\\') => escape(bytes, end + 1, out)?,
            Some(_) => return Err(syntax_at(end, Problem::ControlCharacter)),
            None => return Err(syntax_at(end, Problem::UnterminatedString)),
        };
    }
}

/// The end of the run of plain string content starting at `from`.
#[inline(always)]
fn plain_run(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    let mut words = rest.chunks_exact(8);
    let mut i = from;
    for chunk in &mut words {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
        let found = stops(word);
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + words
        .remainder()
        .iter()
        .take_while(|&&b| !is_stop(b))
        .count()
}

/// The escape whose letter is at `i`; returns the position after it.
fn escape(bytes: &[u8], i: usize, out: &mut impl Content) -> Lexed<usize> {
    let c = match bytes.get(i) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return unicode_escape(bytes, i + 1, out),
        _ => return Err(syntax_at(i, Problem::InvalidEscape)),
    };
    out.push(c);
    Ok(i + 1)
}

/// A `\u` escape's hex digits at `i` (and its low surrogate, when
/// decoding); a skipped escape's value is not judged.
fn unicode_escape<C: Content>(bytes: &[u8], i: usize, out: &mut C) -> Lexed<usize> {
    let first = hex4(bytes, i)?;
    if !C::DECODES {
        return Ok(i + 4);
    }
    let lone = syntax_at(i, Problem::LoneSurrogate);
    let (code, next) = if (0xD800..0xDC00).contains(&first) {
        if bytes.get(i + 4..i + 6) != Some(b"\\u") {
            return Err(lone);
        }
        let second = hex4(bytes, i + 6)?;
        if !(0xDC00..0xE000).contains(&second) {
            return Err(lone);
        }
        (
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00),
            i + 10,
        )
    } else {
        (first, i + 4)
    };
    out.push(char::from_u32(code).ok_or(lone)?);
    Ok(next)
}

fn hex4(bytes: &[u8], i: usize) -> Lexed<u32> {
    bytes
        .get(i..i + 4)
        .and_then(|digits| {
            digits
                .iter()
                .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
        })
        .ok_or(syntax_at(i, Problem::InvalidUnicodeEscape))
}

/// The text between two positions that sit on ASCII bytes or the end
/// (always char boundaries of the UTF-8 text).
fn slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

fn digits_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// At least one digit from `from`; returns the position after them.
fn some_digits(bytes: &[u8], from: usize) -> Lexed<usize> {
    match digits_end(bytes, from) {
        end if end > from => Ok(end),
        _ => Err(syntax_at(from, Problem::InvalidNumber)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BYTES: &[u8] = b" #\n\r\t\"\\\x00\x01\x1f!a~\x7f\x80\xc3\xff";

    proptest! {
        /// The eight-byte scans agree with byte-by-byte ones.
        #[test]
        fn word_scans_match_bytewise_scans(
            bytes in prop::collection::vec(prop::sample::select(BYTES), 0..40),
            from in 0usize..40,
        ) {
            let from = from.min(bytes.len());
            let count = |keep: fn(u8) -> bool| bytes[from..].iter().take_while(|&&b| keep(b)).count();
            prop_assert_eq!(plain_run(&bytes, from), from + count(|b| !is_stop(b)));
            prop_assert_eq!(skip_ws(&bytes, from), from + count(is_ws));
        }

        /// The fast path, where it answers, gives the correctly rounded
        /// value, and it answers for the short decimals devices send.
        #[test]
        fn exact_f64_is_correctly_rounded(text in "-?(0|[1-9][0-9]{0,17})(\\.[0-9]{1,22})?") {
            let parsed: f64 = text.parse().unwrap();
            if let Some(fast) = exact_f64(text.as_bytes()) {
                prop_assert_eq!(fast.to_bits(), parsed.to_bits(), "{}", text);
            } else {
                prop_assert!(text.len() > 15, "{} not taken", text);
            }
        }
    }
}
