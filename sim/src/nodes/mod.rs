//! Simulated edge nodes: physics models of an elevator, a drainage well
//! and a parking bay drive simulated hardware (`hal`), the *real*
//! firmware reads it (`retrofit_firmware` drivers, boards and node
//! applications, unchanged), and the real `NodeLink` carries the outputs
//! over a serial line to a gateway (`bus`).
//!
//! Two clocks: the world and the firmware run on simulated time (`speed`
//! times real time, in fixed poll steps, so a run replays from its seed);
//! the edge link runs on real time (resends, heartbeats and stamps belong
//! to the real line). Nothing here knows about MQTT or the gateway's
//! insides: the only output is bytes on the line.

pub mod battery;
pub mod bus;
pub mod bus_config;
pub mod bus_node;
pub mod drainage;
pub mod elevator;
pub mod hal;
pub mod node;
pub mod noise;
pub mod parking;
pub mod report;
pub mod scenario;
pub mod uplink;

use std::path::PathBuf;

use retrofit_protocols::DeviceKind;

pub use bus::{BusError, BusNode, BusOptions, BusStatus, EdgeBus, NodeStatus};
pub use bus_config::{serial_buses, NodeSpec, SerialBus};
pub use node::{BuildError, Physics, SimNode, SimulatedNode};
pub use scenario::Scenario;

/// Fastest simulation accepted (simulated seconds per real second).
pub const MAX_SPEED: f64 = 1_000.0;

/// The physics and firmware of one node of `scenario`.
pub fn simulated_node(
    spec: &NodeSpec,
    scenario: Scenario,
    run_seed: u64,
) -> Result<Box<dyn SimulatedNode>, BuildError> {
    let seed = noise::node_seed(run_seed, spec.address.get());
    Ok(match spec.kind {
        DeviceKind::Elevator => Box::new(elevator::elevator_node(scenario.elevator(), seed)?),
        DeviceKind::Parking => Box::new(parking::parking_node(scenario.bay(), seed)?),
        DeviceKind::Drainage => Box::new(drainage::drainage_node(scenario.weather(), seed)?),
        other => return Err(BuildError::NoFirmware(other)),
    })
}

/// How to run the nodes of a bus.
#[derive(Debug, Clone, Copy)]
pub struct RunPlan {
    pub scenario: Scenario,
    pub seed: u64,
    pub speed: f64,
}

/// Starts the nodes of `bus` on the line at `node_end`.
pub fn start_bus(bus: &SerialBus, node_end: PathBuf, plan: RunPlan) -> anyhow::Result<EdgeBus> {
    anyhow::ensure!(
        plan.speed > 0.0 && plan.speed <= MAX_SPEED,
        "speed must be more than 0 and at most {MAX_SPEED}"
    );
    let mut nodes = Vec::new();
    for spec in &bus.nodes {
        let sim = simulated_node(spec, plan.scenario, plan.seed)?;
        nodes.push(BusNode::new(spec.clone(), sim)?);
    }
    let options = BusOptions {
        port: node_end,
        baud: bus.baud,
        speed: plan.speed,
    };
    Ok(EdgeBus::start(options, nodes)?)
}
