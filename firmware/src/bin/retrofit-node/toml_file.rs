//! The node's own TOML files (its configuration and its saved settings):
//! reading and parsing one, and the one error type for a file that cannot
//! be read, written or parsed, naming the file. Never writes a file and
//! never checks the values it parses.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why one of the node's files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

impl FileError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the file is simply not there.
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// `text` parsed as `T`; errors name `path`.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, FileError> {
    toml::from_str(text).map_err(|source| FileError::Parse {
        path: path.into(),
        source: Box::new(source),
    })
}

/// The file at `path` parsed as `T`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError::io(path, e))?;
    parse(path, &text)
}
