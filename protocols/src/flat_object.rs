//! A flat JSON object of scalars, decoded without building a JSON tree:
//! the shape of a network server's codec output (`object`) and of a direct
//! device's `metrics`.
//!
//! Keys and strings borrow from the input where they can. Nested values and
//! `null` are kept as [`Scalar::Other`] so the caller can reject them with
//! a precise reason; size limits are the caller's (inputs are bounded
//! before parsing). Never panics.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::json_reader::{JsonError, JsonKind, JsonReader};

/// One value of a flat object.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Number(f64),
    Bool(bool),
    Str(Cow<'a, str>),
    /// `null`, an array or an object.
    Other(&'static str),
}

/// Keys and values in input order (duplicates kept; callers refuse them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlatObject<'a>(pub Vec<(Cow<'a, str>, Scalar<'a>)>);

impl<'a> FlatObject<'a> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Scalar<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// A copy that borrows nothing.
    pub fn into_owned(self) -> FlatObject<'static> {
        FlatObject(
            self.0
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                .collect(),
        )
    }
}

impl Scalar<'_> {
    /// A copy that borrows nothing.
    pub fn into_owned(self) -> Scalar<'static> {
        match self {
            Self::Number(x) => Scalar::Number(x),
            Self::Bool(b) => Scalar::Bool(b),
            Self::Str(s) => Scalar::Str(Cow::Owned(s.into_owned())),
            Self::Other(w) => Scalar::Other(w),
        }
    }
}

impl<'a> Scalar<'a> {
    /// Reads any value; containers and `null` are skipped (their syntax
    /// still checked) and kept as [`Scalar::Other`].
    pub fn read(r: &mut JsonReader<'a>) -> Result<Self, JsonError> {
        Ok(match r.peek_kind()? {
            JsonKind::Number => Self::Number(r.f64()?),
            JsonKind::Bool => Self::Bool(r.bool()?),
            JsonKind::String => Self::Str(r.str()?),
            JsonKind::Null => r.null().map(|()| Self::Other("null"))?,
            JsonKind::Array => r.skip().map(|()| Self::Other("an array"))?,
            JsonKind::Object => r.skip().map(|()| Self::Other("an object"))?,
        })
    }
}

impl<'a> FlatObject<'a> {
    /// Reads an object whose members are kept in input order.
    pub fn read(r: &mut JsonReader<'a>) -> Result<Self, JsonError> {
        let mut members = Vec::with_capacity(8);
        r.object(|r, key| {
            members.push((key, Scalar::read(r)?));
            Ok(())
        })?;
        Ok(Self(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FlatObject<'_>, JsonError> {
        FlatObject::read(&mut JsonReader::new(text))
    }

    #[test]
    fn decodes_scalars_and_marks_the_rest() {
        let o =
            parse(r#"{"a":1,"b":true,"c":"x\"y","d":null,"e":[1],"f":{"g":1},"a":2.5}"#).unwrap();
        assert_eq!(o.len(), 7);
        assert_eq!(o.0[0].1, Scalar::Number(1.0));
        assert_eq!(o.0[2].1, Scalar::Str(Cow::Owned("x\"y".into())));
        assert_eq!(o.0[3].1, Scalar::Other("null"));
        assert_eq!(o.0[4].1, Scalar::Other("an array"));
        assert_eq!(o.0[5].1, Scalar::Other("an object"));
        assert!(!parse("[1]").unwrap_err().is_syntax());
        assert!(parse("{\"a\":}").unwrap_err().is_syntax());
        assert!(parse("{\"a\":[1,}").unwrap_err().is_syntax());
    }
}
