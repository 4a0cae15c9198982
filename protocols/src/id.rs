//! Site, device and gateway identifiers (spec §3).
//!
//! An [`Id`] can only be built from a string matching
//! `^[a-z0-9][a-z0-9_-]{0,63}$`, so that no topic level or line-protocol tag
//! ever carries `/`, `+`, `#`, spaces, commas, quotes or newlines. This
//! module must never hand out an `Id` that skipped validation.

use core::fmt;
use core::str::FromStr;

/// Longest identifier, in bytes.
pub const ID_MAX_LEN: usize = 64;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("must start with a lowercase letter or digit")]
    BadStart,
    #[error("has a character outside [a-z0-9_-] at byte {at}")]
    BadChar { at: usize },
}

/// Checks `s` against a name rule: non-empty, at most `max` bytes, first byte
/// accepted by `first`, every other byte by `rest`. Shared by every validated
/// name in this crate (IDs, metric and event names).
pub(crate) fn check_name(
    s: &str,
    max: usize,
    first: fn(u8) -> bool,
    rest: fn(u8) -> bool,
) -> Result<(), IdError> {
    let bytes = s.as_bytes();
    let Some(&head) = bytes.first() else {
        return Err(IdError::Empty);
    };
    if bytes.len() > max {
        return Err(IdError::TooLong { max });
    }
    if !first(head) {
        return Err(IdError::BadStart);
    }
    match bytes.iter().skip(1).position(|&b| !rest(b)) {
        Some(i) => Err(IdError::BadChar { at: i + 1 }),
        None => Ok(()),
    }
}

fn id_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn id_rest(b: u8) -> bool {
    id_start(b) || b == b'_' || b == b'-'
}

/// A validated site, device or gateway identifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(heapless::String<ID_MAX_LEN>);

impl Id {
    /// Validates `s` and copies it into a fixed-capacity identifier.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        check_name(s, ID_MAX_LEN, id_start, id_rest)?;
        let mut out = heapless::String::new();
        out.push_str(s)
            .map_err(|_| IdError::TooLong { max: ID_MAX_LEN })?;
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl FromStr for Id {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::metric::ValidatedVisitor::<Self>::new(
            "an identifier",
        ))
    }
}

impl crate::metric::Validated for Id {
    type Error = IdError;
    fn validate(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_spec_examples() {
        for ok in ["kangfu-garden", "drain-w17", "a", "0", "gw_01"] {
            assert_eq!(Id::parse(ok).map(|i| i.as_str() == ok), Ok(true), "{ok}");
        }
        let longest = "a".repeat(64);
        assert!(Id::parse(&longest).is_ok());
    }

    #[test]
    fn rejects_injection_and_malformed() {
        let cases: &[(&str, IdError)] = &[
            ("", IdError::Empty),
            ("-a", IdError::BadStart),
            ("_a", IdError::BadStart),
            ("A", IdError::BadStart),
            ("a/b", IdError::BadChar { at: 1 }),
            ("a+", IdError::BadChar { at: 1 }),
            ("a#", IdError::BadChar { at: 1 }),
            ("a b", IdError::BadChar { at: 1 }),
            ("a,b", IdError::BadChar { at: 1 }),
            ("a\"", IdError::BadChar { at: 1 }),
            ("a\n", IdError::BadChar { at: 1 }),
            ("aé", IdError::BadChar { at: 1 }),
        ];
        for (input, want) in cases {
            assert_eq!(Id::parse(input), Err(*want), "{input:?}");
        }
        assert_eq!(
            Id::parse(&"a".repeat(65)),
            Err(IdError::TooLong { max: 64 })
        );
    }
}
