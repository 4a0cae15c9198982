//! Decoding untrusted JSON text with serde_json: one entry point that
//! refuses trailing characters, names the field a wrong value is in, and
//! tells malformed text from a wrongly shaped document; and the small
//! field helpers the wire types share (proto3's `null` as the default,
//! strings borrowed from the input where they hold no escape).
//!
//! Nesting of decoded values is bounded by serde_json's recursion limit
//! (128); skipped values are checked against the whole grammar without
//! recursing. Never panics.

use alloc::borrow::Cow;
use core::fmt;

use serde::{Deserialize, Deserializer};

/// Why a JSON text was refused: serde_json's error, with the path of the
/// field it is about (`deviceInfo.devEui: ...`).
#[derive(Debug)]
pub enum JsonError {
    /// Met while decoding the value.
    In(serde_path_to_error::Error<serde_json::Error>),
    /// After the value: trailing characters.
    After(serde_json::Error),
}

impl JsonError {
    /// Whether the text is malformed (rather than wrongly shaped).
    pub fn is_syntax(&self) -> bool {
        let inner = match self {
            Self::In(e) => e.inner(),
            Self::After(e) => e,
        };
        !matches!(inner.classify(), serde_json::error::Category::Data)
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::In(e) => e.fmt(f),
            Self::After(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for JsonError {}

/// Decodes one JSON text as `T`: the whole text must be that one value.
pub fn from_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(JsonError::In)?;
    de.end().map_err(JsonError::After)?;
    Ok(value)
}

/// A field where `null` stands for the default value (proto3 JSON); use
/// with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// A string borrowed from the input unless it holds escapes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// A [`nullable`] string that borrows from the input where it can.
pub fn nullable_text<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    nullable::<D, Text<'de>>(d).map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use serde::de::IgnoredAny;

    #[test]
    fn tells_syntax_from_shape_and_refuses_trailing_text() {
        for bad in ["{", "[1,]", "{\"a\":tru}", "1 2", "{} x", "", "\"\\u12\""] {
            assert!(
                from_str::<IgnoredAny>(bad).unwrap_err().is_syntax(),
                "{bad}"
            );
        }
        // Skipped values do not recurse; decoded ones are bounded.
        let nested = "[".repeat(200) + &"]".repeat(200);
        assert!(from_str::<IgnoredAny>(&nested).is_ok());
        assert!(from_str::<serde_json::Value>(&nested)
            .unwrap_err()
            .is_syntax());
        let e = from_str::<u8>("300").unwrap_err();
        assert!(!e.is_syntax());
        assert!(from_str::<u8>(" 7 ").is_ok());
    }

    #[test]
    fn borrows_plain_strings_and_treats_null_as_default() {
        let Text(plain) = from_str("\"abc\"").unwrap();
        assert!(matches!(plain, Cow::Borrowed("abc")));
        let Text(escaped) = from_str("\"a\\\"c\"").unwrap();
        assert_eq!(escaped, "a\"c");
        #[derive(Debug, Deserialize)]
        struct S<'a> {
            #[serde(default, deserialize_with = "nullable")]
            n: u32,
            #[serde(borrow, default, deserialize_with = "nullable_text")]
            t: Cow<'a, str>,
        }
        let s: S<'_> = from_str(r#"{"n":null,"t":null}"#).unwrap();
        assert_eq!((s.n, s.t.as_ref()), (0, ""));
        let e = from_str::<S<'_>>(r#"{"n":"7"}"#).unwrap_err();
        assert!(e.to_string().starts_with("n: invalid type"), "{e}");
    }
}
