//! The `object` a sensor vendor's own ChirpStack codec (the JavaScript a
//! device profile carries) returns for a frame, so that a technician can
//! test a `[[codec_map]]` before going on site (`retrofit-sim load
//! --object-shape vendor`). Keys, units and text formats follow the
//! vendors' published codecs; formats without one get no `object`.

use retrofit_protocols::sensor::SensorFrame;
use serde_json::{json, Map, Value};

/// Which codec wrote an uplink's `object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ObjectShape {
    /// A codec that writes the model's metric names (as the gateway's).
    #[default]
    Normalized,
    /// The sensor vendor's own codec (Dragino, Milesight).
    Vendor,
}

/// The vendor codec's output for `frame`, if the vendor publishes one.
pub fn vendor_object(frame: &SensorFrame) -> Option<Map<String, Value>> {
    let object = match frame {
        // Dragino LDDS75 codec: volts, "NNNN mm" text, °C with 2 decimals.
        SensorFrame::Ldds75(f) => json!({
            "Bat": f64::from(f.battery_mv) / 1000.0,
            "Distance": format!("{} mm", f.distance_mm),
            "Interrupt_flag": u8::from(f.interrupt),
            "TempC_DS18B20": format!("{:.2}", f64::from(f.temperature_dc) / 10.0),
            "Sensor_flag": u8::from(f.probe_detected),
        }),
        // Dragino LDS02 codec.
        SensorFrame::Lds02(f) => json!({
            "BAT_V": f64::from(f.battery_mv) / 1000.0,
            "DOOR_OPEN_STATUS": u8::from(f.door_open),
            "DOOR_OPEN_TIMES": f.opens_total,
            "LAST_DOOR_OPEN_DURATION": f.last_open_min,
            "ALARM": u8::from(f.alarm),
            "MOD": 1,
        }),
        // Milesight EM310-UDL codec: only the channels the frame carries.
        SensorFrame::Em310Udl(f) => {
            let mut o = Map::new();
            if let Some(b) = f.battery_pct {
                o.insert("battery".into(), b.into());
            }
            if let Some(d) = f.distance_mm {
                o.insert("distance".into(), d.into());
            }
            if let Some(t) = f.tilted {
                o.insert("position".into(), if t { "tilt" } else { "normal" }.into());
            }
            return Some(o);
        }
        SensorFrame::Nwave(_) => return None,
    };
    match object {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use retrofit_gateway::config::Config;
    use retrofit_gateway::links::LinkSpec;
    use retrofit_protocols::reading::Body;
    use retrofit_protocols::sensor::{Ldds75Frame, SensorFormat};
    use retrofit_protocols::{Id, Timestamp, Value as Metric};

    use super::*;
    use crate::site_config::TargetDevice;
    use crate::uplink_event::{uplink_event, UplinkMeta};

    const LDDS75_MAP: &str = include_str!("../../config/examples/codec-map-dragino-ldds75.toml");

    /// What `retrofit-sim load --object-shape vendor` sends goes through
    /// the shipped example map as a technician would test it.
    #[test]
    fn a_vendor_shaped_uplink_maps_through_the_shipped_ldds75_map() {
        let config = format!(
            "[gateway]\nid = \"gw\"\nsite = \"s\"\ndata_dir = \"/tmp/x\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n\
             [[link]]\nid = \"ns\"\ntype = \"lorawan\"\nurl = \"mqtt://127.0.0.1:1883\"\n{LDDS75_MAP}\n\
             [[device]]\nid = \"drain-w17\"\nkind = \"drainage\"\nlink = \"ns\"\ndev_eui = \"a84041000181c617\"\n\
             decoder = \"dragino_ldds75\"\ncodec_map = \"dragino-ldds75\"\nmount_height_m = 3.0\n"
        );
        let Some(LinkSpec::Lorawan(link)) = Config::parse(&config, "t.toml").unwrap().links.pop()
        else {
            panic!("one lorawan link")
        };
        let device = TargetDevice {
            id: Id::parse("drain-w17").unwrap(),
            kind: retrofit_protocols::DeviceKind::Drainage,
            dev_eui: "a84041000181c617".parse().unwrap(),
            format: SensorFormat::DraginoLdds75,
            mount_height_m: Some(3.0),
            application_id: "app".into(),
        };
        let frame = SensorFrame::Ldds75(Ldds75Frame {
            battery_mv: 3371,
            distance_mm: 1234,
            interrupt: false,
            temperature_dc: 215,
            probe_detected: true,
        });
        let meta = UplinkMeta {
            f_cnt: 5,
            time: Timestamp::from_millis(1_795_866_000_123),
            with_object: true,
            shape: ObjectShape::Vendor,
        };
        let event = uplink_event(&device, &frame, meta, &mut fastrand::Rng::with_seed(1)).unwrap();
        let reading = link
            .reading_from_uplink(&event.topic, &event.payload)
            .unwrap();
        let Body::Telemetry(metrics) = reading.body else {
            panic!("telemetry")
        };
        let got = |n: &str| {
            metrics
                .iter()
                .find(|(m, _)| m.as_str() == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(got("battery_v"), Some(Metric::Number(3.371)));
        assert_eq!(got("distance_mm"), Some(Metric::Number(1234.0)));
        assert_eq!(got("level_m"), Some(Metric::Number(1.766)));
        assert_eq!(got("temperature_c"), Some(Metric::Number(21.5)));
    }

    #[test]
    fn ldds75_matches_the_dragino_codec_output() {
        let frame = SensorFrame::Ldds75(Ldds75Frame {
            battery_mv: 3371,
            distance_mm: 1234,
            interrupt: false,
            temperature_dc: 0,
            probe_detected: true,
        });
        let object = Value::Object(vendor_object(&frame).unwrap());
        assert_eq!(
            object,
            json!({"Bat":3.371,"Distance":"1234 mm","Interrupt_flag":0,"TempC_DS18B20":"0.00","Sensor_flag":1})
        );
    }
}
