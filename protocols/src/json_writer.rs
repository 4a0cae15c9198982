//! A compact JSON object writer for the normalized payloads: appends members
//! straight into a byte vector, byte for byte as serde_json's compact
//! serializer writes the same values (its escapes, its `itoa` integers, its
//! `zmij` floats).
//!
//! It never validates: keys and tokens must be validated names that need no
//! escaping (checked in debug builds only). It never fails and never panics.

use alloc::vec::Vec;

/// The end of a key before a value.
const KEY_END: &[u8] = b"\":";
/// The end of a key before a string value, with the value's opening quote.
const KEY_END_STRING: &[u8] = b"\":\"";

/// Writes the members of one JSON object, separated by commas.
pub(crate) struct JsonObject<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    /// Starts an object at the end of `out`.
    #[must_use = "an object must be closed"]
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Ends the object.
    pub(crate) fn close(self) {
        self.out.push(b'}');
    }

    /// A member whose value is an object; close it before the next member.
    #[must_use = "an object must be closed"]
    pub(crate) fn object(&mut self, key: &str) -> JsonObject<'_> {
        self.key(key, KEY_END);
        JsonObject::open(self.out)
    }

    /// A string member whose value is a validated token (an ID, a name, an
    /// enum value, a timestamp) that never needs escaping.
    #[inline(always)]
    pub(crate) fn token(&mut self, key: &str, value: &str) {
        debug_assert!(needs_no_escape(value), "unescaped JSON string {value:?}");
        self.key(key, KEY_END_STRING);
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
    }

    /// A string member with free text, escaped.
    pub(crate) fn text(&mut self, key: &str, value: &str) {
        self.key(key, KEY_END_STRING);
        push_escaped(self.out, value);
        self.out.push(b'"');
    }

    #[inline(always)]
    pub(crate) fn int(&mut self, key: &str, value: impl itoa::Integer) {
        self.key(key, KEY_END);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// A number member; non-finite values are written as `null`, as
    /// serde_json does.
    #[inline(always)]
    pub(crate) fn float(&mut self, key: &str, value: f64) {
        self.key(key, KEY_END);
        if value.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
    }

    #[inline(always)]
    pub(crate) fn bool(&mut self, key: &str, value: bool) {
        self.key(key, KEY_END);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    #[inline(always)]
    pub(crate) fn null(&mut self, key: &str) {
        self.key(key, KEY_END);
        self.out.extend_from_slice(b"null");
    }

    /// Writes the separator and the quoted key up to `end`: few constant
    /// slices rather than single pushes keep the capacity checks few.
    #[inline(always)]
    fn key(&mut self, key: &str, end: &[u8]) {
        debug_assert!(needs_no_escape(key), "unescaped JSON key {key:?}");
        if self.empty {
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(b",\"");
        }
        self.empty = false;
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(end);
    }
}

/// Whether serde_json would write `s` without any escape.
fn needs_no_escape(s: &str) -> bool {
    s.bytes().all(|b| short_escape(b).is_none())
}

/// The letter after `\` that serde_json escapes `byte` with (`u` for
/// `\u00XX`), or `None` when the byte is written as is.
fn short_escape(byte: u8) -> Option<u8> {
    match byte {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        0x08 => Some(b'b'),
        0x09 => Some(b't'),
        0x0A => Some(b'n'),
        0x0C => Some(b'f'),
        0x0D => Some(b'r'),
        0x00..=0x1F => Some(b'u'),
        _ => None,
    }
}

/// Appends `s` escaped, copying runs without escapes in one go.
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let Some(letter) = short_escape(byte) else {
            continue;
        };
        out.extend_from_slice(&bytes[run_start..i]);
        run_start = i + 1;
        out.extend_from_slice(&[b'\\', letter]);
        if letter == b'u' {
            let (hi, lo) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xF)]);
            out.extend_from_slice(&[b'0', b'0', hi, lo]);
        }
    }
    out.extend_from_slice(&bytes[run_start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use proptest::prelude::*;

    fn one_member(write: impl FnOnce(&mut JsonObject<'_>)) -> String {
        let mut out = Vec::new();
        let mut object = JsonObject::open(&mut out);
        write(&mut object);
        object.close();
        String::from_utf8(out).unwrap()
    }

    fn serde_json_member<T: serde::Serialize>(value: T) -> String {
        alloc::format!("{{\"k\":{}}}", serde_json::to_string(&value).unwrap())
    }

    #[test]
    fn writes_nested_objects_and_scalars() {
        let json = one_member(|o| {
            o.int("v", 1u8);
            let mut inner = o.object("m");
            inner.bool("b", false);
            inner.float("f", 0.1);
            inner.close();
            o.object("e").close();
            o.null("n");
            o.token("t", "a-b");
        });
        assert_eq!(
            json,
            r#"{"v":1,"m":{"b":false,"f":0.1},"e":{},"n":null,"t":"a-b"}"#
        );
    }

    #[test]
    fn escapes_like_serde_json() {
        let nasty = "q\"b\\s/\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}\u{85}é€😀";
        let json = one_member(|o| o.text("k", nasty));
        assert_eq!(
            json,
            "{\"k\":\"q\\\"b\\\\s/\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f\u{7f}\u{85}é€😀\"}"
        );
        assert_eq!(json, serde_json_member(nasty));
    }

    #[test]
    fn floats_like_serde_json() {
        for x in [1e21, 0.1, 1e-300, -0.0, 9.0e15, 5e-324, f64::MAX, f64::MIN] {
            assert_eq!(one_member(|o| o.float("k", x)), serde_json_member(x), "{x}");
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(one_member(|o| o.float("k", x)), r#"{"k":null}"#);
        }
    }

    #[test]
    fn validated_names_need_no_escape() {
        assert!(needs_no_escape("kangfu-garden_1.high_water.7:x"));
        assert!(!needs_no_escape("a\"b"));
        assert!(!needs_no_escape("a\u{1}"));
    }

    proptest! {
        #[test]
        fn text_matches_serde_json(s in prop_oneof![any::<String>(), "(?s)[\\x00-\\x7f]{0,64}"]) {
            prop_assert_eq!(one_member(|o| o.text("k", &s)), serde_json_member(&s));
        }

        #[test]
        fn float_matches_serde_json(x in any::<f64>()) {
            prop_assert_eq!(one_member(|o| o.float("k", x)), serde_json_member(x));
        }

        #[test]
        fn int_matches_serde_json(x in any::<i64>()) {
            prop_assert_eq!(one_member(|o| o.int("k", x)), serde_json_member(x));
        }
    }
}
