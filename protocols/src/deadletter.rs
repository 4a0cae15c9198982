//! Dead letters (spec §5, §13): rejected input and the reason, published on
//! `retrofit/v1/{site}/gateway/{gateway}/deadletter`.
//!
//! The input is kept as an excerpt (lossy UTF-8, control characters
//! replaced, bounded), so that a hostile payload can never grow a dead
//! letter or break a consumer.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::event::Source;
use crate::id::Id;
use crate::reading::{BoundedText, SCHEMA_VERSION};
use crate::time::Timestamp;

/// Longest input excerpt kept in a dead letter, in bytes.
pub const EXCERPT_MAX_LEN: usize = 512;

/// One rejected input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetter {
    pub v: u8,
    pub site: Id,
    pub gateway: Id,
    /// When the gateway rejected it.
    pub ts: Timestamp,
    pub source: Source,
    /// The link (or output) that rejected it.
    pub link: Id,
    /// Short machine-readable reason, e.g. `malformed_json`.
    pub reason: Id,
    /// Human-readable detail.
    pub detail: BoundedText,
    /// Where the input came from (topic, node), if known.
    pub origin: BoundedText,
    /// The start of the input.
    pub input: BoundedText,
    /// The input's full length in bytes.
    pub input_len: usize,
}

impl DeadLetter {
    /// Builds a dead letter, excerpting `input`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        site: Id,
        gateway: Id,
        ts: Timestamp,
        source: Source,
        link: Id,
        reason: Id,
        detail: &str,
        origin: &str,
        input: &[u8],
    ) -> Self {
        let head = &input[..input.len().min(EXCERPT_MAX_LEN)];
        let text = alloc::string::String::from_utf8_lossy(head);
        Self {
            v: SCHEMA_VERSION,
            site,
            gateway,
            ts,
            source,
            link,
            reason,
            detail: BoundedText::lossy(detail),
            origin: BoundedText::lossy(origin),
            input: BoundedText::lossy(&text),
            input_len: input.len(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_hostile_input() {
        let id = |s| Id::parse(s).unwrap();
        let input = [b"\x00\xff{\"a\":\n".as_slice(), &[b'x'; 100_000]].concat();
        let d = DeadLetter::new(
            id("s"),
            id("gw"),
            crate::Timestamp(0),
            Source::Mqtt,
            id("direct"),
            id("malformed_json"),
            "expected value at line 1",
            "a/b",
            &input,
        );
        assert_eq!(d.input_len, input.len());
        assert!(d.input.as_str().len() <= EXCERPT_MAX_LEN * 3);
        assert!(!d.input.as_str().contains(['\0', '\n']));
        let back: DeadLetter = serde_json::from_slice(&d.to_json()).unwrap();
        assert_eq!(back, d);
    }
}
