//! A slave's answers as metrics (spec §4): each point's registers decoded
//! by type and order, divided by its decimals register, scaled, offset,
//! converted from the unit it reports (or its unit-code register) into the
//! metric's unit, subtracted from the mount height where the map says so,
//! and carried as a never-decreasing total when it is a counter.
//!
//! A point whose block got no answer is left out; a value that cannot be
//! made sense of (a decimals or unit code out of range, a non-finite
//! number) rejects the reading with the reason, never panics.

use retrofit_protocols::metric::Value;
use retrofit_protocols::reading::Metrics;

use super::bus::Values;
use super::config::Slave;
use super::decode::DataType;
use super::map::Point;
use super::totals::SlaveTotals;
use crate::normalize::Rejection;

/// Most decimals a decimals register may give.
const MAX_DECIMALS: f64 = 6.0;

/// The raw value of every point whose block was answered, by point index.
pub fn raw_values(slave: &Slave, answers: &[Option<Values>]) -> Vec<Option<f64>> {
    let mut raw = vec![None; slave.map.points.len()];
    for (block, answer) in slave.blocks.iter().zip(answers) {
        let Some(answer) = answer else { continue };
        for &i in &block.points {
            let p = &slave.map.points[i];
            let at = usize::from(p.address - block.address);
            raw[i] = match answer {
                Values::Bits(bits) => bits.get(at).map(|b| f64::from(u8::from(*b))),
                Values::Words(words) => words.get(at..).and_then(|w| p.layout.decode(w)),
            };
        }
    }
    raw
}

/// The metrics of one poll; `totals` keeps each counter point's total.
pub fn metrics(
    slave: &Slave,
    raw: &[Option<f64>],
    totals: &mut SlaveTotals,
) -> Result<Metrics, Rejection> {
    let mut metrics = Metrics::new();
    for (i, p) in slave.map.points.iter().enumerate() {
        let (Some(metric), Some(r)) = (&p.metric, raw[i]) else {
            continue;
        };
        let value = if p.layout.data_type == DataType::Bool {
            Value::Bool(r != 0.0)
        } else {
            let k = factor(p, raw)?;
            let mut v = r * k + p.offset * unit_factor(p, raw)?;
            if p.from_mount_height {
                v = slave.mount_height_m.unwrap_or(0.0) - v;
            }
            v = totals.count(i, r, k, v);
            Value::number(v).map_err(|e| invalid(p, e.to_string()))?
        };
        metrics.push((metric.clone(), value));
    }
    Ok(metrics)
}

/// Raw units to the metric's unit: decimals, scale and unit conversion.
fn factor(p: &Point, raw: &[Option<f64>]) -> Result<f64, Rejection> {
    let decimals = match p.decimals_from {
        Some(i) => match raw[i] {
            Some(d) if d.fract() == 0.0 && (0.0..=MAX_DECIMALS).contains(&d) => d,
            Some(d) => return Err(invalid(p, format!("decimals register says {d}"))),
            None => return Err(invalid(p, "decimals register not answered".into())),
        },
        None => 0.0,
    };
    Ok(p.scale / 10f64.powf(decimals) * unit_factor(p, raw)?)
}

fn unit_factor(p: &Point, raw: &[Option<f64>]) -> Result<f64, Rejection> {
    let to = p.units.map(|(_, to)| to);
    let from = match &p.unit_from {
        Some((i, codes)) => {
            let code = raw[*i].ok_or_else(|| invalid(p, "unit register not answered".into()))?;
            let unit = codes
                .get(code as usize)
                .filter(|_| code >= 0.0 && code.fract() == 0.0);
            Some(*unit.ok_or_else(|| invalid(p, format!("unknown unit code {code}")))?)
        }
        None => p.units.map(|(from, _)| from),
    };
    match (from, to) {
        (Some(from), Some(to)) => from.factor_to(to).ok_or_else(|| {
            invalid(
                p,
                format!("unit {} does not convert to {}", from.name, to.name),
            )
        }),
        _ => Ok(1.0),
    }
}

fn invalid(p: &Point, why: String) -> Rejection {
    Rejection::new("invalid_value", format!("point {}: {why}", p.name))
}
