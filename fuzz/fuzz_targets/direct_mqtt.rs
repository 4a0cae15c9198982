//! Fuzz target: arbitrary bytes as a direct device's MQTT message through
//! the gateway's real normalization (`MqttLinkConfig::reading_from_message`,
//! the demo config's `direct` link, on the topic of `rain-roof-1`). It must
//! never panic; every reading it accepts must pass
//! `retrofit_fuzz::check_normalized`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use retrofit_fuzz::{check_normalized, demo_direct_link, DEMO_DIRECT_TOPIC};
use retrofit_gateway::links::mqtt::MqttLinkConfig;

static LINK: LazyLock<MqttLinkConfig> = LazyLock::new(demo_direct_link);

fuzz_target!(|payload: &[u8]| {
    if let Ok(reading) = LINK.reading_from_message(DEMO_DIRECT_TOPIC, payload) {
        check_normalized(&reading);
    }
});
