//! The edge link (spec §7): the binary frame format between node firmware
//! and the gateway over UART/RS-485, byte by byte in `protocols/EDGE_LINK.md`.
//!
//! A frame on the wire is `0x00`, COBS(header + body + CRC-16), `0x00`.
//! [`encode`] writes one; [`FrameDecoder`] reassembles them from a byte
//! stream and reports every bad frame with its reason. Reliability (sequence
//! numbers, acks, resends) is described by the message types; the node's
//! side of it lives in `retrofit-firmware`'s `link` module.
//!
//! No heap, no panics, no `unsafe`: this module must run on a
//! microcontroller and must survive any bytes a wire can deliver.

mod body;
pub mod cobs;
mod crc;
mod cursor;
mod decoder;
mod error;
mod message;
mod settings;
mod wire;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod round_trip_tests;

pub use crc::crc16;
pub use decoder::{FrameDecoder, Frames};
pub use error::{DecodeError, EncodeError, Field, Problem};
pub use message::{
    Ack, Capabilities, Config, ConfigKey, Event, FirmwareVersion, Frame, Heartbeat, Hello, Message,
    MessageType, MetricsError, NodeId, ReservedNodeId, Stamp, Telemetry, TimeSync, MAX_METRICS,
};
pub use settings::{Setting, SettingError, Settings, SettingsError, MAX_SETTINGS};
pub use wire::{
    encode, CRC_LEN, HEADER_LEN, MAX_BODY_LEN, MAX_RAW_LEN, MAX_STUFFED_LEN, MAX_WIRE_LEN, VERSION,
};
