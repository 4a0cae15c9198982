//! Paths into a vendor's JSON: `Distance`, `level.value`,
//! `sensors[0].temp`, `[1]`. Keys hold any character but `.`, `[` and
//! `]`; indexes are decimal. Bounded in length and depth; never panics.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde_json::Value as Json;

/// Most segments in a path.
pub const MAX_DEPTH: usize = 8;
/// Longest path text, in bytes.
pub const MAX_LEN: usize = 128;
/// Largest array index.
pub const MAX_INDEX: usize = 1023;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
}

/// Why a path text can never match anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty")]
    Empty,
    #[error("path is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("path has more than {MAX_DEPTH} segments")]
    TooDeep,
    #[error("path has an empty key (at byte {0})")]
    EmptyKey(usize),
    #[error("path has a bad index (at byte {0}): expected [0] to [{MAX_INDEX}]")]
    BadIndex(usize),
    #[error("path has an unexpected {1:?} (at byte {0})")]
    Unexpected(usize, char),
}

impl FromStr for Path {
    type Err = PathError;

    fn from_str(text: &str) -> Result<Self, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(PathError::TooLong);
        }
        let mut segments = Vec::new();
        let mut rest = text;
        let mut expect_key = !text.starts_with('[');
        while !rest.is_empty() {
            let at = text.len() - rest.len();
            if expect_key {
                let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
                if end == 0 {
                    return Err(PathError::EmptyKey(at));
                }
                segments.push(Segment::Key(rest[..end].into()));
                rest = &rest[end..];
            } else if let Some(inner) = rest.strip_prefix('[') {
                let close = inner.find(']').ok_or(PathError::BadIndex(at))?;
                let digits = &inner[..close];
                let index = digits
                    .parse()
                    .ok()
                    .filter(|i| *i <= MAX_INDEX && digits.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or(PathError::BadIndex(at))?;
                segments.push(Segment::Index(index));
                rest = &inner[close + 1..];
            } else if let Some(after) = rest.strip_prefix('.') {
                rest = after;
                expect_key = true;
                if rest.is_empty() {
                    return Err(PathError::EmptyKey(text.len()));
                }
                continue;
            } else {
                let c = rest.chars().next().unwrap_or(']');
                return Err(PathError::Unexpected(at, c));
            }
            expect_key = false;
            if segments.len() > MAX_DEPTH {
                return Err(PathError::TooDeep);
            }
        }
        Ok(Self {
            text: text.into(),
            segments,
        })
    }
}

impl Path {
    /// The value at this path, if the JSON has one there.
    pub fn find<'j>(&self, json: &'j Json) -> Option<&'j Json> {
        self.segments
            .iter()
            .try_fold(json, |at, segment| match segment {
                Segment::Key(k) => at.as_object()?.get(k),
                Segment::Index(i) => at.as_array()?.get(*i),
            })
    }

    /// The top-level key the path starts with, if it starts with a key.
    pub fn first_key(&self) -> Option<&String> {
        match self.segments.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str) -> Segment {
        Segment::Key(k.into())
    }

    #[test]
    fn parses_keys_nested_paths_and_indexes() {
        let p: Path = "sensors[0].temp".parse().unwrap();
        assert_eq!(
            p.segments(),
            [key("sensors"), Segment::Index(0), key("temp")]
        );
        let p: Path = "level.value".parse().unwrap();
        assert_eq!(p.segments(), [key("level"), key("value")]);
        let p: Path = "[1][2]".parse().unwrap();
        assert_eq!(p.segments(), [Segment::Index(1), Segment::Index(2)]);
        let p: Path = "TempC_DS18B20".parse().unwrap();
        assert_eq!(p.first_key().map(String::as_str), Some("TempC_DS18B20"));
        let p: Path = "température extérieure".parse().unwrap();
        assert_eq!(p.segments().len(), 1);
    }

    #[test]
    fn refuses_impossible_paths() {
        for (bad, e) in [
            ("", PathError::Empty),
            (".a", PathError::EmptyKey(0)),
            ("a.", PathError::EmptyKey(2)),
            ("a..b", PathError::EmptyKey(2)),
            ("a[", PathError::BadIndex(1)),
            ("a[x]", PathError::BadIndex(1)),
            ("a[-1]", PathError::BadIndex(1)),
            ("a[+1]", PathError::BadIndex(1)),
            ("a[99999999999999999999]", PathError::BadIndex(1)),
            ("a[1024]", PathError::BadIndex(1)),
            ("a]b", PathError::Unexpected(1, ']')),
            ("a[0]b", PathError::Unexpected(4, 'b')),
            ("a.b.c.d.e.f.g.h.i", PathError::TooDeep),
        ] {
            assert_eq!(bad.parse::<Path>(), Err(e), "{bad}");
        }
        assert_eq!("x".repeat(129).parse::<Path>(), Err(PathError::TooLong));
    }

    #[test]
    fn finds_values_or_nothing() {
        let j = json!({"level": {"value": 1.2}, "sensors": [{"temp": 21}], "a.b": 1});
        let at = |p: &str| p.parse::<Path>().unwrap().find(&j).cloned();
        assert_eq!(at("level.value"), Some(json!(1.2)));
        assert_eq!(at("sensors[0].temp"), Some(json!(21)));
        assert_eq!(at("sensors[1].temp"), None);
        assert_eq!(at("level[0]"), None);
        assert_eq!(at("sensors.temp"), None);
        assert_eq!(at("level.value.x"), None);
    }
}
