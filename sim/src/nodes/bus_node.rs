//! One node on a serial bus: its physics and firmware (a
//! [`SimulatedNode`]), its edge link ([`NodeUplink`]) and its account
//! ([`NodeStatus`]). Advancing it steps the firmware in its fixed poll
//! steps up to the simulated time asked for, at most
//! [`MAX_STEPS_PER_TICK`] at a time so a slow machine lags instead of
//! stalling the line, and queues every output on the link. No I/O here.

use std::collections::VecDeque;

use retrofit_firmware::apps::NodeOutput;
use retrofit_protocols::{DeviceKind, EventState, Id, Severity};

use super::bus::BusError;
use super::bus_config::NodeSpec;
use super::node::SimulatedNode;
use super::uplink::{LinkCounts, NodeUplink, UplinkError};
use crate::value_text::value_text;

/// Most firmware steps of one node per call to advance.
pub const MAX_STEPS_PER_TICK: u32 = 2_000;
/// Alarm transitions remembered per node.
const ALARMS_KEPT: usize = 8;

/// One alarm transition as the node's firmware emitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmNote {
    /// Simulated time, ms since the node started.
    pub sim_ms: u64,
    pub event: &'static str,
    pub severity: Severity,
    pub state: EventState,
}

/// One node's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    pub device: Id,
    pub kind: DeviceKind,
    pub address: u16,
    /// Simulated time reached, ms.
    pub sim_ms: u64,
    pub link: LinkCounts,
    pub snapshots: u64,
    /// The last snapshot, as `name=value` pairs.
    pub last_snapshot: Vec<(String, String)>,
    /// The last few alarm transitions, oldest first.
    pub alarms: Vec<AlarmNote>,
    pub alarms_total: u64,
}

/// A node on the bus: its spec, physics and firmware, and its link.
pub struct BusNode {
    spec: NodeSpec,
    sim: Box<dyn SimulatedNode>,
    pub(super) uplink: NodeUplink,
    status: NodeStatus,
    alarms: VecDeque<AlarmNote>,
}

impl BusNode {
    /// A booting node (its Hello queued at real time 0).
    pub fn new(spec: NodeSpec, sim: Box<dyn SimulatedNode>) -> Result<Self, BusError> {
        let uplink =
            NodeUplink::boot(spec.address, spec.kind, 0).map_err(|source| BusError::Uplink {
                device: spec.device.clone(),
                source,
            })?;
        let status = NodeStatus {
            device: spec.device.clone(),
            kind: spec.kind,
            address: spec.address.get(),
            sim_ms: 0,
            link: uplink.counts(),
            snapshots: 0,
            last_snapshot: Vec::new(),
            alarms: Vec::new(),
            alarms_total: 0,
        };
        Ok(Self {
            spec,
            sim,
            uplink,
            status,
            alarms: VecDeque::new(),
        })
    }

    /// Steps the node towards `sim_ms`, queueing its outputs at `link_ms`.
    pub(super) fn advance(&mut self, sim_ms: u64, link_ms: u64) -> Result<(), BusError> {
        let mut steps = 0;
        while self.sim.now_ms() + self.sim.step_ms() <= sim_ms && steps < MAX_STEPS_PER_TICK {
            let output = self.sim.step().map_err(|source| BusError::Output {
                device: self.spec.device.clone(),
                source,
            })?;
            self.record(&output);
            self.uplink
                .queue(&output, link_ms)
                .map_err(|source| self.uplink_error(source))?;
            steps += 1;
        }
        Ok(())
    }

    fn record(&mut self, output: &NodeOutput) {
        if let Some(t) = &output.telemetry {
            self.status.snapshots += 1;
            self.status.last_snapshot = t
                .metrics()
                .iter()
                .map(|(name, value)| (name.to_string(), value_text(value)))
                .collect();
        }
        for transition in &output.events {
            if self.alarms.len() == ALARMS_KEPT {
                self.alarms.pop_front();
            }
            self.alarms.push_back(AlarmNote {
                sim_ms: self.sim.now_ms(),
                event: transition.event.as_str(),
                severity: transition.severity,
                state: transition.state,
            });
            self.status.alarms_total += 1;
        }
    }

    pub(super) fn uplink_error(&self, source: UplinkError) -> BusError {
        BusError::Uplink {
            device: self.spec.device.clone(),
            source,
        }
    }

    pub(super) fn status(&mut self) -> NodeStatus {
        self.status.sim_ms = self.sim.now_ms();
        self.status.link = self.uplink.counts();
        self.status.alarms = self.alarms.iter().cloned().collect();
        self.status.clone()
    }
}
