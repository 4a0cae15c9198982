//! Counter semantics for `_total` (and other counter) points: the value
//! published never goes backwards. A raw counter that falls by more than
//! half its modulus rolled over (the difference to the modulus is added);
//! any other fall is a reset of the device (a meter replaced or cleared),
//! and counting goes on from the new raw value.
//!
//! Each slave's totals ([`SlaveTotals`]) start from their saved state
//! after a restart ([`resume`]) and hand the totals of each reading on as
//! a [`Snapshot`] to save once the reading is committed (a rollover or
//! reset marks it for saving at once). Pure arithmetic; no I/O here.

use std::sync::Arc;

use super::config::Slave;
use super::counter_store::{CounterPoint, SavedTotal};
use super::map::Point;

/// One counter point's running total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Total {
    last_raw: f64,
    total: f64,
}

/// What an update saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Counted,
    Rollover,
    Reset,
}

impl Total {
    /// The first sample: the total starts at its value.
    pub fn start(raw: f64, value: f64) -> Self {
        Self {
            last_raw: raw,
            total: value,
        }
    }

    /// A total as saved: the next sample is counted on from `last_raw`.
    pub fn saved(last_raw: f64, total: f64) -> Self {
        Self { last_raw, total }
    }

    /// Adds the sample `raw` (the register value before scaling); `k` turns
    /// raw units into the metric's unit, `modulus` is the counter's
    /// rollover, if it has one.
    pub fn advance(&mut self, raw: f64, k: f64, modulus: Option<f64>) -> Step {
        let (delta, step) = if raw >= self.last_raw {
            (raw - self.last_raw, Step::Counted)
        } else {
            match modulus.filter(|m| self.last_raw - raw > m / 2.0) {
                Some(m) => (m - self.last_raw + raw, Step::Rollover),
                None => (raw, Step::Reset),
            }
        };
        self.last_raw = raw;
        self.total += (delta * k).abs();
        step
    }

    pub fn value(&self) -> f64 {
        self.total
    }

    /// The raw counter at the last sample.
    pub fn last_raw(&self) -> f64 {
        self.last_raw
    }
}

/// The total a counter point goes on from after a restart: its saved
/// total when it still counts the same register into the same metric; the
/// saved total counted on from 0 (as after a reset) when the register
/// changed (another address, type, order or modulus); none, so a new total
/// starts at the device's value, when the metric changed or nothing was
/// saved. A changed scale applies to what is counted from then on.
pub fn resume(saved: &[SavedTotal], point: &CounterPoint) -> Option<Total> {
    let s = saved
        .iter()
        .find(|s| s.point.device == point.device && s.point.point == point.point)?;
    if s.point.metric != point.metric {
        return None;
    }
    if s.point.register != point.register {
        return Some(Total::saved(0.0, s.total.value()));
    }
    Some(s.total)
}

/// One slave's counter totals, by point index of its map.
#[derive(Debug)]
pub struct SlaveTotals {
    /// `None` for a point that is no counter.
    counters: Vec<Option<Counter>>,
    /// An update since the last snapshot saw a rollover or a reset.
    turned: bool,
}

#[derive(Debug)]
struct Counter {
    point: Arc<CounterPoint>,
    modulus: Option<f64>,
    total: Option<Total>,
}

/// The totals one reading carried, to save once it is committed.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub totals: Vec<(Arc<CounterPoint>, Total)>,
    /// A rollover or reset is among them: save at once.
    pub turned: bool,
}

impl SlaveTotals {
    /// The counter points of `slave`, each resumed from `saved`.
    pub fn new(slave: &Slave, saved: &[SavedTotal]) -> Self {
        let counters = slave
            .map
            .points
            .iter()
            .map(|p| {
                p.counter.map(|modulus| {
                    let point = counter_point(slave, p, modulus);
                    let total = resume(saved, &point);
                    Counter {
                        point: Arc::new(point),
                        modulus,
                        total,
                    }
                })
            })
            .collect();
        Self {
            counters,
            turned: false,
        }
    }

    /// The total of counter point `i` after its sample `raw` (register
    /// units; `k` turns them into the metric's unit); `value` is the sample
    /// in the metric's unit, where a new total starts. A point that is no
    /// counter gives `value` back.
    pub fn count(&mut self, i: usize, raw: f64, k: f64, value: f64) -> f64 {
        let Some(Some(c)) = self.counters.get_mut(i) else {
            return value;
        };
        match &mut c.total {
            Some(t) => {
                if t.advance(raw, k, c.modulus) != Step::Counted {
                    self.turned = true;
                }
            }
            None => c.total = Some(Total::start(raw, value)),
        }
        c.total.map_or(value, |t| t.value())
    }

    /// The totals of the counter points `raw` has a sample of (those in
    /// the reading just made); takes the rollover/reset mark.
    pub fn snapshot(&mut self, raw: &[Option<f64>]) -> Snapshot {
        let totals = self
            .counters
            .iter()
            .zip(raw)
            .filter(|(_, r)| r.is_some())
            .filter_map(|(c, _)| c.as_ref().and_then(|c| Some((c.point.clone(), c.total?))))
            .collect();
        Snapshot {
            totals,
            turned: std::mem::take(&mut self.turned),
        }
    }
}

/// What the total of point `p` of `slave` is filed under.
fn counter_point(slave: &Slave, p: &Point, modulus: Option<f64>) -> CounterPoint {
    let l = &p.layout;
    let modulus = modulus.map_or_else(|| "none".to_string(), |m| m.to_string());
    CounterPoint {
        device: slave.device.id.to_string(),
        point: p.name.to_string(),
        metric: p
            .metric
            .as_ref()
            .map_or_else(String::new, |m| m.to_string()),
        register: format!(
            "function {} address {} {:?} words {:?} bytes {:?} modulus {modulus}",
            p.table as u8, p.address, l.data_type, l.word_order, l.byte_order
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollover_and_reset_never_go_backwards() {
        // A tipping bucket: 0.2 mm per tip, u16 counter.
        let mut t = Total::start(65_530.0, 65_530.0 * 0.2);
        let m = Some(65_536.0);
        let start = t.value();
        assert_eq!(t.advance(65_535.0, 0.2, m), Step::Counted);
        assert_eq!(t.advance(4.0, 0.2, m), Step::Rollover);
        assert!((t.value() - start - 10.0 * 0.2).abs() < 1e-9);
        let before = t.value();
        assert_eq!(
            t.advance(3.0, 0.2, m),
            Step::Reset,
            "a small fall is a reset"
        );
        assert!((t.value() - before - 0.6).abs() < 1e-9);
        assert_eq!(t.advance(3.0, 0.2, m), Step::Counted);
        assert!((t.value() - before - 0.6).abs() < 1e-9);
    }

    fn saved(register: &str, last_raw: f64, total: f64) -> SavedTotal {
        SavedTotal {
            point: CounterPoint {
                device: "rain-3".into(),
                point: "tips".into(),
                metric: "rain_mm_total".into(),
                register: register.into(),
            },
            total: Total::saved(last_raw, total),
        }
    }

    #[test]
    fn a_resumed_total_follows_the_same_rules_across_a_restart() {
        let m = Some(65_536.0);
        let point = saved("u16", 0.0, 0.0).point;
        // Saved just before the counter rolled over: the first sample
        // after the restart sees the rollover.
        let mut t = resume(&[saved("u16", 65_530.0, 13_106.0)], &point).unwrap();
        assert_eq!(t.advance(3.0, 0.2, m), Step::Rollover);
        assert!((t.value() - 13_107.8).abs() < 1e-9);
        // Saved after it: counted on.
        let mut t = resume(&[saved("u16", 3.0, 13_107.8)], &point).unwrap();
        assert_eq!(t.advance(10.0, 0.2, m), Step::Counted);
        assert!((t.value() - 13_109.2).abs() < 1e-9);
        // Reset while the gateway was down: counted on from the new raw.
        let mut t = resume(&[saved("u16", 20.0, 13_111.2)], &point).unwrap();
        assert_eq!(t.advance(5.0, 0.2, m), Step::Reset);
        assert!((t.value() - 13_112.2).abs() < 1e-9);
    }

    #[test]
    fn a_changed_point_resumes_sensibly() {
        let point = saved("u16", 0.0, 0.0).point;
        assert_eq!(resume(&[], &point), None, "nothing saved");
        let another_point = CounterPoint {
            point: "other".into(),
            ..point.clone()
        };
        let another_metric = CounterPoint {
            metric: "snow_mm_total".into(),
            ..point.clone()
        };
        for (other, why) in [
            (another_point, "another point's total"),
            (another_metric, "a new metric starts anew"),
        ] {
            let saved = SavedTotal {
                point: other,
                total: Total::saved(1.0, 1.0),
            };
            assert_eq!(resume(&[saved], &point), None, "{why}");
        }
        // Another register: the saved total counts on from 0.
        let mut t = resume(&[saved("u32", 65_530.0, 100.0)], &point).unwrap();
        assert_eq!(t.advance(7.0, 0.5, Some(65_536.0)), Step::Counted);
        assert_eq!(t.value(), 103.5);
    }

    #[test]
    fn a_float_meter_reset_counts_on() {
        let mut t = Total::start(1500.0, 1_500_000.0);
        assert_eq!(t.advance(0.5, 1000.0, None), Step::Reset);
        assert_eq!(t.value(), 1_500_500.0);
    }
}
