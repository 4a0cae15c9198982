//! The `[journal]` table of the gateway config.
//!
//! Plain data with defaults; it never touches the disk.

use serde::Deserialize;

/// Journal limits. Every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Size bound of the journal (payload bytes plus a per-record overhead
    /// estimate, see the module docs). Default 1 GiB.
    pub max_bytes: u64,
    /// Bulk (telemetry) records per second each output drains from its
    /// backlog; 0 means unlimited. Default 50,000.
    pub drain_rate: u32,
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
        let cfg: JournalConfig = toml::from_str("max_bytes = 4096\ndrain_rate = 10").unwrap();
        assert_eq!((cfg.max_bytes, cfg.drain_rate), (4096, 10));
        assert!(toml::from_str::<JournalConfig>("max_byte = 1").is_err());
        assert!(toml::from_str::<JournalConfig>("max_bytes = -1").is_err());
        assert!(toml::from_str::<JournalConfig>("drain_rate = \"fast\"").is_err());
    }
}
