//! Why a serial frame is refused, as the short reasons counted by source
//! and reason (spec §13) and put on the dead-letter topic, and the frame's
//! bytes as dead-letter input.
//!
//! Only names and formats here; never decides what to do with a frame.

use std::fmt::Write as _;

use retrofit_protocols::edge::{DecodeError, Hello};

use crate::devices::Device;
use crate::normalize::Rejection;

/// Damage a serial line produces by itself: counted, never dead-lettered.
pub fn is_line_noise(error: &DecodeError) -> bool {
    matches!(
        error,
        DecodeError::Oversized
            | DecodeError::Cobs
            | DecodeError::Truncated { .. }
            | DecodeError::BadCrc { .. }
    )
}

/// The counting and dead-letter reason of a decoding failure.
pub fn decode_reason(error: &DecodeError) -> &'static str {
    match error {
        DecodeError::Oversized => "oversized",
        DecodeError::Cobs => "bad_stuffing",
        DecodeError::Truncated { .. } => "truncated",
        DecodeError::BadCrc { .. } => "bad_crc",
        DecodeError::UnknownVersion(_) => "unknown_version",
        DecodeError::UnknownType(_) => "unknown_type",
        DecodeError::BodyLength { .. } => "bad_length",
        DecodeError::BadField { .. } => "bad_field",
    }
}

/// A Hello of another kind than the device configured at its address.
pub fn kind_mismatch(device: &Device, hello: &Hello) -> Option<Rejection> {
    (hello.kind != device.kind).then(|| {
        Rejection::new(
            "kind_mismatch",
            format!(
                "node says it is a {} node, device {} is configured as {}",
                hello.kind, device.id, device.kind
            ),
        )
    })
}

/// Frame bytes as lowercase hex, the dead letter's input.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
