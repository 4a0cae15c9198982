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
use core::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Number(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.into())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other("null"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
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
        d.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = FlatObject<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            out.push((key, map.next_value::<Scalar<'de>>()?));
        }
        Ok(FlatObject(out))
    }
}

impl Serialize for Scalar<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(x) => s.serialize_f64(*x),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Str(t) => s.serialize_str(t),
            Self::Other(_) => s.serialize_unit(),
        }
    }
}

impl Serialize for FlatObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_scalars_and_marks_the_rest() {
        let o: FlatObject = serde_json::from_str(
            r#"{"a":1,"b":true,"c":"x\"y","d":null,"e":[1],"f":{"g":1},"a":2.5}"#,
        )
        .unwrap();
        assert_eq!(o.len(), 7);
        assert_eq!(o.0[0].1, Scalar::Number(1.0));
        assert_eq!(o.0[2].1, Scalar::Str(Cow::Owned("x\"y".into())));
        assert_eq!(o.0[3].1, Scalar::Other("null"));
        assert_eq!(o.0[4].1, Scalar::Other("an array"));
        assert_eq!(o.0[5].1, Scalar::Other("an object"));
        assert!(serde_json::from_str::<FlatObject>("[1]").is_err());
        assert!(serde_json::from_str::<FlatObject>("{\"a\":}").is_err());
    }
}
