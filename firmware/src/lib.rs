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
