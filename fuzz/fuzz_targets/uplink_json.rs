//! Fuzz target: arbitrary bytes as a ChirpStack v4 device event (`up`,
//! `join` and `status`, each in turn) through the gateway's real
//! normalization (`LorawanConfig::handle_event`, the demo config's
//! `chirpstack` link). It must never panic; every reading it accepts must
//! pass `retrofit_fuzz::check_normalized` (JSON round trip, six-level
//! topic, line protocol point). The topic is built from the devEui the
//! payload claims, so mutations get past the topic check.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use retrofit_fuzz::{check_lorawan_events, demo_lorawan_link};
use retrofit_gateway::links::lorawan::LorawanConfig;

static LINK: LazyLock<LorawanConfig> = LazyLock::new(demo_lorawan_link);

fuzz_target!(|payload: &[u8]| {
    check_lorawan_events(&LINK, payload);
});
