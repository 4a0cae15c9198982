//! Service-level figures (spec §12) from the times they are made of.
//!
//! A [`Tally`] holds the sums (window, maintenance, downtime, all
//! out-of-service time, failures, readings); device, kind and site figures
//! are all derived from tallies, so aggregation is a sum and the
//! time-weighted means and recomputed MTBF/MTTR fall out exactly.

use retrofit_protocols::{DeviceKind, Id};
use serde::Serialize;

const MS_PER_HOUR: f64 = 3_600_000.0;

/// The sums one figure is computed from; times in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// W
    pub window_ms: i64,
    /// M
    pub maintenance_ms: i64,
    /// D: out of service outside maintenance.
    pub down_ms: i64,
    /// All out-of-service time, maintenance included.
    pub out_ms: i64,
    pub failures: u64,
    /// Distinct readings with `ts` in the window, capped at `expected`.
    pub received: u64,
    pub expected: u64,
    pub entrapments: u64,
    pub entrapments_compliant: u64,
    /// Entrapments whose compliance is known (arrived, or late already).
    pub entrapments_decided: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.window_ms += o.window_ms;
        self.maintenance_ms += o.maintenance_ms;
        self.down_ms += o.down_ms;
        self.out_ms += o.out_ms;
        self.failures += o.failures;
        self.received += o.received;
        self.expected += o.expected;
        self.entrapments += o.entrapments;
        self.entrapments_compliant += o.entrapments_compliant;
        self.entrapments_decided += o.entrapments_decided;
    }
}

/// The figures of one device, one kind or the site, with §12's names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub site: Id,
    pub kind: Option<DeviceKind>,
    pub device: Option<Id>,
    pub availability_pct: Option<f64>,
    pub uptime_pct: Option<f64>,
    pub failures: u64,
    pub mtbf_h: Option<f64>,
    pub mttr_h: Option<f64>,
    pub data_completeness_pct: Option<f64>,
    pub downtime_h: f64,
    pub maintenance_h: f64,
    pub entrapments: u64,
    /// Share of entrapments whose arrival met the target, among those
    /// whose compliance is known.
    pub entrapment_compliance_pct: Option<f64>,
}

fn pct(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| 100.0 * part / whole)
}

impl Figures {
    pub fn new(site: &Id, kind: Option<DeviceKind>, device: Option<&Id>, t: &Tally) -> Self {
        let w = t.window_ms as f64;
        let m = t.maintenance_ms as f64;
        let d = t.down_ms as f64;
        let per_failure = |x: f64| (t.failures > 0).then(|| x / t.failures as f64 / MS_PER_HOUR);
        Self {
            site: site.clone(),
            kind,
            device: device.cloned(),
            availability_pct: pct(w - m - d, w - m),
            uptime_pct: pct(w - t.out_ms as f64, w),
            failures: t.failures,
            mtbf_h: per_failure(w - m - d),
            mttr_h: per_failure(d),
            data_completeness_pct: pct(t.received as f64, t.expected as f64),
            downtime_h: d / MS_PER_HOUR,
            maintenance_h: m / MS_PER_HOUR,
            entrapments: t.entrapments,
            entrapment_compliance_pct: pct(
                t.entrapments_compliant as f64,
                t.entrapments_decided as f64,
            ),
        }
    }
}
