//! A simulated drainage node: the well and the weather ([`well`],
//! [`weather`]) drive simulated sensors, and the real firmware reads them:
//! `LevelTransmitter` on a simulated ADC across the loop's shunt, the
//! rain gauge's `TipCounter` (tipped by the physics as by its interrupt),
//! `AnalogPercent` for the battery, assembled by the firmware's
//! `DrainageBoard` and fed to the real `DrainageApp` (default thresholds:
//! warning 0.8 m, overflow 1.2 m).

pub mod weather;
pub mod well;

use std::sync::Arc;

use retrofit_firmware::adc::AdcScale;
use retrofit_firmware::apps::drainage::{DrainageApp, DrainageBoard, DrainageConfig};
use retrofit_firmware::apps::Node;
use retrofit_firmware::drivers::analog_percent::AnalogPercent;
use retrofit_firmware::drivers::level_transmitter::{LevelTransmitter, LoopConfig};
use retrofit_firmware::drivers::rain_gauge::{TipCounter, DEFAULT_DEBOUNCE_MS};
use retrofit_firmware::sensor::TipCount;

use self::weather::Weather;
use self::well::{WellConfig, WellPhysics, WellWires, SHUNT_OHM, TRANSMITTER_RANGE_M};
use super::battery::battery_gauge;
use super::hal::SimAdc;
use super::node::{BuildError, SimNode};

/// Firmware poll period, simulated ms.
pub const POLL_MS: u64 = 1_000;

/// The rain gauge's counter, shared between the physics (its interrupt)
/// and the board (its reader).
#[derive(Debug, Clone)]
pub struct SharedTips(pub Arc<TipCounter>);

impl TipCount for SharedTips {
    fn tips(&self) -> u32 {
        self.0.tips()
    }
}

/// The drainage board on simulated hardware.
pub type SimDrainageBoard =
    DrainageBoard<LevelTransmitter<SimAdc>, SharedTips, AnalogPercent<SimAdc>>;
/// Physics and firmware of one drainage node.
pub type DrainageNode = SimNode<WellPhysics, SimDrainageBoard, DrainageApp>;

/// A drainage node in a courtyard well under `weather`.
pub fn drainage_node(weather: Weather, seed: u64) -> Result<DrainageNode, BuildError> {
    let wires = WellWires::default();
    let tips = Arc::new(TipCounter::new(DEFAULT_DEBOUNCE_MS));
    let physics = WellPhysics::new(
        WellConfig::default(),
        weather,
        Arc::clone(&tips),
        wires.clone(),
        seed,
    );
    let transmitter = LoopConfig {
        adc: AdcScale::new(12, 3_300.0)?,
        shunt_ohm: SHUNT_OHM,
        range_min_m: 0.0,
        range_max_m: TRANSMITTER_RANGE_M,
    };
    let board = DrainageBoard {
        level: LevelTransmitter::new(SimAdc::new(wires.loop_mv.clone(), 12, 3_300.0), transmitter)?,
        rain: SharedTips(tips),
        battery: Some(battery_gauge(&wires.battery_mv)?),
    };
    let app = DrainageApp::new(DrainageConfig::default())?;
    let firmware = Node {
        sensors: board,
        app,
    };
    Ok(SimNode::new(physics, firmware, POLL_MS))
}
