//! The `[journal]` table of the gateway config.
//!
//! Plain data with defaults; it never touches the disk.

use serde::Deserialize;

/// Journal limits. Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Size bound of the journal (payload bytes plus a per-record overhead
    /// estimate, see the module docs). Default 1 GiB, at least 64 KiB.
    #[serde(deserialize_with = "at_least_min_bytes")]
    pub max_bytes: u64,
    /// Bulk (telemetry) records per second each output drains from its
    /// backlog; 0 means unlimited. Default 50,000.
    pub drain_rate: u32,
}

/// Smallest accepted size bound: a journal that cannot hold one batch of
/// readings would drop everything it is given.
pub const MIN_MAX_BYTES: u64 = 64 * 1024;

fn at_least_min_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v < MIN_MAX_BYTES {
        return Err(serde::de::Error::custom(format!(
            "max_bytes must be at least {MIN_MAX_BYTES} (64 KiB)"
        )));
    }
    Ok(v)
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 30,
            drain_rate: 50_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_default() {
        let cfg: JournalConfig = toml::from_str("").unwrap();
        assert_eq!(cfg, JournalConfig::default());
        assert_eq!(cfg.max_bytes, 1_073_741_824);
        assert_eq!(cfg.drain_rate, 50_000);
    }

    #[test]
    fn reads_keys_and_rejects_unknown_ones() {
        let cfg: JournalConfig = toml::from_str("max_bytes = 65536\ndrain_rate = 10").unwrap();
        assert_eq!((cfg.max_bytes, cfg.drain_rate), (65536, 10));
        assert!(toml::from_str::<JournalConfig>("max_bytes = 0").is_err());
        assert!(toml::from_str::<JournalConfig>("max_byte = 1").is_err());
        assert!(toml::from_str::<JournalConfig>("max_bytes = -1").is_err());
        assert!(toml::from_str::<JournalConfig>("drain_rate = \"fast\"").is_err());
    }
}
