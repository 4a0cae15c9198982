//! A synthetic LoRaWAN fleet for integration tests: its gateway config and
//! realistic ChirpStack v4 uplinks, with the readings they must produce.

use std::path::Path;

use base64::Engine as _;
use retrofit_protocols::chirpstack::DevEui;
use retrofit_protocols::sensor::{encode, Ldds75Frame, NwaveFrame, SensorFrame};
use retrofit_protocols::Timestamp;

const REFERENCE: &str = include_str!("../../../protocols/testdata/chirpstack-v4-uplink.json");

pub const SITE: &str = "test-site";
pub const GATEWAY: &str = "gw-test";
pub const APP: &str = "app-1";
/// Mount height of every drainage sensor.
pub const MOUNT_M: f64 = 3.0;

/// One synthetic device.
#[derive(Debug, Clone)]
pub struct FleetDevice {
    pub id: String,
    pub eui: DevEui,
    pub parking: bool,
}

pub fn devices(n: usize) -> Vec<FleetDevice> {
    (0..n)
        .map(|i| {
            let parking = i % 2 == 0;
            FleetDevice {
                id: format!("{}-{i:04}", if parking { "park" } else { "drain" }),
                eui: DevEui(0x70b3_d500_0000_0000 + i as u64),
                parking,
            }
        })
        .collect()
}

/// A gateway config for `devices`; `influx` is the store URL if any.
pub fn config(
    devices: &[FleetDevice],
    input_url: &str,
    output_url: &str,
    influx: Option<&str>,
    data_dir: &Path,
    extra: &str,
) -> String {
    let mut s = format!(
        "[gateway]\nid = \"{GATEWAY}\"\nsite = \"{SITE}\"\ndata_dir = \"{}\"\n\n[mqtt]\nurl = \"{output_url}\"\n\n",
        data_dir.display()
    );
    if let Some(url) = influx {
        s += &format!("[influx]\nurl = \"{url}\"\norg = \"test\"\nbucket = \"test\"\nbatch_size = 2000\nflush_interval_ms = 100\n\n");
    }
    s += extra;
    s += &format!("\n[[link]]\nid = \"ns\"\ntype = \"lorawan\"\nurl = \"{input_url}\"\napplication = \"{APP}\"\n");
    for d in devices {
        let (kind, decoder, extra) = if d.parking {
            ("parking", "nwave_nps", String::new())
        } else {
            (
                "drainage",
                "dragino_ldds75",
                format!("mount_height_m = {MOUNT_M}\n"),
            )
        };
        s += &format!(
            "\n[[device]]\nid = \"{}\"\nkind = \"{kind}\"\nlink = \"ns\"\ndev_eui = \"{}\"\ndecoder = \"{decoder}\"\nmetrics_from = \"object\"\n{extra}expected_interval_s = 60\n",
            d.id, d.eui
        );
    }
    s
}

/// What an uplink must become.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub device: String,
    pub seq: u64,
    pub ts: Timestamp,
    /// (metric, value) pairs that must be in the reading.
    pub metrics: Vec<(&'static str, serde_json::Value)>,
}

/// An uplink of `d` with frame counter `f_cnt` measured at `ts`; with
/// `object` the network server decoded it, otherwise only `data` is set.
pub fn uplink(
    d: &FleetDevice,
    f_cnt: u32,
    ts: Timestamp,
    object: bool,
) -> ((String, Vec<u8>), Expected) {
    let level_mm = 500 + (f_cnt % 2000) as u16;
    let occupied = f_cnt.is_multiple_of(3);
    let (frame, metrics): (SensorFrame, Vec<(&'static str, serde_json::Value)>) = if d.parking {
        (
            SensorFrame::Nwave(NwaveFrame::ParkingStatus {
                occupied,
                previous_state_code: 5,
            }),
            vec![("occupied", occupied.into())],
        )
    } else {
        let level = ((MOUNT_M * 1000.0 - f64::from(level_mm)) / 1000.0 * 1000.0).round() / 1000.0;
        (
            SensorFrame::Ldds75(Ldds75Frame {
                battery_mv: 3300,
                distance_mm: level_mm,
                interrupt: false,
                temperature_dc: 0,
                probe_detected: true,
            }),
            vec![("level_m", level.into())],
        )
    };
    let encoded = encode(&frame).expect("encodable frame");
    // The reference event of the spec, re-addressed: every field a real
    // network server sends is there.
    let mut up: serde_json::Value = serde_json::from_str(REFERENCE).expect("reference uplink");
    up["deduplicationId"] = format!("dedup-{}-{f_cnt}", d.eui).into();
    up["time"] = ts.to_string().into();
    up["deviceInfo"]["applicationId"] = APP.into();
    up["deviceInfo"]["deviceName"] = d.id.clone().into();
    up["deviceInfo"]["devEui"] = d.eui.to_string().into();
    up["fCnt"] = f_cnt.into();
    up["fPort"] = encoded.f_port.into();
    up["data"] = base64::engine::general_purpose::STANDARD
        .encode(&encoded.bytes)
        .into();
    match object {
        true => {
            up["object"] = metrics
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        }
        false => {
            up.as_object_mut().map(|o| o.remove("object"));
        }
    }
    let topic = format!("application/{APP}/device/{}/event/up", d.eui);
    let expected = Expected {
        device: d.id.clone(),
        seq: u64::from(f_cnt),
        ts,
        metrics,
    };
    (
        (topic, serde_json::to_vec(&up).expect("uplink JSON")),
        expected,
    )
}
