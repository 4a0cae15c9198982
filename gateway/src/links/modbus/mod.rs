//! The `modbus` link: third-party RS-485 equipment (level transmitters,
//! rain gauges, energy meters, controllers) polled over Modbus RTU through
//! `tokio-serial`, or over Modbus TCP through the same code path, with
//! `tokio-modbus` (spec §7).
//!
//! ```toml
//! modbus_map_files = ["modbus/level-4-20ma.toml"]   # or [[modbus_map]] tables
//!
//! [[link]]
//! id = "well-bus"
//! type = "modbus"
//! port = "/dev/ttyUSB1"      # RTU; or tcp = "192.0.2.10:502"
//! baud = 9600                # default 9600
//! parity = "none"            # none | even | odd
//! # inter_frame_ms = 4.0     # default 3.5 character times (min 1.75 ms)
//! # dead_after = 3           # silent polls before a slave is dead
//! # dead_backoff_max_s = 60  # slowest poll of a dead slave
//!
//! [[device]]
//! id = "drain-w17-level"
//! kind = "drainage"
//! link = "well-bus"
//! slave_id = 1               # unique on the bus
//! map = "level-4-20ma"
//! poll_interval_ms = 5000    # default 10000
//! timeout_ms = 500           # default 1000
//! ```
//!
//! One owner task per bus ([`poller`]) serialises every request on it;
//! register maps are config ([`map`]), reads are coalesced ([`plan`]),
//! values decoded ([`decode`], [`values`], [`totals`]; counter totals kept
//! across restarts by [`keeper`] in [`counter_store`]), and a dead slave
//! is backed off and reported offline without stalling the others
//! ([`schedule`]). Writes exist for later commands ([`write`]) and only
//! for points a map marks `writable`. Nothing here acknowledges anything:
//! a poll is counted delivered once the intake has committed its reading.

mod bus;
mod config;
mod counter_store;
mod decode;
mod includes;
mod keeper;
mod map;
mod plan;
mod point;
mod poller;
mod schedule;
mod slaves;
mod tap;
mod totals;
mod units;
mod values;
mod write;

#[cfg(test)]
mod tests;

pub use bus::{wait_until, Answer, Bus, Values};
pub use config::{
    minimum_inter_frame, ModbusLinkConfig, Slave, Transport, BITS_PER_CHAR, DEFAULT_BAUD,
};
pub use counter_store::{CounterPoint, CounterTotals, CounterTotalsError, SavedTotal};
pub use includes::load_maps;
pub use map::{MapEntry, Maps, RegisterMap, Table};
pub use plan::Block;
pub use poller::run_modbus_link;
pub use totals::Total;
pub use write::{write_point, WriteError};
