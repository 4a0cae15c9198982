//! Why a frame could not be decoded or encoded. Each decode error names the
//! first thing wrong, precisely enough to count it by reason (§13); this
//! module must never carry the offending bytes themselves.

/// Which part of a frame a [`DecodeError::BadField`] is about.
pub type Field = &'static str;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("body ends inside it")]
    Missing,
    #[error("value out of range")]
    OutOfRange,
    #[error("not a valid name")]
    BadName,
    #[error("appears twice")]
    Duplicate,
    #[error("unexpected bytes after it")]
    Trailing,
}

/// A received frame that was dropped, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("frame longer than the link allows before a 0x00 delimiter")]
    Oversized,
    #[error("malformed COBS stuffing")]
    Cobs,
    #[error("frame of {len} bytes is shorter than header and CRC")]
    Truncated { len: usize },
    #[error("CRC mismatch: frame says {found:#06x}, bytes give {computed:#06x}")]
    BadCrc { found: u16, computed: u16 },
    #[error("unknown protocol version {0}")]
    UnknownVersion(u8),
    #[error("unknown message type {0:#04x}")]
    UnknownType(u8),
    #[error("header declares a {declared}-byte body, frame carries {actual}")]
    BodyLength { declared: u16, actual: usize },
    #[error("{field}: {problem}")]
    BadField { field: Field, problem: Problem },
}

/// A frame that could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("body longer than {} bytes", super::MAX_BODY_LEN)]
    BodyTooLarge,
    #[error("output buffer too small")]
    BufferTooSmall,
    #[error("{0}: value out of range")]
    OutOfRange(Field),
}

pub(crate) const fn bad(field: Field, problem: Problem) -> DecodeError {
    DecodeError::BadField { field, problem }
}
