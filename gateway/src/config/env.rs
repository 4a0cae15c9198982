//! Environment overrides of config keys: `RETROFIT_<TABLE>_<KEY>` for the
//! top-level tables (`RETROFIT_MQTT_URL`, `RETROFIT_GATEWAY_DATA_DIR`), and
//! `RETROFIT_LINK_<ID>_<KEY>` / `RETROFIT_DEVICE_<ID>_<KEY>` for entries of
//! `[[link]]` and `[[device]]` (ID upper-cased, `-` as `_`).
//!
//! Overrides are applied to the parsed document before typed decoding, so
//! they are validated exactly like file values. Values never reach logs.

use std::borrow::Cow;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Tables that can be overridden key by key.
const TABLES: [&str; 6] = ["gateway", "mqtt", "influx", "journal", "http", "sla"];

/// One applied override, for error messages.
#[derive(Debug, Clone)]
pub struct Override {
    pub var: String,
    pub span: Range<usize>,
}

/// Applies every matching variable of `vars` to `root`.
pub fn apply<'i>(root: &mut Spanned<DeTable<'i>>, vars: &'i [(String, String)]) -> Vec<Override> {
    let mut applied = Vec::new();
    for (var, value) in vars {
        let Some(rest) = var.strip_prefix("RETROFIT_") else {
            continue;
        };
        let whole = root.span();
        if let Some(span) = apply_one(root.get_mut(), rest, value, whole) {
            applied.push(Override {
                var: var.clone(),
                span,
            });
        }
    }
    applied
}

fn env_name(s: &str) -> String {
    s.to_ascii_uppercase().replace('-', "_")
}

fn apply_one<'i>(
    root: &mut DeTable<'i>,
    rest: &str,
    value: &'i str,
    whole: Range<usize>,
) -> Option<Range<usize>> {
    for table in TABLES {
        if let Some(key) = rest.strip_prefix(&format!("{}_", env_name(table))) {
            let entry = root
                .entry(Spanned::new(whole.clone(), Cow::Borrowed(table)))
                .or_insert_with(|| Spanned::new(whole.clone(), DeValue::Table(DeTable::new())));
            let span = entry.span();
            let DeValue::Table(t) = entry.get_mut() else {
                return None;
            };
            return Some(set_key(t, &key.to_ascii_lowercase(), value, span));
        }
    }
    for (array, prefix) in [("link", "LINK_"), ("device", "DEVICE_")] {
        let Some(rest) = rest.strip_prefix(prefix) else {
            continue;
        };
        let DeValue::Array(items) = root.get_mut(array)?.get_mut() else {
            return None;
        };
        for item in items.iter_mut() {
            let span = item.span();
            let DeValue::Table(t) = item.get_mut() else {
                continue;
            };
            let id = match t.get("id").map(|v| v.get_ref()) {
                Some(DeValue::String(id)) => env_name(id),
                _ => continue,
            };
            if let Some(key) = rest.strip_prefix(&format!("{id}_")) {
                return Some(set_key(t, &key.to_ascii_lowercase(), value, span));
            }
        }
    }
    None
}

/// Sets `key` to `value`, parsed as a TOML value when it is one (numbers,
/// booleans, arrays) and as a string otherwise. Returns the span an error
/// about the key should point at.
fn set_key<'i>(
    table: &mut DeTable<'i>,
    key: &str,
    value: &'i str,
    table_span: Range<usize>,
) -> Range<usize> {
    let parsed = match DeValue::parse(value) {
        Ok(v) if !matches!(v.get_ref(), DeValue::Table(_)) => v.into_inner(),
        _ => DeValue::String(Cow::Borrowed(value)),
    };
    let span = table.get(key).map(|v| v.span()).unwrap_or(table_span);
    table.insert(
        Spanned::new(span.clone(), Cow::Owned(key.to_string())),
        Spanned::new(span.clone(), parsed),
    );
    span
}
