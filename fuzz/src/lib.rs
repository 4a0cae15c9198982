//! What the fuzz targets share: the demo config's links (the gateway's real
//! normalization, as deployed), the topic an uplink claims to come from,
//! and the invariants every accepted reading must satisfy. A check here
//! panics only on a broken invariant of the code under test, never on
//! input the code under test rightly rejects.

use retrofit_gateway::config::Config;
use retrofit_gateway::links::lorawan::LorawanConfig;
use retrofit_gateway::links::mqtt::MqttLinkConfig;
use retrofit_gateway::links::subscriber::Handled;
use retrofit_gateway::links::LinkSpec;
use retrofit_protocols::chirpstack::EventType;
use retrofit_protocols::codec_map::CodecMap;
use retrofit_protocols::line_protocol::{write_reading, LineError};
use retrofit_protocols::reading::{Body, Reading};

/// The reference site config (spec §9).
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");
/// The shipped example codec map (Dragino LDDS75's vendor codec).
pub const LDDS75_MAP: &str = include_str!("../../config/examples/codec-map-dragino-ldds75.toml");

/// A codec map of nested paths, unit conversions and enum values, with a
/// device of the demo's `chirpstack` link for each map.
const FUZZ_MAPS: &str = r#"
[[codec_map]]
name = "nested"
[[codec_map.entry]]
path = "level.value"
metric = "level_m"
unit = "cm"
[[codec_map.entry]]
path = "sensors[0].temp"
metric = "temperature_c"
unit = "°F"
[[codec_map.entry]]
path = "state"
metric = "occupied"
values = { Occupied = true, Free = false, "1" = true, "0" = false }
[[codec_map.entry]]
path = "bat"
metric = "battery_pct"
[[codec_map.entry]]
path = "a.b[1].c"
metric = "distance_mm"
[[device]]
id = "fuzz-ldds75"
kind = "drainage"
link = "chirpstack"
dev_eui = "f000000000000001"
codec_map = "dragino-ldds75"
[[device]]
id = "fuzz-nested"
kind = "drainage"
link = "chirpstack"
dev_eui = "f000000000000002"
codec_map = "nested"
"#;

/// The maps the `codec_map` target applies, loaded through the real
/// config: the shipped LDDS75 map and [`FUZZ_MAPS`]'s nested one.
pub fn codec_maps() -> Vec<CodecMap> {
    let text = format!("{DEMO_CONFIG}\n{LDDS75_MAP}\n{FUZZ_MAPS}");
    let config = Config::parse(&text, "fuzz.toml")
        .unwrap_or_else(|e| panic!("the codec_map target's fixture is invalid: {e}"));
    let Some(LinkSpec::Lorawan(link)) = config.links.into_iter().next() else {
        panic!("the demo's first link is lorawan")
    };
    ["f000000000000001", "f000000000000002"]
        .iter()
        .filter_map(|eui| link.devices.get(&eui.parse().ok()?)?.codec.map.clone())
        .map(|map| (*map).clone())
        .collect()
}
/// The uplink topic of the demo's drainage sensor `drain-w17`.
pub const DEMO_UPLINK_TOPIC: &str = "application/x/device/a84041000181c617/event/up";
/// The devEui of `drain-w17` (the one in [`DEMO_UPLINK_TOPIC`]).
pub const DEMO_DEV_EUI: &str = "a84041000181c617";
/// The topic the demo's direct MQTT device `rain-roof-1` publishes to.
pub const DEMO_DIRECT_TOPIC: &str = "kangfu/rain/roof-1";

fn demo_links() -> Vec<LinkSpec> {
    Config::parse(DEMO_CONFIG, "demo.toml")
        .unwrap_or_else(|e| panic!("config/demo.toml, the fuzzers' fixture, is invalid: {e}"))
        .links
}

/// The demo's first link, `chirpstack`.
pub fn demo_lorawan_link() -> LorawanConfig {
    match demo_links().into_iter().next() {
        Some(LinkSpec::Lorawan(link)) => link,
        _ => panic!("the demo's first link is lorawan"),
    }
}

/// The demo's second link, `direct`.
pub fn demo_direct_link() -> MqttLinkConfig {
    match demo_links().into_iter().nth(1) {
        Some(LinkSpec::Mqtt(link)) => link,
        _ => panic!("the demo's second link is mqtt"),
    }
}

/// The ChirpStack uplink topic of the devEui the payload names (the first
/// `"devEui"` key's string value, taken verbatim), so that mutated payloads
/// get past the topic check; the demo sensor's topic when there is none.
pub fn uplink_topic(payload: &[u8]) -> String {
    event_topic(payload, EventType::Up)
}

/// [`uplink_topic`] for any event the gateway reads (`join`, `status`).
pub fn event_topic(payload: &[u8], event: EventType) -> String {
    let eui = claimed_dev_eui(payload).unwrap_or(DEMO_DEV_EUI);
    format!("application/x/device/{eui}/event/{}", event.as_str())
}

/// Runs `payload` through the lorawan link as each event it reads; checks
/// every reading that comes out. Returns how many events accepted it.
pub fn check_lorawan_events(link: &LorawanConfig, payload: &[u8]) -> usize {
    EventType::ALL
        .into_iter()
        .filter_map(|event| {
            link.handle_event(&event_topic(payload, event), payload)
                .ok()
        })
        .inspect(|handled| {
            if let Handled::Reading { reading, .. } = handled {
                check_normalized(reading);
            }
        })
        .count()
}

fn claimed_dev_eui(payload: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"devEui\"";
    let at = payload.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = payload[at..].trim_ascii_start().strip_prefix(b":")?;
    let value = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let end = value.iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&value[..end]).ok()
}

/// Panics unless `reading` survives every output unchanged: its JSON
/// decodes to an equal reading that encodes to the same bytes, its topic
/// has the six levels of spec §3 and no wildcard, and its line protocol
/// point is written (refused only for telemetry without metrics).
pub fn check_reading(reading: &Reading) {
    let json = reading.to_json();
    let decoded = Reading::from_json(&json)
        .unwrap_or_else(|e| panic!("re-decoding {} failed: {e}", String::from_utf8_lossy(&json)));
    assert_eq!(&decoded, reading, "JSON round trip changed the reading");
    assert_eq!(decoded.to_json(), json, "JSON encoding is not stable");

    let topic = reading.topic().build();
    assert_eq!(topic.split('/').count(), 6, "topic {topic}");
    assert!(!topic.contains(['+', '#']), "wildcard in topic {topic}");

    let mut line = String::new();
    let written = write_reading(&mut line, reading);
    match &reading.body {
        Body::Telemetry(metrics) if metrics.is_empty() => {
            assert_eq!(written, Err(LineError::Empty));
            assert!(line.is_empty(), "refused point left output: {line:?}");
        }
        _ => assert_eq!(written, Ok(()), "line protocol refused {reading:?}"),
    }
}

/// [`check_reading`] for a reading a link produced from device input,
/// which must also carry at least one metric if it is telemetry.
pub fn check_normalized(reading: &Reading) {
    if let Body::Telemetry(metrics) = &reading.body {
        assert!(
            !metrics.is_empty(),
            "telemetry without metrics: {reading:?}"
        );
    }
    check_reading(reading);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_codec_maps_load() {
        assert_eq!(codec_maps().len(), 2);
    }

    #[test]
    fn topic_follows_the_claimed_dev_eui() {
        let payload = br#"{"deviceInfo": {"devEui" :  "70b3d5e75e000001"}}"#;
        assert_eq!(
            uplink_topic(payload),
            "application/x/device/70b3d5e75e000001/event/up"
        );
    }

    #[test]
    fn topic_falls_back_to_the_demo_sensor() {
        for payload in [&b""[..], b"{\"devEui\": 12}", b"{\"devEui\": \"abc"] {
            assert_eq!(uplink_topic(payload), DEMO_UPLINK_TOPIC);
        }
    }

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let dir = env!("CARGO_MANIFEST_DIR");
        std::fs::read(format!("{dir}/seeds/{target}/{name}")).unwrap()
    }

    #[test]
    fn uplink_seeds_reach_the_reading_checks() {
        let link = demo_lorawan_link();
        let accepted = [
            "reference",
            "ldds75-decoded",
            "ldds75-no-probe",
            "nwave-status",
            "nwave-heartbeat-no-rx",
            "object-mixed-types",
        ];
        for name in accepted {
            let payload = seed("uplink_json", name);
            let reading = link
                .reading_from_uplink(&uplink_topic(&payload), &payload)
                .unwrap_or_else(|r| panic!("{name}: {r:?}"));
            check_normalized(&reading);
        }
        let payload = seed("uplink_json", "minimal-no-object");
        let refused = link.reading_from_uplink(&uplink_topic(&payload), &payload);
        assert_eq!(refused.unwrap_err().reason, "payload_too_short");
    }

    #[test]
    fn join_and_status_seeds_reach_the_reading_checks() {
        let link = demo_lorawan_link();
        for name in ["status-reference", "status-mains-powered", "join-reference"] {
            let payload = seed("uplink_json", name);
            // Accepted as its own event; the others refuse it or take it too.
            assert!(check_lorawan_events(&link, &payload) >= 1, "{name}");
        }
        let status = seed("uplink_json", "status-reference");
        let topic = event_topic(&status, EventType::Status);
        assert!(topic.ends_with("/a84041000181c617/event/status"), "{topic}");
        let Ok(Handled::Reading { reading, .. }) = link.handle_event(&topic, &status) else {
            panic!("status seed refused")
        };
        assert_eq!(reading.device.as_str(), "drain-w17");
    }

    #[test]
    fn direct_and_reading_seeds_are_accepted() {
        let link = demo_direct_link();
        for name in ["metrics-only", "with-ts-seq", "enum-and-bool", "offset-ts"] {
            let reading = link
                .reading_from_message(DEMO_DIRECT_TOPIC, &seed("direct_mqtt", name))
                .unwrap_or_else(|r| panic!("{name}: {r:?}"));
            check_normalized(&reading);
        }
        for name in [
            "telemetry-spec",
            "telemetry-enums",
            "event-raised",
            "status-offline",
        ] {
            let reading = Reading::from_json(&seed("reading_json", name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check_reading(&reading);
        }
    }

    #[test]
    #[should_panic(expected = "telemetry without metrics")]
    fn a_link_reading_without_metrics_fails_the_checks() {
        let json = seed("reading_json", "telemetry-spec");
        let mut reading = Reading::from_json(&json).unwrap();
        reading.body = Body::Telemetry(Vec::new());
        check_reading(&reading);
        check_normalized(&reading);
    }

    /// Splits a `sensor_payload` seed the way `arbitrary` reads the target's
    /// `(u8, u32, Option<f64>, &[u8])`: index, fPort (LE), 0 or 1 + f64 (LE),
    /// the rest.
    fn sensor_seed(name: &str) -> (usize, retrofit_protocols::sensor::DecodeParams, Vec<u8>) {
        let raw = seed("sensor_payload", name);
        let f_port = u32::from_le_bytes(raw[1..5].try_into().unwrap());
        let (mount_height_m, rest) = match raw[5] {
            0 => (None, &raw[6..]),
            _ => (
                Some(f64::from_le_bytes(raw[6..14].try_into().unwrap())),
                &raw[14..],
            ),
        };
        let params = retrofit_protocols::sensor::DecodeParams {
            f_port,
            mount_height_m,
        };
        (usize::from(raw[0]), params, rest.to_vec())
    }

    #[test]
    fn new_sensor_seeds_decode_in_their_formats() {
        use retrofit_protocols::sensor::{decode, SensorFormat};
        let cases = [
            ("em310-vendor-example", "milesight_em310_udl", 4),
            ("lds02-closed", "dragino_lds02", 6),
            ("lds02-open-alarm", "dragino_lds02", 6),
        ];
        for (name, key, metrics) in cases {
            let (index, params, bytes) = sensor_seed(name);
            let format = SensorFormat::ALL[index % SensorFormat::ALL.len()];
            assert_eq!(format.as_str(), key, "{name}");
            let decoded = decode(format, &bytes, &params).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(decoded.len(), metrics, "{name}: {decoded:?}");
        }
        let (index, params, bytes) = sensor_seed("em310-device-info");
        assert_eq!(
            decode(SensorFormat::ALL[index], &bytes, &params)
                .unwrap()
                .len(),
            2,
            "battery and distance after the device information"
        );
    }

    #[test]
    fn demo_links_are_the_ones_the_targets_drive() {
        assert_eq!(demo_lorawan_link().devices.len(), 2);
        assert!(demo_direct_link().devices.contains_key(DEMO_DIRECT_TOPIC));
    }
}
