//! Validation of one `[[modbus_map.point]]`: a function that reads, a type
//! that fits its table, a bit only where it means something, a count that
//! matches the type, an address range inside the 16-bit space, a finite
//! non-zero scale, a unit that converts into the metric's unit, helper
//! points that exist, and writes only where Modbus has them.
//!
//! Every problem is reported at the key that causes it; nothing here
//! touches a bus.

use retrofit_protocols::Id;
use toml::Spanned;

use super::decode::{DataType, Layout};
use super::map::{Point, PointEntry, Table};
use super::units::Unit;
use crate::config::error::Problems;

/// The only device value a point may be subtracted from.
const MOUNT_HEIGHT: &str = "mount_height_m";

/// The point, or `None` after reporting why it is impossible.
pub fn check_point(p: &PointEntry, names: &[Id], problems: &mut Problems<'_>) -> Option<Point> {
    let before = problems.len();
    let table = table(p, problems);
    let data_type = *p.data_type.get_ref();
    let bit = table.and_then(|t| bit(p, t, problems));
    let layout = Layout {
        data_type,
        word_order: p.word_order,
        byte_order: p.byte_order,
        bit,
    };
    let width = match table {
        Some(t) if t.is_bits() => 1,
        _ => data_type.registers(),
    };
    if let Some(count) = p.count.as_ref().filter(|c| *c.get_ref() != width) {
        problems.at(
            count.span(),
            format!("count must be {width} for a {data_type:?} point"),
        );
    }
    if u32::from(*p.address.get_ref()) + u32::from(width) > 65_536 {
        problems.at(p.address.span(), "the point runs past register 65535");
    }
    let scale = finite(&p.scale, 1.0, "scale", problems);
    if scale == 0.0 {
        problems.at(span_of(&p.scale), "scale must not be 0");
    }
    let offset = finite(&p.offset, 0.0, "offset", problems);
    let units = units(p, problems);
    let unit_from = unit_from(p, names, units.map(|(_, to)| to), problems);
    let decimals_from = reference(&p.decimals_from, p, names, problems);
    let counter = counter(p, data_type, problems);
    let from_mount_height = subtract_from(p, problems);
    check_metric_type(p, data_type, problems);
    if p.writable && !matches!(table, Some(Table::Coils | Table::HoldingRegisters)) {
        problems.at(
            p.name.span(),
            "writable needs function 1 (coils) or 3 (holding registers)",
        );
    }
    (problems.len() == before).then(|| Point {
        name: p.name.get_ref().clone(),
        metric: p.metric.as_ref().map(|m| m.get_ref().clone()),
        table: table.unwrap_or(Table::HoldingRegisters),
        address: *p.address.get_ref(),
        layout,
        scale,
        offset,
        units,
        decimals_from,
        unit_from,
        counter,
        from_mount_height,
        writable: p.writable,
    })
}

fn span_of<T>(v: &Option<Spanned<T>>) -> std::ops::Range<usize> {
    v.as_ref().map_or(0..0, Spanned::span)
}

fn table(p: &PointEntry, problems: &mut Problems<'_>) -> Option<Table> {
    let table = Table::of_function(*p.function.get_ref());
    if table.is_none() {
        problems.at(
            p.function.span(),
            "function must be 1, 2, 3 or 4 (writes 5/6/15/16 follow from writable)",
        );
    }
    table
}

fn bit(p: &PointEntry, table: Table, problems: &mut Problems<'_>) -> Option<u8> {
    let data_type = *p.data_type.get_ref();
    if table.is_bits() && data_type != DataType::Bool {
        problems.at(
            p.data_type.span(),
            "functions 1 and 2 read bits: type must be bool",
        );
    }
    match (&p.bit, data_type, table.is_bits()) {
        (Some(b), DataType::Bool, false) if *b.get_ref() <= 15 => Some(*b.get_ref()),
        (Some(b), DataType::Bool, false) => {
            problems.at(b.span(), "bit must be 0..=15");
            None
        }
        (Some(b), _, _) => {
            problems.at(b.span(), "bit applies only to a bool read from a register");
            None
        }
        (None, DataType::Bool, false) => {
            problems.at(
                p.data_type.span(),
                "a bool read from a register needs a bit",
            );
            None
        }
        (None, _, _) => None,
    }
}

fn finite(v: &Option<Spanned<f64>>, default: f64, key: &str, problems: &mut Problems<'_>) -> f64 {
    match v {
        Some(x) if x.get_ref().is_finite() => *x.get_ref(),
        Some(x) => {
            problems.at(x.span(), format!("{key} must be a finite number"));
            default
        }
        None => default,
    }
}

/// The unit reported and the metric's unit.
fn units(p: &PointEntry, problems: &mut Problems<'_>) -> Option<(Unit, Unit)> {
    let metric_unit = p.metric.as_ref().and_then(|m| Unit::of_metric(m.get_ref()));
    let reported = match &p.unit {
        None => return metric_unit.map(|u| (u, u)),
        Some(u) => match Unit::parse(u.get_ref()) {
            Some(unit) => (unit, u.span()),
            None => {
                problems.at(u.span(), format!("unknown unit {:?}", u.get_ref()));
                return None;
            }
        },
    };
    match metric_unit {
        Some(to) if reported.0.factor_to(to).is_some() => Some((reported.0, to)),
        Some(to) => {
            problems.at(
                reported.1,
                format!("unit {} does not convert to {}", reported.0.name, to.name),
            );
            None
        }
        None => {
            problems.at(
                reported.1,
                "the point's metric has no unit suffix (spec §4)",
            );
            None
        }
    }
}

/// The index of the point `key` names; never the point itself.
fn reference(
    key: &Option<Spanned<Id>>,
    p: &PointEntry,
    names: &[Id],
    problems: &mut Problems<'_>,
) -> Option<usize> {
    let r = key.as_ref()?;
    match names.iter().position(|n| n == r.get_ref()) {
        Some(i) if names[i] != *p.name.get_ref() => Some(i),
        _ => {
            problems.at(
                r.span(),
                format!("no other point of this map is called {}", r.get_ref()),
            );
            None
        }
    }
}

fn unit_from(
    p: &PointEntry,
    names: &[Id],
    to: Option<Unit>,
    problems: &mut Problems<'_>,
) -> Option<(usize, Vec<Unit>)> {
    let index = reference(&p.unit_from, p, names, problems);
    let Some(codes) = &p.unit_codes else {
        if let Some(r) = &p.unit_from {
            problems.at(
                r.span(),
                "unit_from needs unit_codes (the unit of each code)",
            );
        }
        return None;
    };
    if p.unit_from.is_none() {
        problems.at(codes.span(), "unit_codes applies only with unit_from");
    }
    let mut units = Vec::new();
    for code in codes.get_ref() {
        match (Unit::parse(code), to) {
            (Some(u), Some(to)) if u.factor_to(to).is_some() => units.push(u),
            _ => problems.at(
                codes.span(),
                format!("unit code {code:?} does not convert to the metric's unit"),
            ),
        }
    }
    Some((index?, units))
}

fn counter(
    p: &PointEntry,
    data_type: DataType,
    problems: &mut Problems<'_>,
) -> Option<Option<f64>> {
    let is_total = p
        .metric
        .as_ref()
        .is_some_and(|m| m.get_ref().as_str().ends_with("_total"));
    let on = p.counter.as_ref().map_or(is_total, |c| *c.get_ref());
    if let Some(r) = &p.rollover {
        if !on {
            problems.at(r.span(), "rollover applies only to a counter");
        } else if !(r.get_ref().is_finite() && *r.get_ref() > 0.0) {
            problems.at(r.span(), "rollover must be a positive number");
        }
    }
    on.then(|| {
        p.rollover
            .as_ref()
            .map(|r| *r.get_ref())
            .or(data_type.modulus())
    })
}

fn subtract_from(p: &PointEntry, problems: &mut Problems<'_>) -> bool {
    match &p.subtract_from {
        Some(s) if s.get_ref() == MOUNT_HEIGHT => true,
        Some(s) => {
            problems.at(
                s.span(),
                format!("subtract_from can only be {MOUNT_HEIGHT}"),
            );
            false
        }
        None => false,
    }
}

fn check_metric_type(p: &PointEntry, data_type: DataType, problems: &mut Problems<'_>) {
    let Some(metric) = &p.metric else { return };
    let numeric = metric.get_ref().is_numeric();
    if data_type == DataType::Bool && numeric {
        problems.at(
            metric.span(),
            "a bool point needs a metric without a unit suffix",
        );
    }
}
