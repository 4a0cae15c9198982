//! A simulated elevator node: the lift's physics ([`physics`]) drives
//! simulated sensors, and the real firmware reads them: the LIS3DH driver
//! over a simulated I2C register map, `Contact` debouncing simulated GPIO
//! inputs (door closed/open, leveling upper/lower, supply sense, load
//! switch), `AnalogPercent` on a simulated ADC for the car load, all
//! assembled by the firmware's own `ElevatorBoard` and fed to the real
//! `ElevatorApp`.
//!
//! The firmware is polled every [`POLL_MS`] of simulated time, fast enough
//! for every leveling zone to be seen at the rated speed.

pub mod car;
pub mod door;
pub mod physics;
pub mod shaft;
pub mod traffic;

use retrofit_firmware::adc::AdcScale;
use retrofit_firmware::apps::elevator::{ElevatorApp, ElevatorBoard, ElevatorConfig};
use retrofit_firmware::apps::Node;
use retrofit_firmware::drivers::analog_percent::{AnalogPercent, PercentConfig};
use retrofit_firmware::drivers::contact::{Contact, Polarity};
use retrofit_firmware::drivers::lis3dh::{self, Lis3dh, ADDRESS_SA0_LOW};

use self::physics::{ElevatorPhysics, ElevatorPlan, ElevatorWires, LOAD_DIVIDER};
use self::physics::{LOAD_EMPTY_MV, LOAD_FULL_MV};
use self::shaft::Shaft;
use super::hal::i2c::SimI2c;
use super::hal::lis3dh_chip::Lis3dhChip;
use super::hal::{Probe, SimAdc, SimPin};
use super::node::{BuildError, SimNode};

/// Firmware poll period, simulated ms.
pub const POLL_MS: u64 = 50;
/// Contact debounce, as on the Linux node's default GPIO settings.
const DEBOUNCE_MS: u32 = 20;

/// The elevator board on simulated hardware.
pub type SimElevatorBoard =
    ElevatorBoard<Lis3dh<SimI2c<Lis3dhChip>>, Contact<SimPin>, AnalogPercent<SimAdc>>;
/// Physics and firmware of one elevator node.
pub type ElevatorNode = SimNode<ElevatorPhysics, SimElevatorBoard, ElevatorApp>;

fn contact(line: &Probe<bool>) -> Contact<SimPin> {
    Contact::new(SimPin::new(line.clone()), Polarity::ActiveLow, DEBOUNCE_MS)
}

fn board(wires: &ElevatorWires) -> Result<SimElevatorBoard, BuildError> {
    let chip = Lis3dhChip::new(ADDRESS_SA0_LOW, wires.specific_force.clone());
    let accelerometer = Lis3dh::new(
        SimI2c::new(chip),
        ADDRESS_SA0_LOW,
        lis3dh::Config::default(),
    )
    .map_err(|e| BuildError::Driver(format!("LIS3DH: {e}")))?;
    let load = PercentConfig {
        adc: AdcScale::new(12, 3_300.0)?,
        divider_ratio: LOAD_DIVIDER,
        empty_mv: LOAD_EMPTY_MV,
        full_mv: LOAD_FULL_MV,
    };
    Ok(ElevatorBoard {
        accelerometer,
        door_closed: contact(&wires.door_closed),
        door_open: contact(&wires.door_open),
        level_upper: contact(&wires.level_upper),
        level_lower: contact(&wires.level_lower),
        supply: Some(contact(&wires.supply)),
        occupancy: Some(contact(&wires.occupancy)),
        load: Some(AnalogPercent::new(
            SimAdc::new(wires.load_mv.clone(), 12, 3_300.0),
            load,
        )?),
        mode_keys: Default::default(),
    })
}

/// An elevator node in a seven-storey block, the car at the ground floor.
pub fn elevator_node(plan: ElevatorPlan, seed: u64) -> Result<ElevatorNode, BuildError> {
    let shaft = Shaft::default();
    let wires = ElevatorWires::default();
    let physics = ElevatorPhysics::new(shaft, plan, wires.clone(), seed);
    let app = ElevatorApp::new(ElevatorConfig {
        lowest_floor: shaft.lowest,
        highest_floor: shaft.highest,
        start_floor: shaft.lowest,
        ..ElevatorConfig::default()
    })?;
    let firmware = Node {
        sensors: board(&wires)?,
        app,
    };
    Ok(SimNode::new(physics, firmware, POLL_MS))
}
