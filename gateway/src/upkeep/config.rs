//! The `[sla]` table (spec §9): the entrapment arrival target, planned
//! maintenance windows, and how long and how much history is kept.
//!
//! Plain data with defaults, checked against the configured devices on
//! load; it never touches the disk.

use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::history::Maintenance;
use super::sla::DEFAULT_ARRIVAL_TARGET_S;
use crate::config::error::Problems;
use crate::devices::Device;

/// `[sla]`. Every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaConfig {
    /// Technician arrival target for an entrapment, seconds.
    pub arrival_target_s: u32,
    /// Days of history kept. Default 400, at least 1.
    #[serde(deserialize_with = "at_least_one_day")]
    pub retention_days: u32,
    /// Size bound of the history store, bytes. Default 256 MiB, at least
    /// 1 MiB.
    #[serde(deserialize_with = "at_least_min_bytes")]
    pub max_bytes: u64,
    /// `[[sla.maintenance]]`: planned windows (`from`, `to`, optional
    /// `device` or `kind`, `reason`).
    pub maintenance: Vec<Spanned<Maintenance>>,
}

impl Default for SlaConfig {
    fn default() -> Self {
        Self {
            arrival_target_s: DEFAULT_ARRIVAL_TARGET_S,
            retention_days: 400,
            max_bytes: 256 << 20,
            maintenance: Vec::new(),
        }
    }
}

/// Smallest accepted history bound.
pub const MIN_MAX_BYTES: u64 = 1 << 20;

fn at_least_one_day<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(serde::de::Error::custom(
            "retention_days must be at least 1",
        )),
        v => Ok(v),
    }
}

fn at_least_min_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v < MIN_MAX_BYTES {
        return Err(serde::de::Error::custom(format!(
            "max_bytes must be at least {MIN_MAX_BYTES} (1 MiB)"
        )));
    }
    Ok(v)
}

impl SlaConfig {
    /// Reports bad values and windows naming unknown devices.
    pub fn check(&self, devices: &[Arc<Device>], problems: &mut Problems<'_>) {
        for m in &self.maintenance {
            let w = m.get_ref();
            if w.to <= w.from {
                problems.at(m.span(), "maintenance window must end after it starts");
            }
            if let Some(d) = &w.device {
                if !devices.iter().any(|x| x.id == *d) {
                    problems.at(m.span(), format!("maintenance names unknown device {d}"));
                }
            }
        }
    }

    /// The planned windows.
    pub fn planned(&self) -> Vec<Maintenance> {
        self.maintenance
            .iter()
            .map(|m| m.get_ref().clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const DEMO: &str = include_str!("../../../config/demo.toml");

    #[test]
    fn defaults_and_windows() {
        let c = Config::parse(DEMO, "demo.toml").unwrap();
        assert_eq!(c.sla.arrival_target_s, 1800);
        assert_eq!(c.sla.retention_days, 400);
        let text = format!(
            "{DEMO}\n[sla]\narrival_target_s = 900\n[[sla.maintenance]]\n\
             from = \"2026-11-02T00:00:00Z\"\nto = \"2026-11-02T04:00:00Z\"\nkind = \"elevator\"\n"
        );
        let c = Config::parse(&text, "t.toml").unwrap();
        assert_eq!(c.sla.arrival_target_s, 900);
        let planned = c.sla.planned();
        assert_eq!(planned[0].span().len(), 4 * 3_600_000);
    }

    #[test]
    fn problems_are_located() {
        let sla = "\n[sla]\nretention_days = 0\nmax_bytes = 10\n\
                   [[sla.maintenance]]\nfrom = \"2026-11-02T04:00:00Z\"\nto = \"2026-11-02T00:00:00Z\"\n\
                   [[sla.maintenance]]\nfrom = \"2026-11-02T00:00:00Z\"\nto = \"2026-11-03T00:00:00Z\"\ndevice = \"ghost\"\n";
        let text = format!("{DEMO}{sla}");
        let line = DEMO.lines().count() + 3;
        for (drop, reason) in [
            ("max_bytes = 10\n", "retention_days must be at least 1"),
            ("retention_days = 0\n", "max_bytes must be at least 1048576"),
        ] {
            let e = Config::parse(&text.replace(drop, ""), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("t.toml:{line}:")), "{e}");
            assert!(e.contains(reason), "{e}");
        }
        let text = text.replace("retention_days = 0\nmax_bytes = 10\n", "");
        let e = Config::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            e.contains("maintenance window must end after it starts"),
            "{e}"
        );
        assert!(e.contains("maintenance names unknown device ghost"), "{e}");
        assert_eq!(e.lines().count(), 2, "{e}");
    }
}
