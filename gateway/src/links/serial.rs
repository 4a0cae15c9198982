//! The `serial` link: edge-node firmware speaking the edge link
//! (`protocols/EDGE_LINK.md`) over a UART or RS-485 line (spec §7, §8),
//! through `tokio-serial`.
//!
//! ```toml
//! [[link]]
//! id = "rs485-1"
//! type = "serial"
//! port = "/dev/ttyUSB0"
//! baud = 115200            # default
//!
//! [[device]]
//! id = "drain-w17"
//! kind = "drainage"
//! link = "rs485-1"
//! address = 17             # the node id, 1..=65534, unique on the link
//! warning_m = 0.8          # node settings, optional (EDGE_LINK.md §5):
//! overflow_m = 1.2         #   report_interval_s, warning_m, overflow_m,
//! report_interval_s = 300  #   hysteresis_m, entrapment_after_s
//! ```
//!
//! Each Telemetry frame becomes a telemetry reading and each Event frame an
//! event reading (`source` `serial`, `seq` = the frame's sequence number);
//! the node's Ack comes only after the journal commit. A device's settings
//! go to its node in a Config frame when a session starts (`push`). How
//! frames, resends, time stamps and bad input are handled is documented in
//! `receiver`, `session`, `node` and `clock`; the port's life (reopen after
//! unplugging, TimeSync) in `port`.
//!
//! Across a gateway restart the sessions are gone: a frame the node resends
//! because its Ack was lost in the restart is committed once more. That is
//! the documented at-least-once case; downstream consumers drop it by
//! `seq`/`ts` (a Unix-stamped frame maps to the same `ts`, an
//! uptime-stamped one to the same `ts` within the boot-time estimate). The
//! first Ack to a node heard without its Hello waits for the node's next
//! Heartbeat, which tells which frames the node still holds.
//!
//! This module never acknowledges a frame before its records are durable.

mod clock;
mod config;
mod frames;
mod mapping;
mod node;
mod port;
mod push;
mod receiver;
mod rejects;
mod session;

#[cfg(test)]
mod tests;

pub use config::{SerialLinkConfig, DEFAULT_BAUD};
pub use port::{run_serial_link, TIME_SYNC_PERIOD};
