//! Secrets read from files (spec §9): MQTT passwords, store tokens.
//!
//! A [`SecretFile`] is read when the config is loaded, so a missing file is
//! a config error with its location. Its content never appears in `Debug`,
//! logs or error messages.

use std::fmt;
use std::path::PathBuf;

use serde::de::{Deserialize, Deserializer, Error as _};

/// The trimmed content of a secret file, and where it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretFile {
    pub path: PathBuf,
    value: String,
}

impl SecretFile {
    /// The secret itself; hand it to a client, never to a log.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretFile({:?}, <redacted>)", self.path)
    }
}

impl<'de> Deserialize<'de> for SecretFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let path = PathBuf::deserialize(d)?;
        let value = std::fs::read_to_string(&path)
            .map_err(|e| D::Error::custom(format!("cannot read secret file {path:?}: {e}")))?;
        Ok(Self {
            value: value.trim_end_matches(['\r', '\n']).to_string(),
            path,
        })
    }
}
