//! A flat JSON object of scalars, decoded with serde without building a
//! JSON tree: the shape of a network server's codec output (`object`) and
//! of a direct device's `metrics`.
//!
//! Keys and strings borrow from the input where they can. Nested values and
//! `null` are kept as [`Scalar::Other`] (their grammar still checked) so
//! the caller can reject them with a precise reason; size limits are the
//! caller's (inputs are bounded before parsing). Never panics.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::json::Text;

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
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(b))
    }
    fn visit_i64<E>(self, x: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(x as f64))
    }
    fn visit_u64<E>(self, x: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(x as f64))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(x))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(s.into())))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FlatObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FlatVisitor)
    }
}

struct FlatVisitor;

impl<'de> Visitor<'de> for FlatVisitor {
    type Value = FlatObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(8);
        while let Some((Text(key), value)) = map.next_entry::<Text<'de>, Scalar<'de>>()? {
            members.push((key, value));
        }
        Ok(FlatObject(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{from_str, JsonError};

    fn parse(text: &str) -> Result<FlatObject<'_>, JsonError> {
        from_str(text)
    }

    #[test]
    fn decodes_scalars_and_marks_the_rest() {
        let o =
            parse(r#"{"a":1,"b":true,"c":"x\"y","d":null,"e":[1],"f":{"g":1},"a":2.5}"#).unwrap();
        assert_eq!(o.len(), 7);
        assert_eq!(o.0[0].1, Scalar::Number(1.0));
        assert_eq!(o.0[2].1, Scalar::Str(Cow::Owned("x\"y".into())));
        assert!(matches!(o.0[1].0, Cow::Borrowed("b")));
        assert_eq!(o.0[3].1, Scalar::Other("null"));
        assert_eq!(o.0[4].1, Scalar::Other("an array"));
        assert_eq!(o.0[5].1, Scalar::Other("an object"));
        assert!(!parse("[1]").unwrap_err().is_syntax());
        assert!(parse("{\"a\":}").unwrap_err().is_syntax());
        assert!(parse("{\"a\":[1,}").unwrap_err().is_syntax());
        assert!(parse("{\"a\":1e999}").is_err());
    }
}
