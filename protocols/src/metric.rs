//! Metric names and values (spec §4).
//!
//! A [`MetricName`] matches `^[a-z][a-z0-9_]*$` (at most 48 bytes) and by
//! convention ends with its unit suffix. A [`Value`] is a finite number, a
//! bool or a short enum string (`[a-z0-9_]`, at most 32 bytes). Enum metrics
//! known to the model have stable integer codes for stores that keep numbers
//! only. This module must never accept NaN, infinities or free text.

use core::fmt;
use core::marker::PhantomData;

use crate::id::IdError;

/// Longest metric or event name, in bytes.
pub const NAME_MAX_LEN: usize = 48;
/// Longest enum value, in bytes.
pub const ENUM_MAX_LEN: usize = 32;

/// Unit suffixes of the model; a name without one is unitless (state, count).
/// `_var`, `_varh`, `_hz` and `_rpm` carry the OCPP 1.6 measurands that
/// have no other unit (reactive power and energy, frequency, fan speed).
pub const UNIT_SUFFIXES: [&str; 17] = [
    "_m", "_mm", "_mm_h", "_pct", "_w", "_wh", "_a", "_v", "_c", "_dbm", "_db", "_s", "_mps",
    "_var", "_varh", "_hz", "_rpm",
];

pub(crate) fn name_start(b: u8) -> bool {
    b.is_ascii_lowercase()
}

pub(crate) fn name_rest(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

fn enum_start(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Declares a validated fixed-capacity name type with the common plumbing
/// (parse, `as_str`, Display/Debug, serde).
macro_rules! validated_name {
    ($(#[$doc:meta])* $name:ident, $cap:expr, $start:expr, $rest:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(heapless::String<$cap>);

        impl $name {
            /// Validates `s` and copies it.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                $crate::id::check_name(s, $cap, $start, $rest)?;
                let mut out = heapless::String::new();
                out.push_str(s).map_err(|_| $crate::id::IdError::TooLong { max: $cap })?;
                Ok(Self(out))
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl core::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::metric::ValidatedVisitor::<Self>::new($what))
            }
        }

        impl $crate::metric::Validated for $name {
            type Error = IdError;
            fn validate(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}
pub(crate) use validated_name;

validated_name!(
    /// A validated metric name such as `level_m` or `trips_total`.
    MetricName, NAME_MAX_LEN, name_start, name_rest, "a metric name"
);

validated_name!(
    /// A validated enum value such as `idle`, `suspended_evse`.
    EnumText, ENUM_MAX_LEN, enum_start, name_rest, "an enum value"
);

impl MetricName {
    /// Whether the name carries a unit suffix or is a counter (`_total`):
    /// such a metric only takes numbers.
    pub fn is_numeric(&self) -> bool {
        let n = self.as_str();
        n.ends_with("_total") || UNIT_SUFFIXES.iter().any(|s| n.ends_with(s))
    }
}

/// A metric value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Always finite.
    Number(f64),
    Bool(bool),
    Text(EnumText),
}

/// Why a value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("number is not finite")]
    NotFinite,
    #[error("enum value {0}")]
    BadEnum(IdError),
}

impl Value {
    /// A finite number; NaN and infinities are refused.
    pub fn number(x: f64) -> Result<Self, ValueError> {
        if x.is_finite() {
            Ok(Self::Number(x))
        } else {
            Err(ValueError::NotFinite)
        }
    }

    /// A short enum string.
    pub fn text(s: &str) -> Result<Self, ValueError> {
        EnumText::parse(s)
            .map(Self::Text)
            .map_err(ValueError::BadEnum)
    }
}

/// `x` as an integer when it is integral and below 9e15 in magnitude: JSON
/// payloads write such numbers without a fraction.
pub(crate) fn json_integer(x: f64) -> Option<i64> {
    (x.abs() < 9.0e15 && (x as i64) as f64 == x).then_some(x as i64)
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(x) => match json_integer(*x) {
                Some(i) => s.serialize_i64(i),
                None => s.serialize_f64(*x),
            },
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Text(t) => s.serialize_str(t.as_str()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl serde::de::Visitor<'_> for ValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a finite number, a bool or a short enum string")
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Value::number(v).map_err(E::custom)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Value::text(v).map_err(E::custom)
    }
}

/// A type built from a string only through validation.
pub trait Validated: Sized {
    type Error: fmt::Display;
    fn validate(s: &str) -> Result<Self, Self::Error>;
}

/// Serde visitor for any [`Validated`] string type.
pub(crate) struct ValidatedVisitor<T> {
    what: &'static str,
    _t: PhantomData<T>,
}

impl<T> ValidatedVisitor<T> {
    pub(crate) fn new(what: &'static str) -> Self {
        Self {
            what,
            _t: PhantomData,
        }
    }
}

impl<T: Validated> serde::de::Visitor<'_> for ValidatedVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        T::validate(v).map_err(|e| E::custom(format_args!("{} {v:?} {e}", self.what)))
    }
}

/// The enum metrics of the model and their values, in code order.
const ENUMS: &[(&str, &[&str])] = &[
    ("direction", &["idle", "up", "down"]),
    ("door", &["closed", "open", "opening", "closing"]),
    (
        "mode",
        &[
            "normal",
            "inspection",
            "fire",
            "emergency_power",
            "out_of_service",
        ],
    ),
    (
        "status",
        &[
            "available",
            "preparing",
            "charging",
            "suspended_evse",
            "suspended_ev",
            "finishing",
            "reserved",
            "unavailable",
            "faulted",
        ],
    ),
];

/// Metrics of the model that take a number although they carry no unit.
const UNITLESS_NUMBERS: &[&str] = &["floor"];
/// Metrics of the model that take a bool.
const BOOLS: &[&str] = &["moving", "occupied"];

/// Whether `name` is one of the model's metrics without a unit suffix
/// (its enums, bools and `floor`).
pub fn is_unitless_model_metric(name: &str) -> bool {
    UNITLESS_NUMBERS.contains(&name)
        || BOOLS.contains(&name)
        || ENUMS.iter().any(|(n, _)| *n == name)
}

/// The value does not have the type the model gives its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TypeMismatch {
    #[error("takes numbers only")]
    Number,
    #[error("takes true or false only")]
    Bool,
    #[error("takes one of its enum values only")]
    Enum,
}

/// Checks `value` against the type the model gives metric `name`: numbers
/// for metrics with a unit, counters and `floor`; bools for `moving` and
/// `occupied`; the listed values for enum metrics. Metrics the model does
/// not know take any value.
pub fn check_type(name: &MetricName, value: &Value) -> Result<(), TypeMismatch> {
    let n = name.as_str();
    let ok = match value {
        Value::Number(_) => !BOOLS.contains(&n) && enum_code(n, "").is_ok(),
        Value::Bool(_) => {
            !(name.is_numeric() || UNITLESS_NUMBERS.contains(&n)) && enum_code(n, "").is_ok()
        }
        Value::Text(t) => {
            !(name.is_numeric() || UNITLESS_NUMBERS.contains(&n) || BOOLS.contains(&n))
                && enum_code(n, t.as_str()).is_ok()
        }
    };
    if ok {
        return Ok(());
    }
    Err(if name.is_numeric() || UNITLESS_NUMBERS.contains(&n) {
        TypeMismatch::Number
    } else if BOOLS.contains(&n) {
        TypeMismatch::Bool
    } else {
        TypeMismatch::Enum
    })
}

/// Physical ranges of the model's metrics, inclusive: a value outside is
/// a broken sensor or a bad decoder, never a measurement (spec §13).
const PHYSICAL_RANGES: &[(&str, f64, f64)] = &[
    ("battery_pct", 0.0, 100.0),
    ("soc_pct", 0.0, 100.0),
    ("load_pct", 0.0, 200.0),
    ("level_m", 0.0, f64::MAX),
    ("rain_mm_h", 0.0, 1000.0),
    ("rain_mm_total", 0.0, f64::MAX),
    ("energy_wh", 0.0, f64::MAX),
    ("trips_total", 0.0, f64::MAX),
    ("door_cycles_total", 0.0, f64::MAX),
];

/// The physical range `(min, max)` of metric `name`, when the model gives
/// it one.
pub fn physical_range(name: &str) -> Option<(f64, f64)> {
    PHYSICAL_RANGES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// Why an enum metric's value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value is not one of the metric's enum values")]
pub struct UnknownEnumValue;

/// The stable integer code of an enum metric's value, written to the store
/// as `{metric}_code`. `Ok(None)` when `metric` is not an enum of the model;
/// an error when it is one and `value` is not among its values.
pub fn enum_code(metric: &str, value: &str) -> Result<Option<i64>, UnknownEnumValue> {
    match ENUMS.iter().find(|(m, _)| *m == metric) {
        None => Ok(None),
        Some((_, values)) => values
            .iter()
            .position(|v| *v == value)
            .map(|i| Some(i as i64))
            .ok_or(UnknownEnumValue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_the_rule() {
        for ok in ["level_m", "trips_total", "rain_mm_h", "floor", "a1"] {
            assert!(MetricName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "1a", "_a", "Level", "a-b", "a b", "a,b", "a=b", "a\"", "a\n",
        ] {
            assert!(MetricName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(MetricName::parse(&"a".repeat(49)).is_err());
    }

    #[test]
    fn unit_suffixes_make_numeric_metrics() {
        for n in ["level_m", "rain_mm_h", "trips_total", "power_w", "rssi_dbm"] {
            assert!(MetricName::parse(n).unwrap().is_numeric(), "{n}");
        }
        for n in ["door", "direction", "occupied", "mode", "status"] {
            assert!(!MetricName::parse(n).unwrap().is_numeric(), "{n}");
        }
    }

    #[test]
    fn values_refuse_non_finite_and_free_text() {
        assert_eq!(Value::number(f64::NAN), Err(ValueError::NotFinite));
        assert_eq!(Value::number(f64::INFINITY), Err(ValueError::NotFinite));
        assert!(Value::text("out_of_service").is_ok());
        assert!(Value::text("Out Of Service").is_err());
        assert!(Value::text("x\"y").is_err());
    }

    #[test]
    fn model_metrics_have_types() {
        let name = |n| MetricName::parse(n).unwrap();
        let num = Value::Number(1.0);
        let yes = Value::Bool(true);
        let up = Value::text("up").unwrap();
        assert_eq!(check_type(&name("floor"), &num), Ok(()));
        assert_eq!(check_type(&name("floor"), &up), Err(TypeMismatch::Number));
        assert_eq!(
            check_type(&name("level_m"), &yes),
            Err(TypeMismatch::Number)
        );
        assert_eq!(check_type(&name("occupied"), &yes), Ok(()));
        assert_eq!(check_type(&name("occupied"), &num), Err(TypeMismatch::Bool));
        assert_eq!(check_type(&name("direction"), &up), Ok(()));
        assert_eq!(
            check_type(&name("direction"), &num),
            Err(TypeMismatch::Enum)
        );
        assert_eq!(check_type(&name("door"), &up), Err(TypeMismatch::Enum));
        assert_eq!(check_type(&name("vendor_mode"), &up), Ok(()));
    }

    #[test]
    fn enum_codes_are_stable() {
        assert_eq!(enum_code("direction", "down"), Ok(Some(2)));
        assert_eq!(enum_code("status", "faulted"), Ok(Some(8)));
        assert_eq!(enum_code("status", "exploded"), Err(UnknownEnumValue));
        assert_eq!(enum_code("level_m", "x"), Ok(None));
    }
}
