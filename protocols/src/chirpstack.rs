//! ChirpStack v4 uplink events (spec §7): the JSON the network server's
//! MQTT integration publishes on `application/{app}/device/{devEui}/event/up`.
//!
//! Only the fields the gateway uses are typed; the rest is ignored. proto3
//! JSON omits zero and empty values, so a missing `fCnt` is 0 and a missing
//! `object` means no codec ran. Decoding never panics; `data` stays base64
//! text here (decoding it is the caller's job, bounded by the input size).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
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

/// The device block of an uplink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo<'a> {
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub tenant_id: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub application_id: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub application_name: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub device_profile_name: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub device_name: Cow<'a, str>,
    pub dev_eui: DevEui,
}

/// One receiving gateway's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RxInfo<'a> {
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub gateway_id: Cow<'a, str>,
    #[serde(default)]
    pub rssi: i32,
    #[serde(default)]
    pub snr: f64,
}

// serde's `skip_serializing_if` hands over a reference to the field type.
#[allow(clippy::ptr_arg)]
fn str_is_empty(s: &Cow<'_, str>) -> bool {
    s.is_empty()
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An uplink event, borrowing from the payload where it can.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Uplink<'a> {
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub deduplication_id: Cow<'a, str>,
    /// RFC 3339 time the network server received the uplink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<crate::Timestamp>,
    #[serde(borrow)]
    pub device_info: DeviceInfo<'a>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub f_cnt: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub f_port: u32,
    /// Base64 of the application payload.
    #[serde(borrow, default, skip_serializing_if = "str_is_empty")]
    pub data: Cow<'a, str>,
    /// Codec output, when the device profile has a codec.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub object: Option<FlatObject<'a>>,
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub rx_info: Vec<RxInfo<'a>>,
}

impl Uplink<'_> {
    /// The strongest reception (by RSSI), if any gateway reported one.
    pub fn best_rx(&self) -> Option<&RxInfo<'_>> {
        self.rx_info.iter().max_by_key(|r| r.rssi)
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

    const REFERENCE: &str = include_str!("../../../shared/reference/chirpstack-v4-uplink.json");

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

    #[test]
    fn round_trips_through_serialize() {
        let up: Uplink = serde_json::from_str(REFERENCE).unwrap();
        let text = serde_json::to_string(&up).unwrap();
        assert_eq!(serde_json::from_str::<Uplink>(&text).unwrap(), up);
    }
}
