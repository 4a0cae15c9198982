//! Edge firmware of the retrofit gateway (spec §2, §4): sensor drivers
//! written against `embedded-hal` 1.0, `embedded-io` and our own ADC trait,
//! and one node application per device kind that turns samples into the
//! canonical metrics and alarms.
//!
//! The library is `no_std`, never allocates, never uses `unsafe` and never
//! reads a clock: time is always passed in as `now_ms`. The `linux` feature
//! only adds the `retrofit-node` binary.
#![no_std]
#![forbid(unsafe_code)]

pub mod adc;
pub mod apps;
pub mod drivers;
pub mod error;
pub mod link;
pub mod sensor;
pub mod signal;

/// This firmware's version, as a Hello frame carries it.
pub fn version() -> retrofit_protocols::edge::FirmwareVersion {
    fn part<T: core::str::FromStr + Default>(s: &str) -> T {
        s.parse().unwrap_or_default()
    }
    retrofit_protocols::edge::FirmwareVersion {
        major: part(env!("CARGO_PKG_VERSION_MAJOR")),
        minor: part(env!("CARGO_PKG_VERSION_MINOR")),
        patch: part(env!("CARGO_PKG_VERSION_PATCH")),
    }
}

/// The Hello a booting node of `kind` sends: this firmware's version, time
/// sync always, battery reporting for every kind but mains-powered lifts.
pub fn hello(kind: retrofit_protocols::DeviceKind) -> retrofit_protocols::edge::Hello {
    use retrofit_protocols::edge::Capabilities;
    let mut capabilities = Capabilities::TIME_SYNC.0;
    if kind != retrofit_protocols::DeviceKind::Elevator {
        capabilities |= Capabilities::BATTERY.0;
    }
    retrofit_protocols::edge::Hello {
        firmware: version(),
        kind,
        capabilities: Capabilities(capabilities),
    }
}
