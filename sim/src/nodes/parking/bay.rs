//! A parking bay seen by a magnetometer in the ground, stepped in
//! simulated time: the Earth's field, a slow thermal drift, a parked car's
//! signature (a different one for every car) while the bay is taken, and
//! short disturbances from cars driving past in the aisle. Cars arrive
//! and leave at random times (at least a minute apart, then Poisson).
//! Seeded; never reads a clock.

use retrofit_firmware::sensor::Vector3;

use crate::nodes::hal::Probe;
use crate::nodes::noise::{between, exponential_ms, gaussian};
use crate::nodes::Physics;

/// The local geomagnetic field in Foshan, µT (sensor frame, Z down).
const EARTH_UT: Vector3 = Vector3::new(36.0, -1.5, 28.0);
/// Amplitude and period of the thermal drift.
const DRIFT_UT: f32 = 1.5;
const DRIFT_PERIOD_MS: f32 = 6.0 * 3_600_000.0;
/// Sensor noise, µT.
const NOISE_UT: f32 = 0.3;
/// Nobody parks, or leaves a bay empty, for less than this.
const MIN_STATE_MS: u64 = 60_000;

/// How busy the bay is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BayPlan {
    pub mean_vacant_ms: u64,
    pub mean_parked_ms: u64,
    pub mean_passing_interval_ms: u64,
}

impl Default for BayPlan {
    /// A busy residents' garage bay at simulation pace.
    fn default() -> Self {
        Self {
            mean_vacant_ms: 8 * 60_000,
            mean_parked_ms: 12 * 60_000,
            mean_passing_interval_ms: 3 * 60_000,
        }
    }
}

/// The signals of the parking node's sensors.
#[derive(Debug, Clone, Default)]
pub struct BayWires {
    /// Field at the magnetometer, µT.
    pub field_ut: Probe<Vector3>,
    /// Battery voltage behind the 2:1 divider at the ADC pin, mV.
    pub battery_mv: Probe<f32>,
}

/// The bay.
#[derive(Debug)]
pub struct BayPhysics {
    plan: BayPlan,
    parked: Option<Vector3>,
    next_change_ms: u64,
    passing: Option<(u64, Vector3)>,
    next_pass_ms: u64,
    battery_v: f32,
    wires: BayWires,
    rng: fastrand::Rng,
}

impl BayPhysics {
    /// An empty bay.
    pub fn new(plan: BayPlan, wires: BayWires, seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let next_change_ms = exponential_ms(&mut rng, plan.mean_vacant_ms);
        let next_pass_ms = exponential_ms(&mut rng, plan.mean_passing_interval_ms);
        let mut bay = Self {
            plan,
            parked: None,
            next_change_ms,
            passing: None,
            next_pass_ms,
            battery_v: 3.45,
            wires,
            rng,
        };
        bay.publish(0);
        bay
    }

    pub fn is_occupied(&self) -> bool {
        self.parked.is_some()
    }

    /// A car's disturbance: mostly vertical (its engine block and axles).
    fn signature(&mut self, low_ut: f32, high_ut: f32) -> Vector3 {
        let r = &mut self.rng;
        Vector3::new(
            between(r, -0.4, 0.4) * high_ut,
            between(r, -0.4, 0.4) * high_ut,
            between(r, low_ut, high_ut),
        )
    }

    fn traffic(&mut self, now_ms: u64) {
        if now_ms >= self.next_change_ms {
            let (parked, mean) = match self.parked {
                Some(_) => (None, self.plan.mean_vacant_ms),
                None => (Some(self.signature(25.0, 55.0)), self.plan.mean_parked_ms),
            };
            self.parked = parked;
            self.next_change_ms = now_ms + MIN_STATE_MS + exponential_ms(&mut self.rng, mean);
        }
        if self.passing.is_some_and(|(until, _)| now_ms >= until) {
            self.passing = None;
        }
        if now_ms >= self.next_pass_ms {
            let lasts = self.rng.u64(2_000..4_000);
            self.passing = Some((now_ms + lasts, self.signature(6.0, 14.0)));
            self.next_pass_ms =
                now_ms + exponential_ms(&mut self.rng, self.plan.mean_passing_interval_ms);
        }
    }

    fn publish(&mut self, now_ms: u64) {
        let drift = DRIFT_UT * (std::f32::consts::TAU * now_ms as f32 / DRIFT_PERIOD_MS).sin();
        let mut field = Vector3::new(EARTH_UT.x, EARTH_UT.y, EARTH_UT.z + drift);
        for add in [self.parked, self.passing.map(|(_, v)| v)]
            .into_iter()
            .flatten()
        {
            field = Vector3::new(field.x + add.x, field.y + add.y, field.z + add.z);
        }
        let r = &mut self.rng;
        let noisy = Vector3::new(
            field.x + gaussian(r, NOISE_UT),
            field.y + gaussian(r, NOISE_UT),
            field.z + gaussian(r, NOISE_UT),
        );
        self.wires.field_ut.set(noisy);
        self.wires.battery_mv.set(self.battery_v * 1000.0 / 2.0);
    }
}

impl Physics for BayPhysics {
    fn step(&mut self, now_ms: u64, dt_ms: u64) {
        self.traffic(now_ms);
        self.battery_v -= 0.001 * dt_ms as f32 / 3_600_000.0;
        self.publish(now_ms);
    }
}
