//! The one home of the retrofit gateway's model and wire formats.
//!
//! Everything that crosses a process boundary is defined here: identifiers
//! (§3 of the product spec), device kinds, metrics and events (§4), the
//! normalized MQTT topics and payloads (§5), the InfluxDB line protocol
//! encoding (§6) and the edge link frame codec (§7). Nothing else in the
//! workspace may redefine them.
//!
//! This crate never allocates unless the `alloc` feature is on, never panics
//! on input, and never lets an unvalidated string reach a topic or a line.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod edge;
pub mod event;
pub mod id;
pub mod kind;
pub mod metric;
pub mod sensor;
pub mod time;
pub mod topic;

#[cfg(feature = "alloc")]
pub mod chirpstack;
#[cfg(feature = "alloc")]
pub mod codec_map;
#[cfg(feature = "alloc")]
pub mod deadletter;
#[cfg(feature = "alloc")]
pub mod flat_object;
#[cfg(feature = "alloc")]
pub mod json;
#[cfg(feature = "alloc")]
pub mod line_protocol;
#[cfg(feature = "alloc")]
pub mod reading;

pub use event::{EventName, EventState, KnownEvent, Presence, Severity, Source};
pub use id::{Id, IdError};
pub use kind::DeviceKind;
pub use metric::{MetricName, Value};
pub use time::Timestamp;

/// Largest input (uplink, frame body, request) any source may hand to a
/// decoder; anything bigger is rejected before parsing (§13).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
