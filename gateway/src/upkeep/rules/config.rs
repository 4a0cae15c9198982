//! `[[rule]]` entries (spec §9): gateway-side alarm rules for one device
//! (`device`) or every device of a kind (`kind`), checked on load.
//!
//! ```toml
//! [[rule]]
//! type = "high_water"        # warning_m, overflow_m, hysteresis_m
//! kind = "drainage"
//! warning_m = 0.8
//! overflow_m = 1.2
//! hysteresis_m = 0.05
//! [[rule]]
//! type = "battery_low"       # below_pct, hysteresis_pct
//! [[rule]]
//! type = "blockage_suspected" # rain_device, rise_m, within_s
//! [[rule]]
//! type = "stale"             # metric, after_s
//! ```
//!
//! Plain data; it never evaluates a reading.

use std::sync::Arc;

use retrofit_protocols::{DeviceKind, Id, MetricName};
use serde::Deserialize;
use toml::Spanned;

use crate::config::error::Problems;
use crate::devices::Device;

/// A `[[rule]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    #[serde(rename = "type")]
    pub rule: Spanned<String>,
    pub device: Option<Spanned<Id>>,
    pub kind: Option<DeviceKind>,
    pub warning_m: Option<f64>,
    pub overflow_m: Option<f64>,
    #[serde(default)]
    pub hysteresis_m: f64,
    pub below_pct: Option<f64>,
    #[serde(default)]
    pub hysteresis_pct: f64,
    pub rain_device: Option<Spanned<Id>>,
    pub rise_m: Option<f64>,
    pub within_s: Option<u32>,
    pub metric: Option<MetricName>,
    pub after_s: Option<u32>,
    /// Flapping damper: clear only once the condition has been gone this
    /// long (on reading timestamps). Default 0.
    #[serde(default)]
    pub clear_after_s: u32,
}

/// What a rule watches for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleKind {
    /// `high_water`: major at `warning_m`, critical at `overflow_m`, each
    /// stepping down `hysteresis_m` below its level.
    HighWater {
        warning_m: f64,
        overflow_m: f64,
        hysteresis_m: f64,
    },
    /// `battery_low` (minor) below `below_pct`, cleared `hysteresis_pct`
    /// above it.
    BatteryLow { below_pct: f64, hysteresis_pct: f64 },
    /// `blockage_suspected` (major): `level_m` up by `rise_m` within
    /// `within_s` while the rain gauge `rain_device` reads no rain.
    BlockageSuspected { rise_m: f64, within_s: u32 },
    /// `stale` (minor): no reading of `metric` arrived for `after_s`.
    Stale { after_s: u32 },
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub device: Option<Id>,
    pub kind: Option<DeviceKind>,
    pub rain_device: Option<Id>,
    pub what: RuleKind,
    /// The metric a `stale` rule watches.
    pub metric: Option<MetricName>,
    /// Clear only after the condition has been gone this long, ms.
    pub clear_after_ms: i64,
}

impl Rule {
    pub fn applies_to(&self, device: &Device) -> bool {
        self.device.as_ref().is_none_or(|d| *d == device.id)
            && self.kind.is_none_or(|k| k == device.kind)
    }
}

fn positive(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite() && *v > 0.0)
}

impl RuleEntry {
    /// The rule, or its problems reported.
    pub fn check(&self, devices: &[Arc<Device>], problems: &mut Problems<'_>) -> Option<Rule> {
        let at = self.rule.span();
        if let Some(d) = &self.device {
            if !devices.iter().any(|x| x.id == *d.get_ref()) {
                problems.at(d.span(), format!("no [[device]] has id {}", d.get_ref()));
                return None;
            }
        }
        let what = match self.rule.get_ref().as_str() {
            "high_water" => match (positive(self.warning_m), positive(self.overflow_m)) {
                (Some(w), Some(o)) if o > w && (0.0..w).contains(&self.hysteresis_m) => {
                    RuleKind::HighWater {
                        warning_m: w,
                        overflow_m: o,
                        hysteresis_m: self.hysteresis_m,
                    }
                }
                _ => {
                    problems.at(at, "high_water needs warning_m > 0, overflow_m above it, 0 <= hysteresis_m < warning_m");
                    return None;
                }
            },
            "battery_low" => match self.below_pct.filter(|b| (0.0..=100.0).contains(b)) {
                Some(b) if self.hysteresis_pct >= 0.0 => RuleKind::BatteryLow {
                    below_pct: b,
                    hysteresis_pct: self.hysteresis_pct,
                },
                _ => {
                    problems.at(
                        at,
                        "battery_low needs below_pct in 0..=100 and hysteresis_pct >= 0",
                    );
                    return None;
                }
            },
            "blockage_suspected" => match (
                positive(self.rise_m),
                self.within_s.filter(|s| *s > 0),
                &self.rain_device,
            ) {
                (Some(rise_m), Some(within_s), Some(rain))
                    if devices.iter().any(|x| x.id == *rain.get_ref()) =>
                {
                    RuleKind::BlockageSuspected { rise_m, within_s }
                }
                _ => {
                    problems.at(at, "blockage_suspected needs rise_m > 0, within_s > 0 and rain_device naming a [[device]]");
                    return None;
                }
            },
            "stale" => match (&self.metric, self.after_s.filter(|s| *s > 0)) {
                (Some(_), Some(after_s)) => RuleKind::Stale { after_s },
                _ => {
                    problems.at(at, "stale needs metric and after_s > 0");
                    return None;
                }
            },
            other => {
                problems.at(
                    at,
                    format!(
                        "unknown rule type {other:?} (high_water, battery_low, blockage_suspected, stale)"
                    ),
                );
                return None;
            }
        };
        Some(Rule {
            device: self.device.as_ref().map(|d| d.get_ref().clone()),
            kind: self.kind,
            rain_device: self.rain_device.as_ref().map(|d| d.get_ref().clone()),
            what,
            metric: self.metric.clone(),
            clear_after_ms: i64::from(self.clear_after_s) * 1000,
        })
    }
}
