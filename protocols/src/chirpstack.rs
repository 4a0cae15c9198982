//! ChirpStack v4 device events (spec §7): the JSON the network server's
//! MQTT integration publishes on
//! `application/{app}/device/{devEui}/event/{up|join|status|log}`
//! (uplinks, (re)joins, the DevStatusAns battery and link margin, and the
//! network server's log about the device: [`log`]).
//!
//! Only the fields the gateway uses are typed (serde, strings borrowed);
//! the rest is checked against the JSON grammar and skipped. proto3
//! JSON omits zero and empty values, so a missing `fCnt` is 0 and a missing
//! `object` means no codec ran. Decoding never panics; `data` stays base64
//! text here (decoding it is the caller's job, bounded by the input size).

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::flat_object::FlatObject;
use crate::json::{self, nullable, nullable_text, JsonError};
use crate::Timestamp;

pub mod log;

/// A LoRaWAN device EUI (64 bits), written as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevEui(pub u64);

/// The value of each byte as a hex digit, 0xFF where it is none.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [0xFF; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            d @ b'0'..=b'9' => d - b'0',
            d @ b'a'..=b'f' => d - b'a' + 10,
            d @ b'A'..=b'F' => d - b'A' + 10,
            _ => 0xFF,
        };
        b += 1;
    }
    table
};

/// Hashes devEuis for lookup tables: they are already uniform 64-bit
/// numbers, so one multiplication spreads them (the tables are built from
/// configuration, so crafted lookups cannot lengthen their chains).
#[derive(Debug, Clone, Copy, Default)]
pub struct DevEuiHasher(u64);

impl core::hash::Hasher for DevEuiHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

/// The text is not 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("devEui must be 16 hex digits")]
pub struct BadDevEui;

impl DevEui {
    /// Parses 16 hex digits (either case).
    pub fn from_hex(digits: &[u8]) -> Result<Self, BadDevEui> {
        if digits.len() != 16 {
            return Err(BadDevEui);
        }
        // Without a branch per digit: any bad digit sets a high nibble.
        let (value, bad) = digits.iter().fold((0u64, 0u8), |(value, bad), &d| {
            let nibble = HEX_DIGITS[usize::from(d)];
            (value << 4 | u64::from(nibble & 0x0F), bad | nibble)
        });
        if bad & 0xF0 != 0 {
            return Err(BadDevEui);
        }
        Ok(Self(value))
    }

    /// The devEui of an event topic
    /// (`application/{app}/device/{devEui}/event/{event}`).
    pub fn of_uplink_topic(topic: &str) -> Option<Self> {
        let level = topic.as_bytes().split(|&b| b == b'/').nth(3)?;
        Self::from_hex(level).ok()
    }
}

impl FromStr for DevEui {
    type Err = BadDevEui;
    fn from_str(s: &str) -> Result<Self, BadDevEui> {
        Self::from_hex(s.as_bytes())
    }
}

impl fmt::Display for DevEui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for DevEui {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DevEui {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::metric::ValidatedVisitor::<Self>::new("a devEui"))
    }
}

impl crate::metric::Validated for DevEui {
    type Error = BadDevEui;
    fn validate(s: &str) -> Result<Self, BadDevEui> {
        s.parse()
    }
}

/// The device block of an uplink (other keys are skipped).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo<'a> {
    #[serde(borrow, default, deserialize_with = "nullable_text")]
    pub device_name: Cow<'a, str>,
    pub dev_eui: DevEui,
}

/// The reception metrics of the strongest receiving gateway.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct Reception {
    #[serde(default, deserialize_with = "nullable")]
    pub rssi: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub snr: f64,
}

/// An uplink event: the fields the gateway uses, borrowing from the
/// payload; every other key is checked, then skipped.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uplink<'a> {
    /// RFC 3339 time the network server received the uplink.
    #[serde(default)]
    pub time: Option<Timestamp>,
    #[serde(borrow)]
    pub device_info: DeviceInfo<'a>,
    #[serde(default, deserialize_with = "nullable")]
    pub f_cnt: u32,
    #[serde(default, deserialize_with = "nullable")]
    pub f_port: u32,
    /// Base64 of the application payload.
    #[serde(borrow, default, deserialize_with = "nullable_text")]
    pub data: Cow<'a, str>,
    /// Codec output, when the device profile has a codec: kept as its
    /// text (its grammar checked), read only by whoever needs it.
    #[serde(borrow, default)]
    pub object: Option<CodecOutput<'a>>,
    /// The strongest entry of `rxInfo`.
    #[serde(default, rename = "rxInfo", deserialize_with = "strongest")]
    pub best_rx: Option<Reception>,
}

impl<'a> Uplink<'a> {
    /// Decodes an uplink event (the whole text must be one JSON object).
    /// A key given twice is refused; `null` stands for the default value,
    /// as in proto3 JSON.
    pub fn parse(text: &'a str) -> Result<Self, JsonError> {
        json::from_str(text)
    }

    /// The strongest reception (by RSSI), if any gateway reported one.
    pub fn best_rx(&self) -> Option<&Reception> {
        self.best_rx.as_ref()
    }

    /// The codec output as a flat object of scalars, if there is one.
    pub fn flat_object(&self) -> Option<Result<FlatObject<'a>, JsonError>> {
        self.object.map(|o| json::from_str(o.text()))
    }
}

/// The `object` of an uplink, as its JSON text: an object, its grammar
/// checked, not decoded.
#[derive(Debug, Clone, Copy)]
pub struct CodecOutput<'a>(&'a RawValue);

impl<'a> CodecOutput<'a> {
    /// The object's JSON text.
    pub fn text(&self) -> &'a str {
        self.0.get()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CodecOutput<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'a RawValue>::deserialize(d)?;
        if raw.get().starts_with('{') {
            Ok(Self(raw))
        } else {
            Err(de::Error::custom("expected an object"))
        }
    }
}

/// A join event: the device (re)joined, so its frame counter restarts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Join<'a> {
    #[serde(default)]
    pub time: Option<Timestamp>,
    #[serde(borrow)]
    pub device_info: DeviceInfo<'a>,
    /// The new device address (hex), empty when absent.
    #[serde(borrow, default, deserialize_with = "nullable_text")]
    pub dev_addr: Cow<'a, str>,
}

impl<'a> Join<'a> {
    /// Decodes a join event (the whole text must be one JSON object).
    pub fn parse(text: &'a str) -> Result<Self, JsonError> {
        json::from_str(text)
    }
}

/// A status event: the device's answer to DevStatusReq (battery, margin).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status<'a> {
    #[serde(default)]
    pub time: Option<Timestamp>,
    #[serde(borrow)]
    pub device_info: DeviceInfo<'a>,
    /// Demodulation margin (SNR) of the last DevStatusReq, in dB.
    #[serde(default, deserialize_with = "nullable")]
    pub margin: i32,
    #[serde(default, deserialize_with = "nullable")]
    pub external_power_source: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub battery_level_unavailable: bool,
    /// Battery level in percent (0..=100), meaningful only when neither
    /// flag above is set.
    #[serde(default, deserialize_with = "percent")]
    pub battery_level: f64,
}

impl<'a> Status<'a> {
    /// Decodes a status event (the whole text must be one JSON object).
    pub fn parse(text: &'a str) -> Result<Self, JsonError> {
        json::from_str(text)
    }

    /// The battery level in percent, unless the device runs on external
    /// power or cannot measure it.
    pub fn battery_pct(&self) -> Option<f64> {
        (!self.external_power_source && !self.battery_level_unavailable)
            .then_some(self.battery_level)
    }
}

fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let level: f64 = nullable(d)?;
    if (0.0..=100.0).contains(&level) {
        Ok(level)
    } else {
        Err(de::Error::custom("must be a percentage (0 to 100)"))
    }
}

/// Keeps only the strongest entry of `rxInfo`, without collecting it.
fn strongest<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Reception>, D::Error> {
    struct Strongest;
    impl<'de> Visitor<'de> for Strongest {
        type Value = Option<Reception>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of receptions")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut best: Option<Reception> = None;
            while let Some(rx) = seq.next_element::<Reception>()? {
                if best.is_none_or(|b| rx.rssi > b.rssi) {
                    best = Some(rx);
                }
            }
            Ok(best)
        }
    }
    d.deserialize_any(Strongest)
}

/// The device events the gateway reads: the last level of their topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Up,
    Join,
    Status,
    Log,
}

impl EventType {
    /// Every event the gateway subscribes to.
    pub const ALL: [Self; 4] = [Self::Up, Self::Join, Self::Status, Self::Log];

    /// The topic level naming the event.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Join => "join",
            Self::Status => "status",
            Self::Log => "log",
        }
    }

    /// The event of a topic `application/{app}/device/{devEui}/event/{event}`,
    /// if it is one of these.
    pub fn of_topic(topic: &str) -> Option<Self> {
        let mut levels = topic.split('/').skip(4);
        let (Some("event"), Some(event), None) = (levels.next(), levels.next(), levels.next())
        else {
            return None;
        };
        Self::ALL.into_iter().find(|e| e.as_str() == event)
    }
}

/// The topic filter of one event of an application (`+` for all
/// applications).
pub fn event_topic_filter(application: &str, event: EventType) -> String {
    alloc::format!(
        "application/{application}/device/+/event/{}",
        event.as_str()
    )
}

/// The uplink topic filter of an application (`+` for all applications).
pub fn uplink_topic_filter(application: &str) -> String {
    event_topic_filter(application, EventType::Up)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const REFERENCE: &str = include_str!("../testdata/chirpstack-v4-uplink.json");

    #[test]
    fn decodes_the_reference_uplink() {
        let up = Uplink::parse(REFERENCE).unwrap();
        assert_eq!(up.device_info.dev_eui, "a84041000181c617".parse().unwrap());
        assert_eq!(up.f_cnt, 1234);
        assert_eq!(up.data, "BNIBXw==");
        assert_eq!(up.flat_object().map(|o| o.unwrap().len()), Some(2));
        let rx = up.best_rx().unwrap();
        assert_eq!((rx.rssi, rx.snr), (-97, 7.5));
        assert_eq!(up.time.unwrap().to_string(), "2026-11-28T12:00:00.123Z");
    }

    #[test]
    fn dev_eui_text_and_topic() {
        let eui = DevEui(0xa840_4100_0181_c617);
        assert_eq!("A84041000181c617".parse(), Ok(eui));
        assert_eq!(eui.to_string(), "a84041000181c617");
        for bad in [
            "",
            "a84041000181c61",
            "a84041000181c617a",
            "g84041000181c617",
            "+8404100018 c617",
        ] {
            assert_eq!(bad.parse::<DevEui>(), Err(BadDevEui), "{bad}");
        }
        assert_eq!(
            DevEui::of_uplink_topic("application/x/device/a84041000181c617/event/up"),
            Some(eui)
        );
        assert_eq!(DevEui::of_uplink_topic("application/x/device"), None);
    }

    #[test]
    fn missing_zero_fields_default() {
        let up =
            Uplink::parse(r#"{"deviceInfo":{"devEui":"0000000000000001"},"fCnt":null}"#).unwrap();
        assert_eq!(
            (up.f_cnt, up.object.is_none(), up.best_rx()),
            (0, true, None)
        );
    }

    #[test]
    fn keeps_the_strongest_reception() {
        let up = Uplink::parse(
            r#"{"deviceInfo":{"devEui":"0000000000000001"},"rxInfo":[{"rssi":-110,"snr":1},{"rssi":-90,"snr":3.5,"x":{}},{"rssi":-120,"snr":9}]}"#,
        )
        .unwrap();
        assert_eq!(
            up.best_rx(),
            Some(&Reception {
                rssi: -90,
                snr: 3.5
            })
        );
    }

    #[test]
    fn refuses_bad_dev_eui_and_shapes() {
        for bad in [
            r#"{"deviceInfo":{"devEui":"xyz"}}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c6171"}}"#,
            r#"{"deviceInfo":{}}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"fCnt":-1}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"fCnt":"7"}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"object":[1]}"#,
            r#"[]"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"fCnt":1,"fCnt":2}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"time":"noon"}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"rxInfo":[{"rssi":-1.5}]}"#,
        ] {
            assert!(Uplink::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn value_errors_name_the_innermost_field() {
        for (bad, message) in [
            (
                r#"{"deviceInfo":{"devEui":"xyz"}}"#,
                "deviceInfo.devEui: @must be 16 hex digits",
            ),
            (
                r#"{"deviceInfo":{"devEui":"a84041000181c617"},"rxInfo":[{"rssi":"-9"}]}"#,
                "rxInfo[0].rssi: @expected i32",
            ),
            (r#"{"fCnt":7}"#, "@missing field `deviceInfo`"),
            (
                r#"{"deviceInfo":{"devEui":"a84041000181c617"},"fCnt":2,"fCnt":2}"#,
                "@duplicate field `fCnt`",
            ),
        ] {
            let e = Uplink::parse(bad).unwrap_err();
            assert!(!e.is_syntax(), "{bad}");
            assert_names(&e.to_string(), message);
        }
    }

    /// `message` is `path: @fragment`: the error starts with the path and
    /// holds the fragment.
    fn assert_names(error: &str, message: &str) {
        let (path, fragment) = message.split_once('@').unwrap();
        assert!(
            error.starts_with(path) && error.contains(fragment),
            "{error:?} is not {message:?}"
        );
    }

    const JOIN: &str = include_str!("../testdata/chirpstack-v4-join.json");
    const STATUS: &str = include_str!("../testdata/chirpstack-v4-status.json");
    const EUI: &str = r#"{"devEui":"a84041000181c617"}"#;

    #[test]
    fn decodes_the_reference_join_and_status() {
        let join = Join::parse(JOIN).unwrap();
        assert_eq!(join.device_info.dev_eui, DevEui(0xa840_4100_0181_c617));
        assert_eq!(join.dev_addr, "01ab23ce");
        assert_eq!(join.time.unwrap().to_string(), "2026-11-28T12:30:00.500Z");
        let status = Status::parse(STATUS).unwrap();
        assert_eq!(status.device_info.device_name, "drain-w17");
        assert_eq!((status.margin, status.battery_pct()), (7, Some(87.5)));
        assert_eq!(status.time.unwrap().to_string(), "2026-11-28T13:00:00.250Z");
    }

    #[test]
    fn status_without_a_measurable_battery_has_no_battery_pct() {
        for (json, battery) in [
            (r#""batteryLevel":40"#, Some(40.0)),
            (r#""margin":-3"#, Some(0.0)),
            (r#""externalPowerSource":true,"batteryLevel":40"#, None),
            (r#""batteryLevelUnavailable":true"#, None),
            (
                r#""batteryLevelUnavailable":null,"batteryLevel":null"#,
                Some(0.0),
            ),
        ] {
            let text = alloc::format!(r#"{{"deviceInfo":{EUI},{json}}}"#);
            assert_eq!(
                Status::parse(&text).unwrap().battery_pct(),
                battery,
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_hostile_join_and_status() {
        for (bad, message) in [
            (r#"{"batteryLevel":50}"#, "@missing field `deviceInfo`"),
            (
                r#"{"deviceInfo":{"devEui":"xyz"}}"#,
                "deviceInfo.devEui: @must be 16 hex digits",
            ),
            (
                r#"{"deviceInfo":EUI,"batteryLevel":101}"#,
                "batteryLevel: @must be a percentage (0 to 100)",
            ),
            (
                r#"{"deviceInfo":EUI,"batteryLevel":-0.5}"#,
                "batteryLevel: @must be a percentage (0 to 100)",
            ),
            (
                r#"{"deviceInfo":EUI,"batteryLevel":"50"}"#,
                "batteryLevel: @expected f64",
            ),
            (
                r#"{"deviceInfo":EUI,"margin":2.5}"#,
                "margin: @expected i32",
            ),
            (
                r#"{"deviceInfo":EUI,"margin":99999999999}"#,
                "margin: @expected i32",
            ),
            (
                r#"{"deviceInfo":EUI,"externalPowerSource":1}"#,
                "externalPowerSource: @expected a boolean",
            ),
            (
                r#"{"deviceInfo":EUI,"margin":1,"margin":1}"#,
                "@duplicate field `margin`",
            ),
            (r#"{"deviceInfo":EUI,"time":"noon"}"#, "time: @RFC 3339"),
        ] {
            let bad = bad.replace("EUI", EUI);
            let e = Status::parse(&bad).unwrap_err();
            assert!(!e.is_syntax(), "{bad}");
            assert_names(&e.to_string(), message);
        }
        for bad in [
            r#"{"deviceInfo":{}}"#,
            r#"{"deviceInfo":EUI,"devAddr":7}"#,
            r#"{"deviceInfo":EUI,"devAddr":"a","devAddr":"b"}"#,
            r#"{"deviceInfo":EUI,"time":"2026-13-01T00:00:00Z"}"#,
            r#"[]"#,
        ] {
            let bad = bad.replace("EUI", EUI);
            assert!(Join::parse(&bad).is_err(), "{bad}");
        }
        for bad in [
            r#"{"deviceInfo":EUI,"x":[tru]}"#,
            r#"{"deviceInfo":EUI} {}"#,
            r#"{"deviceInfo":EUI"#,
        ] {
            let bad = bad.replace("EUI", EUI);
            assert!(Join::parse(&bad).unwrap_err().is_syntax(), "{bad}");
            assert!(Status::parse(&bad).unwrap_err().is_syntax(), "{bad}");
        }
    }

    #[test]
    fn event_type_of_topic_and_filter() {
        let topic = |e: &str| alloc::format!("application/x/device/a84041000181c617/event/{e}");
        for event in EventType::ALL {
            assert_eq!(EventType::of_topic(&topic(event.as_str())), Some(event));
        }
        for other in ["txack", "ack", "up/x", ""] {
            assert_eq!(EventType::of_topic(&topic(other)), None, "{other}");
        }
        assert_eq!(EventType::of_topic("application/x/device/y/state/up"), None);
        assert_eq!(
            event_topic_filter("+", EventType::Status),
            "application/+/device/+/event/status"
        );
        assert_eq!(
            uplink_topic_filter("a1"),
            "application/a1/device/+/event/up"
        );
    }

    #[test]
    fn malformed_json_in_skipped_keys_is_refused_as_syntax() {
        for bad in [
            r#"{"deviceInfo":{"devEui":"a84041000181c617"},"txInfo":{"a":tru}}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617","tags":{"b":"x}}"#,
            r#"{"deviceInfo":{"devEui":"a84041000181c617"}} x"#,
        ] {
            assert!(Uplink::parse(bad).unwrap_err().is_syntax(), "{bad}");
        }
    }
}
