//! ChirpStack v4 uplink events as the network server's MQTT integration
//! publishes them (spec §7, `shared/reference/chirpstack-v4-uplink.json`):
//! topic `application/{app}/device/{devEui}/event/up`, JSON with
//! `deviceInfo`, `fCnt`, `fPort`, base64 `data`, optional `object`,
//! `rxInfo` and a CN470 `txInfo`.
//!
//! Like proto3 JSON, zero values are omitted (`fCnt` 0). The `object` holds
//! the normalized metrics a ChirpStack codec would produce, or the sensor
//! vendor's own codec output ([`ObjectShape`]); it is left out when asked,
//! or when the payload carries a probe fault. This module never
//! publishes; it only renders.

use base64::Engine as _;
use retrofit_protocols::sensor::{encode, DecodeParams, SensorError, SensorFrame};
use retrofit_protocols::Timestamp;
use serde_json::{json, Map, Value};

use crate::site_config::TargetDevice;
use crate::vendor_object::{vendor_object, ObjectShape};

const TENANT_ID: &str = "52f14cd4-c6f1-4fbd-8f87-4025e1d49242";
const GATEWAY_ID: &str = "0016c001ff10a235";
/// CN470 uplink channel 0 and the channel spacing, in Hz.
const CN470_BASE_HZ: u64 = 470_300_000;
const CN470_STEP_HZ: u64 = 200_000;
/// The first of the eight channels the simulated gateway listens on.
const FIRST_CHANNEL: u64 = 80;

/// A rendered uplink, ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct UplinkEvent {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// Per-uplink facts that are not the device's.
#[derive(Debug, Clone, Copy)]
pub struct UplinkMeta {
    pub f_cnt: u32,
    pub time: Timestamp,
    pub with_object: bool,
    /// Which codec wrote the `object`.
    pub shape: ObjectShape,
}

/// The uplink topic of a device.
pub fn uplink_topic(device: &TargetDevice) -> String {
    format!(
        "application/{}/device/{}/event/up",
        device.application_id, device.dev_eui
    )
}

/// Renders one uplink of `device` carrying `frame`.
pub fn uplink_event(
    device: &TargetDevice,
    frame: &SensorFrame,
    meta: UplinkMeta,
    rng: &mut fastrand::Rng,
) -> Result<UplinkEvent, SensorError> {
    let encoded = encode(frame)?;
    let mut event = json!({
        "deduplicationId": uuid_v4(rng),
        "time": meta.time.to_string(),
        "deviceInfo": device_info(device),
        "devAddr": format!("{:08x}", device.dev_eui.0 & 0xffff_ffff),
        "adr": true,
        "dr": 5,
        "fPort": encoded.f_port,
        "confirmed": false,
        "data": base64::engine::general_purpose::STANDARD.encode(&encoded.bytes),
        "rxInfo": [rx_info(rng)],
        "txInfo": tx_info(rng),
    });
    if meta.f_cnt != 0 {
        event["fCnt"] = json!(meta.f_cnt);
    }
    if meta.with_object {
        let object = match meta.shape {
            ObjectShape::Normalized => codec_object(device, frame, encoded.f_port),
            ObjectShape::Vendor => vendor_object(frame),
        };
        if let Some(object) = object {
            event["object"] = Value::Object(object);
        }
    }
    Ok(UplinkEvent {
        topic: uplink_topic(device),
        payload: event.to_string().into_bytes(),
    })
}

fn device_info(device: &TargetDevice) -> Value {
    json!({
        "tenantId": TENANT_ID,
        "tenantName": "retrofit-sim",
        "applicationId": device.application_id,
        "applicationName": device.kind.as_str(),
        "deviceProfileId": format!("0f5e1d4c-7a70-4f0b-9d5c-{:012x}", device.format as u8),
        "deviceProfileName": device.format.as_str(),
        "deviceName": device.id.as_str(),
        "devEui": device.dev_eui.to_string(),
        "deviceClassEnabled": "CLASS_A",
        "tags": {},
    })
}

/// What a ChirpStack codec producing normalized metrics would return.
fn codec_object(
    device: &TargetDevice,
    frame: &SensorFrame,
    f_port: u32,
) -> Option<Map<String, Value>> {
    let params = DecodeParams {
        f_port,
        mount_height_m: device.mount_height_m,
    };
    let metrics = frame.metrics(&params).ok()?;
    let object = metrics
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), serde_json::to_value(value).ok()?)))
        .collect();
    Some(object)
}

fn rx_info(rng: &mut fastrand::Rng) -> Value {
    let context: [u8; 4] = rng.u32(..).to_be_bytes();
    json!({
        "gatewayId": GATEWAY_ID,
        "uplinkId": rng.u16(..),
        "rssi": rng.i32(-118..=-70),
        "snr": f64::from(rng.i32(-30..=40)) * 0.25,
        "channel": rng.u64(0..8),
        "location": {},
        "context": base64::engine::general_purpose::STANDARD.encode(context),
        "metadata": {"region_common_name": "CN470", "region_config_id": "cn470_10"},
        "crcStatus": "CRC_OK",
    })
}

fn tx_info(rng: &mut fastrand::Rng) -> Value {
    let channel = FIRST_CHANNEL + rng.u64(0..8);
    json!({
        "frequency": CN470_BASE_HZ + CN470_STEP_HZ * channel,
        "modulation": {"lora": {"bandwidth": 125_000, "spreadingFactor": 7, "codeRate": "CR_4_5"}},
    })
}

/// A random (version 4) UUID.
fn uuid_v4(rng: &mut fastrand::Rng) -> String {
    let bits = rng.u128(..);
    let (a, b) = ((bits >> 96) as u32, (bits >> 80) as u16);
    let c = 0x4000 | ((bits >> 64) as u16 & 0x0fff);
    let d = 0x8000 | ((bits >> 48) as u16 & 0x3fff);
    let e = bits as u64 & 0xffff_ffff_ffff;
    format!("{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}")
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::chirpstack::Uplink;
    use retrofit_protocols::sensor::{decode, Ldds75Frame, SensorFormat};
    use retrofit_protocols::Id;

    use super::*;

    fn well() -> TargetDevice {
        TargetDevice {
            id: Id::parse("drain-w17").unwrap(),
            kind: retrofit_protocols::DeviceKind::Drainage,
            dev_eui: "a84041000181c617".parse().unwrap(),
            format: SensorFormat::DraginoLdds75,
            mount_height_m: Some(3.0),
            application_id: "7d3c1f2a-0000-4000-8000-000000000001".into(),
        }
    }

    const FRAME: SensorFrame = SensorFrame::Ldds75(Ldds75Frame {
        battery_mv: 3300,
        distance_mm: 1766,
        interrupt: false,
        temperature_dc: 215,
        probe_detected: true,
    });

    fn render(f_cnt: u32, with_object: bool) -> UplinkEvent {
        let meta = UplinkMeta {
            f_cnt,
            time: Timestamp::from_millis(1_795_866_000_123),
            with_object,
            shape: ObjectShape::Normalized,
        };
        uplink_event(&well(), &FRAME, meta, &mut fastrand::Rng::with_seed(1)).unwrap()
    }

    #[test]
    fn renders_the_reference_shape() {
        let event = render(1234, true);
        assert_eq!(
            event.topic,
            "application/7d3c1f2a-0000-4000-8000-000000000001/device/a84041000181c617/event/up"
        );
        let up = Uplink::parse(std::str::from_utf8(&event.payload).unwrap()).unwrap();
        assert_eq!(up.device_info.dev_eui, well().dev_eui);
        assert_eq!(up.device_info.device_name, "drain-w17");
        assert_eq!((up.f_cnt, up.f_port), (1234, 2));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(up.data.as_bytes())
            .unwrap();
        let params = DecodeParams {
            f_port: 2,
            mount_height_m: Some(3.0),
        };
        let metrics = decode(SensorFormat::DraginoLdds75, &bytes, &params).unwrap();
        let rx = up.best_rx().unwrap();
        assert!((-118..=-70).contains(&rx.rssi));

        let raw: Value = serde_json::from_slice(&event.payload).unwrap();
        let object = raw["object"].as_object().unwrap();
        assert_eq!(object.len(), metrics.len());
        assert_eq!(object["level_m"], json!(1.234));
        let freq = raw["txInfo"]["frequency"].as_u64().unwrap();
        assert!((486_300_000..=487_700_000).contains(&freq), "{freq}");
        let dedup = raw["deduplicationId"].as_str().unwrap();
        assert_eq!((dedup.len(), &dedup[14..15]), (36, "4"));
    }

    #[test]
    fn omits_zero_fcnt_and_the_object_when_asked() {
        let raw: Value = serde_json::from_slice(&render(0, false).payload).unwrap();
        assert!(raw.get("fCnt").is_none());
        assert!(raw.get("object").is_none());
        assert!(raw["data"].as_str().is_some_and(|d| !d.is_empty()));
    }
}
