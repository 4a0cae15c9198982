//! One simulated edge node: a physics model driving simulated sensors and
//! the real firmware (board and application) reading them, both stepped
//! on the node's simulated clock in fixed steps of the firmware's poll
//! period. Deterministic: the same seed and the same number of steps give
//! the same outputs, however the steps are spread over real time.

use retrofit_firmware::apps::{Node, NodeApp, NodeOutput, OutputError, SampleSource};
use retrofit_firmware::error::ConfigError;

/// A world that drives a node's sensor signals.
pub trait Physics: Send {
    /// Advances the world by `dt_ms` to the simulated time `now_ms` and
    /// sets the sensor signals for that moment.
    fn step(&mut self, now_ms: u64, dt_ms: u64);
}

/// A node could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("firmware setting: {0}")]
    Setting(#[from] ConfigError),
    #[error("sensor driver: {0}")]
    Driver(String),
    #[error("no edge firmware simulates a {0} node")]
    NoFirmware(retrofit_protocols::DeviceKind),
}

/// Physics and firmware, and the simulated time they have reached.
#[derive(Debug)]
pub struct SimNode<P, S, A> {
    pub physics: P,
    pub firmware: Node<S, A>,
    step_ms: u64,
    now_ms: u64,
}

impl<P, S, A> SimNode<P, S, A>
where
    P: Physics,
    S: SampleSource,
    A: NodeApp<Sample = S::Sample>,
{
    /// Stepped every `step_ms` of simulated time (at least 1).
    pub fn new(physics: P, firmware: Node<S, A>, step_ms: u64) -> Self {
        Self {
            physics,
            firmware,
            step_ms: step_ms.max(1),
            now_ms: 0,
        }
    }

    /// Simulated time reached, ms since the node started.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// One step: the world moves, then the firmware polls its sensors.
    pub fn step(&mut self) -> Result<NodeOutput, OutputError> {
        self.now_ms += self.step_ms;
        self.physics.step(self.now_ms, self.step_ms);
        self.firmware.poll(self.now_ms)
    }
}

/// What the serial bus needs of any simulated node.
pub trait SimulatedNode: Send {
    /// Advances one step; the firmware's output for that poll.
    fn step(&mut self) -> Result<NodeOutput, OutputError>;
    /// Simulated time reached, ms since the node started.
    fn now_ms(&self) -> u64;
    /// Simulated time per step, ms.
    fn step_ms(&self) -> u64;
}

impl<P, S, A> SimulatedNode for SimNode<P, S, A>
where
    P: Physics,
    S: SampleSource + Send,
    A: NodeApp<Sample = S::Sample> + Send,
{
    fn step(&mut self) -> Result<NodeOutput, OutputError> {
        SimNode::step(self)
    }

    fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn step_ms(&self) -> u64 {
        self.step_ms
    }
}
