//! Codec maps (spec §7, §9 `[[codec_map]]`): how a vendor's JSON (a
//! network server codec's `object`, a device's own payload) becomes
//! metrics of the model. Each entry names a key or a nested path
//! (`Distance`, `level.value`, `sensors[0].temp`), the metric it feeds,
//! the unit of a bare number, and optionally an enum mapping
//! (`"Occupied"`/`1` -> `true`).
//!
//! A key is never a metric name unless an entry names it; keys no entry
//! reads are only counted. A mapped value that cannot be converted fails
//! that metric alone, with the reason. Never panics on any input.

mod path;
mod unit;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::Value as Json;

use crate::metric::{check_type, MetricName, Value};
use crate::reading::{Metrics, METRICS_MAX};

pub use path::{Path, PathError, Segment};
pub use unit::{number_with_unit, Unit, UnitError};

/// One mapping: a vendor path to a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    pub path: Path,
    pub metric: MetricName,
    /// Unit of a bare number (a unit written in a string wins); `None`:
    /// already in the metric's unit.
    pub unit: Option<Unit>,
    /// Vendor values (as text: `Occupied`, `1`, `true`) to model values;
    /// when given, only these values are accepted.
    pub values: Vec<(String, Value)>,
}

/// A validated map: targets unique, units convertible to their metric's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodecMap {
    pub entries: Vec<MapEntry>,
}

/// A map entry that can never work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("metric {0} is not in the model: it needs a unit suffix, `_total`, or to be one of the model's unitless metrics")]
    UnknownMetric(String),
    #[error("metric {0} is already the target of another entry")]
    ConflictingTarget(String),
    #[error("unit {unit} cannot be converted to metric {metric}'s unit")]
    UnitMismatch { unit: &'static str, metric: String },
    #[error("value {value:?} for {metric}: {why}")]
    BadValue {
        value: String,
        metric: String,
        why: String,
    },
    #[error("a map has at most {METRICS_MAX} entries")]
    TooManyEntries,
}

/// What applying a map to one vendor object gave.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    pub metrics: Metrics,
    /// Metrics whose value could not be converted, with the reason.
    pub failed: Vec<(MetricName, String)>,
    /// Top-level keys of the object no entry reads.
    pub ignored_keys: usize,
}

impl CodecMap {
    /// Checks `entries` against the model and each other.
    pub fn new(entries: Vec<MapEntry>) -> Result<Self, (usize, MapError)> {
        if entries.len() > METRICS_MAX {
            return Err((METRICS_MAX, MapError::TooManyEntries));
        }
        for (i, e) in entries.iter().enumerate() {
            check_entry(e).map_err(|err| (i, err))?;
            if entries[..i].iter().any(|o| o.metric == e.metric) {
                return Err((i, MapError::ConflictingTarget(e.metric.to_string())));
            }
        }
        Ok(Self { entries })
    }

    /// Maps one vendor object; entries whose path the object lacks give
    /// nothing.
    pub fn apply(&self, object: &Json) -> Applied {
        let mut out = Applied::default();
        for e in &self.entries {
            let Some(raw) = e.path.find(object) else {
                continue;
            };
            match convert(e, raw) {
                Ok(v) => out.metrics.push((e.metric.clone(), v)),
                Err(why) => out.failed.push((e.metric.clone(), why)),
            }
        }
        if let Json::Object(members) = object {
            out.ignored_keys = members
                .keys()
                .filter(|k| !self.entries.iter().any(|e| e.path.first_key() == Some(k)))
                .count();
        }
        out
    }
}

/// Whether a metric name is one the model knows how to type: a unit
/// suffix, a counter, or one of its unitless metrics.
pub fn is_model_metric(metric: &MetricName) -> bool {
    metric.is_numeric() || crate::metric::is_unitless_model_metric(metric.as_str())
}

/// Checks one entry against the model (its target's name, unit and enum
/// values); [`CodecMap::new`] also checks the entries against each other.
pub fn check_entry(e: &MapEntry) -> Result<(), MapError> {
    if !is_model_metric(&e.metric) {
        return Err(MapError::UnknownMetric(e.metric.to_string()));
    }
    if let Some(unit) = e.unit {
        let target = Unit::of_metric(&e.metric);
        if !target.is_some_and(|t| unit.converts_to(t)) {
            return Err(MapError::UnitMismatch {
                unit: unit.name(),
                metric: e.metric.to_string(),
            });
        }
    }
    for (vendor, value) in &e.values {
        check_type(&e.metric, value).map_err(|why| MapError::BadValue {
            value: vendor.clone(),
            metric: e.metric.to_string(),
            why: why.to_string(),
        })?;
    }
    Ok(())
}

/// The model value of one vendor value, or why there is none.
fn convert(e: &MapEntry, raw: &Json) -> Result<Value, String> {
    let value = if e.values.is_empty() {
        scalar(e, raw)?
    } else {
        let key = enum_key(raw).ok_or_else(|| describe(raw))?;
        let found = e.values.iter().find(|(vendor, _)| *vendor == key);
        found
            .map(|(_, v)| v.clone())
            .ok_or_else(|| alloc::format!("{key:?} is not one of the map's values"))?
    };
    check_type(&e.metric, &value).map_err(|why| alloc::format!("{}: {why}", describe(raw)))?;
    Ok(value)
}

fn scalar(e: &MapEntry, raw: &Json) -> Result<Value, String> {
    match raw {
        Json::Bool(b) => Ok(Value::Bool(*b)),
        Json::Number(n) => {
            let x = n.as_f64().ok_or_else(|| describe(raw))?;
            number(e, x, e.unit)
        }
        Json::String(s) => match number_with_unit(s) {
            Some(Ok((x, unit))) => number(e, x, unit.or(e.unit)),
            Some(Err(why)) => Err(alloc::format!("{}: {why}", describe(raw))),
            None => Value::text(s).map_err(|why| alloc::format!("{}: {why}", describe(raw))),
        },
        _ => Err(alloc::format!(
            "expected a number, bool or string, got {}",
            describe(raw)
        )),
    }
}

/// `x` in `unit`, in the metric's unit.
fn number(e: &MapEntry, x: f64, unit: Option<Unit>) -> Result<Value, String> {
    let x = match (unit, Unit::of_metric(&e.metric)) {
        (Some(from), Some(to)) => from.convert(x, to).map_err(|why| why.to_string())?,
        (Some(from), None) => return Err(alloc::format!("{}: {}", from.name(), UnitError::NoUnit)),
        (None, _) => x,
    };
    Value::number(x).map_err(|why| why.to_string())
}

/// A vendor value as the text an enum mapping matches.
fn enum_key(raw: &Json) -> Option<String> {
    match raw {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A short description of a vendor value for a reason (bounded).
fn describe(raw: &Json) -> String {
    match raw {
        Json::Null => "null".into(),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
        other => {
            let mut text = other.to_string();
            if text.len() > 64 {
                let cut = (0..=64)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            text
        }
    }
}

#[cfg(test)]
mod tests;
