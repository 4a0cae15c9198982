//! A simulated parking node: the bay ([`bay`]) drives a simulated
//! magnetometer, and the real firmware reads it: the QMC5883L driver over
//! a simulated I2C register map and `AnalogPercent` for the battery,
//! assembled by the firmware's `ParkingBoard` and fed to the real
//! `ParkingApp`.

pub mod bay;

use retrofit_firmware::apps::parking::{ParkingApp, ParkingBoard, ParkingConfig};
use retrofit_firmware::apps::Node;
use retrofit_firmware::drivers::analog_percent::AnalogPercent;
use retrofit_firmware::drivers::qmc5883l::{self, Qmc5883l};

use self::bay::{BayPhysics, BayPlan, BayWires};
use super::battery::battery_gauge;
use super::hal::i2c::SimI2c;
use super::hal::qmc5883l_chip::Qmc5883lChip;
use super::hal::SimAdc;
use super::node::{BuildError, SimNode};

/// Firmware poll period, simulated ms.
pub const POLL_MS: u64 = 1_000;

/// The parking board on simulated hardware.
pub type SimParkingBoard = ParkingBoard<Qmc5883l<SimI2c<Qmc5883lChip>>, AnalogPercent<SimAdc>>;
/// Physics and firmware of one parking node.
pub type ParkingNode = SimNode<BayPhysics, SimParkingBoard, ParkingApp>;

/// A parking node under an initially empty bay.
pub fn parking_node(plan: BayPlan, seed: u64) -> Result<ParkingNode, BuildError> {
    let wires = BayWires::default();
    let physics = BayPhysics::new(plan, wires.clone(), seed);
    let chip = Qmc5883lChip::new(wires.field_ut.clone());
    let magnetometer = Qmc5883l::new(SimI2c::new(chip), qmc5883l::Config::default())
        .map_err(|e| BuildError::Driver(format!("QMC5883L: {e}")))?;
    let board = ParkingBoard {
        magnetometer,
        battery: Some(battery_gauge(&wires.battery_mv)?),
    };
    let app = ParkingApp::new(ParkingConfig::default())?;
    let firmware = Node {
        sensors: board,
        app,
    };
    Ok(SimNode::new(physics, firmware, POLL_MS))
}
