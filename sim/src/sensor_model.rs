//! Synthetic sensor behaviour: what each simulated device measures next.
//!
//! Parking spaces toggle occasionally (a status uplink on each change, a
//! heartbeat otherwise, as the Nwave sensor does); drainage wells follow a
//! slow tide-like curve with a little noise; batteries drain slowly. The
//! model only produces wire frames; it never formats payloads itself.

use std::time::Duration;

use retrofit_protocols::sensor::{
    compress_duration_min, Em310UdlFrame, Ldds75Frame, Lds02Frame, NwaveFrame, SensorError,
    SensorFormat, SensorFrame,
};

use crate::site_config::TargetDevice;

/// Chance that a parking space changes state before an uplink.
const TOGGLE_PROBABILITY: f64 = 0.1;
/// Period of the drainage level curve.
const LEVEL_PERIOD_S: f64 = 900.0;
/// Mount height assumed for a well whose config gives none.
const DEFAULT_MOUNT_M: f64 = 3.0;
/// Battery drain per uplink, in millivolts.
const DRAIN_MV_PER_UPLINK: f64 = 0.002;

/// The evolving state of one simulated sensor.
#[derive(Debug, Clone)]
pub struct SensorModel {
    format: SensorFormat,
    battery_mv: f64,
    state: ModelState,
}

#[derive(Debug, Clone)]
enum ModelState {
    Parking { occupied: bool, since: Duration },
    Drainage { mount_m: f64, phase: f64 },
}

impl SensorModel {
    /// A device's starting state, drawn from `rng`.
    pub fn new(device: &TargetDevice, rng: &mut fastrand::Rng) -> Self {
        let state = match device.format {
            SensorFormat::NwaveNps | SensorFormat::DraginoLds02 => ModelState::Parking {
                occupied: rng.bool(),
                since: Duration::ZERO,
            },
            SensorFormat::DraginoLdds75 | SensorFormat::MilesightEm310Udl => ModelState::Drainage {
                mount_m: device.mount_height_m.unwrap_or(DEFAULT_MOUNT_M),
                phase: rng.f64() * std::f64::consts::TAU,
            },
        };
        Self {
            format: device.format,
            battery_mv: 3350.0 + rng.f64() * 150.0,
            state,
        }
    }

    /// The next uplink's frame, `elapsed` into the run; an error only if the
    /// battery has drained below what the format can carry.
    pub fn next_frame(
        &mut self,
        elapsed: Duration,
        rng: &mut fastrand::Rng,
    ) -> Result<SensorFrame, SensorError> {
        self.battery_mv -= DRAIN_MV_PER_UPLINK;
        let battery_mv = self.battery_mv as u16;
        let frame = match &mut self.state {
            ModelState::Parking { occupied, since } => {
                parking_frame(occupied, since, elapsed, battery_mv, rng)
            }
            ModelState::Drainage { mount_m, phase } => {
                drainage_frame(*mount_m, *phase, elapsed, battery_mv, rng)
            }
        }?;
        Ok(in_format(self.format, frame, battery_mv))
    }
}

/// The same measurement as the device's own format sends it: a door sensor
/// reports the space's state as its door, a Milesight well its distance.
fn in_format(format: SensorFormat, frame: SensorFrame, battery_mv: u16) -> SensorFrame {
    match (format, frame) {
        (SensorFormat::MilesightEm310Udl, SensorFrame::Ldds75(f)) => {
            let pct = ((i32::from(battery_mv) - 2700) / 9).clamp(0, 100) as u8;
            SensorFrame::Em310Udl(Em310UdlFrame {
                battery_pct: Some(pct),
                distance_mm: Some(f.distance_mm),
                tilted: Some(false),
            })
        }
        (
            SensorFormat::DraginoLds02,
            SensorFrame::Nwave(
                NwaveFrame::ParkingStatus { occupied, .. } | NwaveFrame::Heartbeat { occupied, .. },
            ),
        ) => SensorFrame::Lds02(Lds02Frame {
            door_open: occupied,
            battery_mv: battery_mv.min(3000),
            opens_total: 0,
            last_open_min: 0,
            alarm: false,
        }),
        (_, frame) => frame,
    }
}

fn parking_frame(
    occupied: &mut bool,
    since: &mut Duration,
    elapsed: Duration,
    battery_mv: u16,
    rng: &mut fastrand::Rng,
) -> Result<SensorFrame, SensorError> {
    if rng.f64() < TOGGLE_PROBABILITY {
        let minutes = elapsed.saturating_sub(*since).as_secs() / 60;
        *occupied = !*occupied;
        *since = elapsed;
        return Ok(SensorFrame::Nwave(NwaveFrame::ParkingStatus {
            occupied: *occupied,
            previous_state_code: compress_duration_min(minutes.min(u64::from(u32::MAX)) as u32),
        }));
    }
    let temperature_c = 18.0 + rng.f64() * 12.0;
    NwaveFrame::heartbeat(*occupied, battery_mv, temperature_c).map(SensorFrame::Nwave)
}

fn drainage_frame(
    mount_m: f64,
    phase: f64,
    elapsed: Duration,
    battery_mv: u16,
    rng: &mut fastrand::Rng,
) -> Result<SensorFrame, SensorError> {
    let angle = std::f64::consts::TAU * elapsed.as_secs_f64() / LEVEL_PERIOD_S + phase;
    let noise_m = (rng.f64() - 0.5) * 0.006;
    let level_m = mount_m * (0.25 + 0.15 * angle.sin()) + noise_m;
    let distance_mm = ((mount_m - level_m) * 1000.0).clamp(280.0, 7500.0) as u16;
    Ok(SensorFrame::Ldds75(Ldds75Frame {
        battery_mv,
        distance_mm,
        interrupt: false,
        temperature_dc: 180 + rng.i16(0..60),
        probe_detected: true,
    }))
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::sensor::{decode, encode, DecodeParams};
    use retrofit_protocols::{DeviceKind, Id, Value};

    use super::*;

    fn device(format: SensorFormat) -> TargetDevice {
        TargetDevice {
            id: Id::parse("d1").unwrap(),
            kind: format.kind(),
            dev_eui: "0000000000000001".parse().unwrap(),
            format,
            mount_height_m: Some(2.5),
            application_id: "app".into(),
        }
    }

    #[test]
    fn every_generated_frame_decodes_to_plausible_values() {
        let mut rng = fastrand::Rng::with_seed(7);
        for format in SensorFormat::ALL {
            let d = device(format);
            let mut model = SensorModel::new(&d, &mut rng);
            for i in 0..2000 {
                let frame = model
                    .next_frame(Duration::from_secs(i * 7), &mut rng)
                    .unwrap();
                let up = encode(&frame).unwrap();
                let params = DecodeParams {
                    f_port: up.f_port,
                    mount_height_m: d.mount_height_m,
                };
                let metrics = decode(format, &up.bytes, &params).unwrap();
                for (name, value) in &metrics {
                    if name.as_str() == "level_m" {
                        let Value::Number(level) = value else {
                            panic!()
                        };
                        assert!((0.2..=1.05).contains(level), "{level}");
                    }
                }
            }
        }
    }

    #[test]
    fn parking_toggles_occasionally_and_the_level_moves_slowly() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut parking = SensorModel::new(&device(SensorFormat::NwaveNps), &mut rng);
        let statuses = (0..1000)
            .filter(|_| {
                let frame = parking.next_frame(Duration::ZERO, &mut rng).unwrap();
                matches!(frame, SensorFrame::Nwave(NwaveFrame::ParkingStatus { .. }))
            })
            .count();
        assert!((50..=150).contains(&statuses), "{statuses}");

        let d = device(SensorFormat::DraginoLdds75);
        assert_eq!(d.kind, DeviceKind::Drainage);
        let mut well = SensorModel::new(&d, &mut rng);
        let distance = |frame| match frame {
            SensorFrame::Ldds75(f) => i32::from(f.distance_mm),
            other => panic!("{other:?}"),
        };
        let a = distance(well.next_frame(Duration::from_secs(100), &mut rng).unwrap());
        let b = distance(well.next_frame(Duration::from_secs(101), &mut rng).unwrap());
        assert!(
            (a - b).abs() <= 10,
            "{a} -> {b}: one second moves millimetres"
        );
    }
}
