//! ChirpStack v4 uplink events (spec §7): the JSON the network server's
//! MQTT integration publishes on `application/{app}/device/{devEui}/event/up`.
//!
//! Only the fields the gateway uses are typed; the rest is ignored. proto3
//! JSON omits zero and empty values, so a missing `fCnt` is 0 and a missing
//! `object` means no codec ran. Decoding never panics; `data` stays base64
//! text here (decoding it is the caller's job, bounded by the input size).

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::flat_object::FlatObject;

/// A LoRaWAN device EUI (64 bits), written as 16 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevEui(pub u64);

/// The text is not 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("devEui must be 16 hex digits")]
pub struct BadDevEui;

impl FromStr for DevEui {
    type Err = BadDevEui;
    fn from_str(s: &str) -> Result<Self, BadDevEui> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BadDevEui);
        }
        u64::from_str_radix(s, 16).map(Self).map_err(|_| BadDevEui)
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

/// The device block of an uplink (other keys are skipped unread).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo<'a> {
    #[serde(borrow, default)]
    pub device_name: Cow<'a, str>,
    pub dev_eui: DevEui,
}

/// The reception metrics of the strongest receiving gateway.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct Reception {
    #[serde(default)]
    pub rssi: i32,
    #[serde(default)]
    pub snr: f64,
}

/// Keeps only the strongest entry of `rxInfo`, without collecting it.
fn strongest<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Reception>, D::Error> {
    struct Strongest;
    impl<'de> serde::de::Visitor<'de> for Strongest {
        type Value = Option<Reception>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of receptions")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut best: Option<Reception> = None;
            while let Some(r) = seq.next_element::<Reception>()? {
                if best.is_none_or(|b| r.rssi > b.rssi) {
                    best = Some(r);
                }
            }
            Ok(best)
        }
    }
    d.deserialize_seq(Strongest)
}

/// An uplink event: the fields the gateway uses, borrowing from the
/// payload; every other key is skipped unread.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uplink<'a> {
    /// RFC 3339 time the network server received the uplink.
    #[serde(default)]
    pub time: Option<crate::Timestamp>,
    #[serde(borrow)]
    pub device_info: DeviceInfo<'a>,
    #[serde(default)]
    pub f_cnt: u32,
    #[serde(default)]
    pub f_port: u32,
    /// Base64 of the application payload.
    #[serde(borrow, default)]
    pub data: Cow<'a, str>,
    /// Codec output, when the device profile has a codec.
    #[serde(borrow, default)]
    pub object: Option<FlatObject<'a>>,
    /// The strongest entry of `rxInfo`.
    #[serde(default, rename = "rxInfo", deserialize_with = "strongest")]
    pub best_rx: Option<Reception>,
}

impl Uplink<'_> {
    /// The strongest reception (by RSSI), if any gateway reported one.
    pub fn best_rx(&self) -> Option<&Reception> {
        self.best_rx.as_ref()
    }
}

/// The uplink topic filter of an application (`+` for all applications).
pub fn uplink_topic_filter(application: &str) -> String {
    alloc::format!("application/{application}/device/+/event/up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const REFERENCE: &str = include_str!("../testdata/chirpstack-v4-uplink.json");

    #[test]
    fn decodes_the_reference_uplink() {
        let up: Uplink = serde_json::from_str(REFERENCE).unwrap();
        assert_eq!(up.device_info.dev_eui, "a84041000181c617".parse().unwrap());
        assert_eq!(up.f_cnt, 1234);
        assert_eq!(up.data, "BNIBXw==");
        assert_eq!(up.object.as_ref().map(|o| o.len()), Some(2));
        let rx = up.best_rx().unwrap();
        assert_eq!((rx.rssi, rx.snr), (-97, 7.5));
        assert_eq!(up.time.unwrap().to_string(), "2026-11-28T12:00:00.123Z");
    }

    #[test]
    fn missing_zero_fields_default() {
        let up: Uplink =
            serde_json::from_str(r#"{"deviceInfo":{"devEui":"0000000000000001"}}"#).unwrap();
        assert_eq!(
            (up.f_cnt, up.object.is_none(), up.best_rx()),
            (0, true, None)
        );
    }

    #[test]
    fn keeps_the_strongest_reception() {
        let up: Uplink = serde_json::from_str(
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
        ] {
            assert!(serde_json::from_str::<Uplink>(bad).is_err(), "{bad}");
        }
    }
}
