//! Fuzz target: arbitrary bytes as a ChirpStack v4 uplink event through the
//! gateway's real normalization (`LorawanConfig::reading_from_uplink`, the
//! demo config's `chirpstack` link). It must never panic; every reading it
//! accepts must pass `retrofit_fuzz::check_normalized` (JSON round trip,
//! six-level topic, line protocol point). The topic is built from the
//! devEui the payload claims, so mutations get past the topic check.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use retrofit_fuzz::{check_normalized, demo_lorawan_link, uplink_topic};
use retrofit_gateway::links::lorawan::LorawanConfig;

static LINK: LazyLock<LorawanConfig> = LazyLock::new(demo_lorawan_link);

fuzz_target!(|payload: &[u8]| {
    if let Ok(reading) = LINK.reading_from_uplink(&uplink_topic(payload), payload) {
        check_normalized(&reading);
    }
});
