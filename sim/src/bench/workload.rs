//! The workload of issue 9 as the simulator generates it: the gateway
//! config of an N-device LoRaWAN fleet (`retrofit-sim fleet`) pointed at
//! the bench's broker and store, and the mean size of the uplinks
//! `retrofit-sim load` publishes for it (every one with `object`), so the
//! broker ceiling is measured with messages of the same size. Renders
//! only; it never publishes.

use std::path::Path;
use std::time::Duration;

use retrofit_protocols::Id;

use crate::fleet::FleetSpec;
use crate::sensor_model::SensorModel;
use crate::site_config::load_target;
use crate::uplink_event::{uplink_event, UplinkMeta};

/// Uplinks rendered to measure the mean size.
const SIZE_SAMPLE: usize = 1000;

/// The gateway config of the fleet, normalized output on the same broker.
pub fn fleet_config(
    devices: u32,
    site: &Id,
    broker_url: &str,
    store_port: u16,
    data_dir: &Path,
) -> anyhow::Result<String> {
    FleetSpec {
        devices,
        site: site.clone(),
        broker: broker_url.parse()?,
        influx: Some(format!("http://127.0.0.1:{store_port}")),
        data_dir: data_dir.to_path_buf(),
        http: None,
    }
    .render()
}

/// Mean payload size in bytes of the fleet's uplinks with `object`.
pub fn mean_uplink_bytes(devices: u32, seed: u64) -> anyhow::Result<usize> {
    let site = Id::parse("bench-size")?;
    let text = fleet_config(
        devices,
        &site,
        "mqtt://127.0.0.1:1",
        1,
        Path::new("/nonexistent"),
    )?;
    let target = load_target(&text)?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut total = 0usize;
    let mut rendered = 0usize;
    for device in target.devices.iter().cycle().take(SIZE_SAMPLE) {
        let frame = SensorModel::new(device, &mut rng).next_frame(Duration::ZERO, &mut rng)?;
        let meta = UplinkMeta {
            f_cnt: 1 + rendered as u32,
            time: crate::load::now(),
            with_object: true,
            shape: Default::default(),
        };
        total += uplink_event(device, &frame, meta, &mut rng)?.payload.len();
        rendered += 1;
    }
    anyhow::ensure!(rendered > 0, "the fleet has no devices");
    Ok(total / rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uplinks_are_full_chirpstack_events_of_a_plausible_size() {
        let bytes = mean_uplink_bytes(2000, 1).unwrap();
        assert!((400..2000).contains(&bytes), "{bytes}");
    }
}
