//! Configuration errors shared by drivers and node applications.
//!
//! A configuration is checked once, when a driver or an application is
//! built; nothing at run time may fail because of a bad setting.

/// A setting that cannot work, named by its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{field}`: {reason}")]
pub struct ConfigError {
    pub field: &'static str,
    pub reason: &'static str,
}

impl ConfigError {
    /// Fails with `reason` unless `ok`.
    pub(crate) fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), Self> {
        if ok {
            Ok(())
        } else {
            Err(Self { field, reason })
        }
    }
}
