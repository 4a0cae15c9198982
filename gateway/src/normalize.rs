//! Normalization shared by the links: from decoded input to the canonical
//! model, and the rejection type for everything that fails (spec §4, §13).
//!
//! Every metric name, value and enum is validated through
//! `retrofit_protocols`; nothing here lets an unvalidated string through.
//! Rejections carry a short machine reason (counted in metrics and put on
//! the dead-letter topic) and a human detail.

use retrofit_protocols::flat_object::{FlatObject, Scalar};
use retrofit_protocols::json::JsonError;
use retrofit_protocols::metric::check_type;
use retrofit_protocols::reading::{Metrics, METRICS_MAX};
use retrofit_protocols::{MetricName, Value, MAX_INPUT_BYTES};

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A short reason, valid as an ID: `malformed_json`, `unknown_device`...
    pub reason: &'static str,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

impl From<JsonError> for Rejection {
    /// Malformed text is `malformed_json`; a wrongly shaped document,
    /// `invalid_field`.
    fn from(e: JsonError) -> Self {
        let reason = if e.is_syntax() {
            "malformed_json"
        } else {
            "invalid_field"
        };
        Self::new(reason, e.to_string())
    }
}

/// The text of a JSON input: refused over the size limit, before any
/// parsing, and when it is not UTF-8.
pub fn json_text(input: &[u8]) -> Result<&str, Rejection> {
    check_size(input)?;
    std::str::from_utf8(input)
        .map_err(|e| Rejection::new("malformed_json", format!("not UTF-8: {e}")))
}

/// Refuses inputs over the size limit before any parsing.
fn check_size(input: &[u8]) -> Result<(), Rejection> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(Rejection::new(
            "oversized",
            format!(
                "{} bytes is over the {MAX_INPUT_BYTES}-byte limit",
                input.len()
            ),
        ));
    }
    Ok(())
}

/// Validates one metric: the name, and the value against the type the
/// model gives the metric (`retrofit_protocols::metric::check_type`).
pub fn metric(name: &str, value: &Scalar<'_>) -> Result<(MetricName, Value), Rejection> {
    let name = MetricName::parse(name)
        .map_err(|e| Rejection::new("invalid_metric", format!("metric name {name:?} {e}")))?;
    let invalid = |why: String| Rejection::new("invalid_value", format!("{name}: {why}"));
    let value = match value {
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Number(x) => Value::number(*x).map_err(|e| invalid(e.to_string()))?,
        Scalar::Str(s) => Value::text(s).map_err(|e| invalid(format!("{s:?}: {e}")))?,
        Scalar::Other(what) => {
            return Err(invalid(format!(
                "expected a number, bool or enum string, got {what}"
            )))
        }
    };
    check_type(&name, &value).map_err(|e| invalid(e.to_string()))?;
    Ok((name, value))
}

/// Validates a flat object of metrics (codec output, direct MQTT payload).
pub fn metrics_from_json(object: &FlatObject<'_>) -> Result<Metrics, Rejection> {
    if object.len() > METRICS_MAX {
        return Err(Rejection::new(
            "too_many_metrics",
            format!("{} metrics, at most {METRICS_MAX}", object.len()),
        ));
    }
    if object.is_empty() {
        return Err(Rejection::new("no_metrics", "the input carries no metric"));
    }
    let mut metrics = Metrics::with_capacity(object.len() + 2);
    for (k, v) in object.iter() {
        let (name, value) = metric(k, v)?;
        if metrics.iter().any(|(n, _)| *n == name) {
            return Err(Rejection::new(
                "invalid_metric",
                format!("metric {name} appears twice"),
            ));
        }
        metrics.push((name, value));
    }
    Ok(metrics)
}

/// Adds `name = value` unless the metrics already have it.
pub fn add_if_absent(metrics: &mut Metrics, name: &str, value: f64) {
    if metrics.len() >= METRICS_MAX || metrics.iter().any(|(n, _)| n.as_str() == name) {
        return;
    }
    if let (Ok(n), Ok(v)) = (MetricName::parse(name), Value::number(value)) {
        metrics.push((n, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: serde_json::Value) -> FlatObject<'static> {
        let text = Box::leak(v.to_string().into_boxed_str());
        retrofit_protocols::json::from_str(text).unwrap()
    }

    #[test]
    fn accepts_model_values() {
        let m = metrics_from_json(&object(
            json!({"level_m": 1.5, "moving": true, "direction": "up"}),
        ))
        .unwrap();
        assert_eq!(m.len(), 3);
        let direction = m.iter().find(|(n, _)| n.as_str() == "direction").unwrap();
        assert_eq!(direction.1, Value::text("up").unwrap());
    }

    #[test]
    fn rejects_injection_and_wrong_types() {
        let cases = [
            (json!({"level m": 1}), "invalid_metric"),
            (json!({"a,b=c": 1}), "invalid_metric"),
            (json!({"x\ny": 1}), "invalid_metric"),
            (json!({"level_m": "1.5 m"}), "invalid_value"),
            (json!({"level_m": "deep"}), "invalid_value"),
            (json!({"trips_total": true}), "invalid_value"),
            (json!({"floor": "third"}), "invalid_value"),
            (json!({"occupied": 1}), "invalid_value"),
            (json!({"level_m": [1]}), "invalid_value"),
            (json!({"level_m": null}), "invalid_value"),
            (json!({"direction": "sideways"}), "invalid_value"),
            (json!({}), "no_metrics"),
        ];
        for (input, reason) in cases {
            let got = metrics_from_json(&object(input.clone())).unwrap_err();
            assert_eq!(got.reason, reason, "{input}");
        }
    }

    #[test]
    fn size_limit() {
        assert!(check_size(&vec![b' '; MAX_INPUT_BYTES]).is_ok());
        assert_eq!(
            check_size(&vec![b' '; MAX_INPUT_BYTES + 1])
                .unwrap_err()
                .reason,
            "oversized"
        );
    }
}
