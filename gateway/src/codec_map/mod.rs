//! `[[codec_map]]` (spec §9): named, reusable maps from a vendor's JSON to
//! the model (`retrofit_protocols::codec_map`), where each device's metrics
//! come from (`metrics_from`), and applying a map to one vendor object.
//!
//! Config problems are reported `FILE:LINE:COL: reason` (unknown metric
//! names, conflicting targets, impossible paths, unknown units and map
//! names). Applying never fails the whole input for one bad value: that
//! metric is dead-lettered with its reason and the others flow.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use retrofit_protocols::codec_map::{check_entry, CodecMap, MapEntry, MapError, Path, Unit};
use retrofit_protocols::reading::Metrics;
use retrofit_protocols::{Id, MetricName, Value};
use serde::Deserialize;
use toml::Spanned;

use crate::config::error::Problems;
use crate::devices::DeviceEntry;
use crate::links::subscriber::LeftOut;
use crate::normalize::{add_if_absent, Rejection};

/// Where a device's metrics come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsFrom {
    /// The device's payload decoder only; `object` is ignored.
    Decoder,
    /// The network server's `object` (through the map, or keys that are
    /// model metric names); the decoder only when an uplink has none.
    Object,
    /// The decoder when one is configured, otherwise `object`.
    #[default]
    Auto,
}

/// A `[[codec_map]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodecMapTable {
    pub name: Spanned<Id>,
    pub metrics_from: Option<MetricsFrom>,
    #[serde(default)]
    pub entry: Vec<EntryTable>,
}

/// One `[[codec_map.entry]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryTable {
    pub path: Spanned<String>,
    pub metric: Spanned<String>,
    pub unit: Option<Spanned<String>>,
    pub values: Option<Spanned<BTreeMap<String, toml::Value>>>,
}

/// A validated named map.
#[derive(Debug, Clone)]
struct NamedMap {
    map: Arc<CodecMap>,
    metrics_from: Option<MetricsFrom>,
}

/// The config's maps by name.
#[derive(Debug, Clone, Default)]
pub struct CodecMaps(HashMap<Id, NamedMap>);

/// How one device's vendor JSON is read.
#[derive(Debug, Clone, Default)]
pub struct DeviceCodec {
    pub map: Option<Arc<CodecMap>>,
    pub metrics_from: MetricsFrom,
}

impl CodecMaps {
    /// Validates every table; a map with a problem is left out (and its
    /// problems reported).
    pub fn from_tables(tables: &[CodecMapTable], problems: &mut Problems<'_>) -> Self {
        let mut maps = HashMap::new();
        for t in tables {
            let Some(map) = build(t, problems) else {
                continue;
            };
            let named = NamedMap {
                map: Arc::new(map),
                metrics_from: t.metrics_from,
            };
            if maps.insert(t.name.get_ref().clone(), named).is_some() {
                problems.at(
                    t.name.span(),
                    format!("duplicate codec_map name {}", t.name.get_ref()),
                );
            }
        }
        Self(maps)
    }

    /// The codec of a device: its map (which must exist) and where its
    /// metrics come from (the device's choice, else the map's, else auto).
    pub fn for_device(&self, d: &DeviceEntry, problems: &mut Problems<'_>) -> DeviceCodec {
        let named = d.codec_map.as_ref().and_then(|name| {
            let found = self.0.get(name.get_ref());
            if found.is_none() {
                problems.at(
                    name.span(),
                    format!("no [[codec_map]] has name {}", name.get_ref()),
                );
            }
            found
        });
        let metrics_from = d
            .metrics_from
            .as_ref()
            .map(|m| *m.get_ref())
            .or(named.and_then(|n| n.metrics_from))
            .unwrap_or_default();
        DeviceCodec {
            map: named.map(|n| Arc::clone(&n.map)),
            metrics_from,
        }
    }
}

fn build(t: &CodecMapTable, problems: &mut Problems<'_>) -> Option<CodecMap> {
    let before = problems.len();
    let entries: Vec<MapEntry> = t.entry.iter().filter_map(|e| entry(e, problems)).collect();
    if problems.len() > before {
        return None;
    }
    if entries.is_empty() {
        problems.at(
            t.name.span(),
            "a codec_map needs at least one [[codec_map.entry]]",
        );
        return None;
    }
    match CodecMap::new(entries) {
        Ok(map) => Some(map),
        Err((i, error)) => {
            let at = t.entry.get(i).map_or(t.name.span(), |e| span_of(e, &error));
            problems.at(at, error.to_string());
            None
        }
    }
}

/// Where in its entry a map error is: the key it is about.
fn span_of(e: &EntryTable, error: &MapError) -> std::ops::Range<usize> {
    let key = match error {
        MapError::UnitMismatch { .. } => e.unit.as_ref().map(Spanned::span),
        MapError::BadValue { .. } => e.values.as_ref().map(Spanned::span),
        _ => None,
    };
    key.unwrap_or_else(|| e.metric.span())
}

fn entry(e: &EntryTable, problems: &mut Problems<'_>) -> Option<MapEntry> {
    let path = e
        .path
        .get_ref()
        .parse::<Path>()
        .map_err(|why| problems.at(e.path.span(), why.to_string()));
    let metric = MetricName::parse(e.metric.get_ref()).map_err(|why| {
        problems.at(
            e.metric.span(),
            format!("metric name {:?} {why}", e.metric.get_ref()),
        )
    });
    let unit = match &e.unit {
        Some(u) => Unit::parse(u.get_ref())
            .map(Some)
            .map_err(|why| problems.at(u.span(), why.to_string())),
        None => Ok(None),
    };
    let values = match &e.values {
        Some(v) => enum_values(v.get_ref()).map_err(|why| problems.at(v.span(), why)),
        None => Ok(Vec::new()),
    };
    let entry = MapEntry {
        path: path.ok()?,
        metric: metric.ok()?,
        unit: unit.ok()?,
        values: values.ok()?,
    };
    match check_entry(&entry) {
        Ok(()) => Some(entry),
        Err(error) => {
            problems.at(span_of(e, &error), error.to_string());
            None
        }
    }
}

fn enum_values(table: &BTreeMap<String, toml::Value>) -> Result<Vec<(String, Value)>, String> {
    table
        .iter()
        .map(|(vendor, v)| {
            let value = match v {
                toml::Value::Boolean(b) => Ok(Value::Bool(*b)),
                toml::Value::Integer(i) => Value::number(*i as f64).map_err(|e| e.to_string()),
                toml::Value::Float(x) => Value::number(*x).map_err(|e| e.to_string()),
                toml::Value::String(s) => Value::text(s).map_err(|e| format!("{s:?}: {e}")),
                _ => Err("expected true, false, a number or an enum value".into()),
            };
            value
                .map(|v| (vendor.clone(), v))
                .map_err(|e| format!("values.{vendor}: {e}"))
        })
        .collect()
}

/// The metrics one vendor object gives through `map`, and what it left
/// out: one `invalid_value` rejection per metric that could not convert,
/// and the count of top-level keys no entry reads.
#[derive(Debug, Default)]
pub struct Mapped {
    pub metrics: Metrics,
    pub left_out: LeftOut,
}

/// Applies `map` to the JSON text of a vendor object, then derives
/// `level_m` from `distance_mm` when the device's mount height is known
/// and the map gives no level.
pub fn apply(map: &CodecMap, text: &str, mount_height_m: Option<f64>) -> Result<Mapped, Rejection> {
    let object: serde_json::Value = retrofit_protocols::json::from_str(text)?;
    let applied = map.apply(&object);
    let failed = applied.failed.into_iter();
    let mut mapped = Mapped {
        metrics: applied.metrics,
        left_out: LeftOut {
            failed: failed
                .map(|(metric, why)| Rejection::new("invalid_value", format!("{metric}: {why}")))
                .collect(),
            ignored_keys: applied.ignored_keys as u64,
        },
    };
    if let Some(mount) = mount_height_m {
        derive_level(&mut mapped, mount);
    }
    if mapped.metrics.is_empty() && mapped.left_out.failed.is_empty() {
        return Err(Rejection::new(
            "no_metrics",
            "no key of the map is in the object",
        ));
    }
    Ok(mapped)
}

fn derive_level(mapped: &mut Mapped, mount_m: f64) {
    let distance = mapped.metrics.iter().find_map(|(n, v)| match v {
        Value::Number(x) if n.as_str() == "distance_mm" => Some(*x),
        _ => None,
    });
    let Some(mm) = distance else { return };
    let level_mm = (mount_m * 1000.0 - mm).round();
    // As the payload decoders: a little below the bottom is echo noise.
    if level_mm < -(10.0 + mm * 0.003) {
        mapped.left_out.failed.push(Rejection::new(
            "invalid_value",
            format!("level_m: distance_mm {mm} is beyond the mount height {mount_m} m"),
        ));
        return;
    }
    add_if_absent(&mut mapped.metrics, "level_m", level_mm.max(0.0) / 1000.0);
}

#[cfg(test)]
mod tests;
