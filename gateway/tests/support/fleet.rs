//! A synthetic LoRaWAN fleet for integration tests: its gateway config and
//! realistic ChirpStack v4 uplinks, with the readings they must produce.

use std::path::Path;

use base64::Engine as _;
use retrofit_protocols::chirpstack::{DevEui, DeviceInfo, RxInfo, Uplink};
use retrofit_protocols::flat_object::FlatObject;
use retrofit_protocols::sensor::{encode, Ldds75Frame, NwaveFrame, SensorFrame};
use retrofit_protocols::Timestamp;

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
            "\n[[device]]\nid = \"{}\"\nkind = \"{kind}\"\nlink = \"ns\"\ndev_eui = \"{}\"\ndecoder = \"{decoder}\"\n{extra}expected_interval_s = 60\n",
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
    let occupied = f_cnt % 3 == 0;
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
    let object_map = object.then(|| {
        let text = serde_json::Value::Object(
            metrics
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
        .to_string();
        serde_json::from_str::<FlatObject>(&text)
            .map(|o| o.into_owned())
            .expect("flat object")
    });
    let up = Uplink {
        deduplication_id: format!("dedup-{}-{f_cnt}", d.eui).into(),
        time: Some(ts),
        device_info: DeviceInfo {
            tenant_id: "t".into(),
            application_id: APP.into(),
            application_name: "retrofit".into(),
            device_profile_name: "p".into(),
            device_name: d.id.clone().into(),
            dev_eui: d.eui,
        },
        f_cnt,
        f_port: encoded.f_port,
        data: base64::engine::general_purpose::STANDARD
            .encode(&encoded.bytes)
            .into(),
        object: object_map,
        rx_info: vec![RxInfo {
            gateway_id: "0016c001ff10a235".into(),
            rssi: -97,
            snr: 7.5,
        }],
    };
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
