//! Journal errors.
//!
//! Every failure of the journal is one of these; none of them is ever
//! swallowed: a failed append has committed nothing.

use std::path::PathBuf;

use crate::journal::Lane;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("journal directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no journal at {0}")]
    NotFound(PathBuf),
    #[error("journal schema version {found} is not supported (expected {expected})")]
    SchemaVersion { found: i64, expected: i64 },
    #[error("journal stores an unknown {what} code {code}")]
    BadCode { what: &'static str, code: i64 },
    #[error("journal file could not be switched to WAL mode (got {0:?})")]
    NotWal(String),
    #[error("output {0:?} is not registered with the journal")]
    UnknownOutput(String),
    #[error("ack of {lane:?} lane up to {pos} is past its last committed position {last}")]
    AckBeyondHead { lane: Lane, pos: u64, last: u64 },
    #[error("the journal writer lock was poisoned by a panic")]
    Poisoned,
}
