//! Register maps (`[[modbus_map]]`, spec §7, §9): what to read from a
//! slave and what each value means, as config, reusable by name across
//! devices. Per point: the function (1 coils, 2 discrete inputs, 3 holding
//! and 4 input registers), address, count, data type with word and byte
//! order, bit, scale, offset, unit and metric name; optionally the
//! registers that hold the value's decimals or unit code, counter
//! semantics and whether writes are allowed.
//!
//! ```toml
//! [[modbus_map]]
//! name = "level-4-20ma"
//! [[modbus_map.point]]
//! name = "level"
//! metric = "level_m"
//! function = 3
//! address = 4
//! type = "i16"
//! unit = "mm"                 # what the register reports; converted to m
//! decimals_from = "decimals"  # another point of the map
//! ```
//!
//! Validation reports every impossible or overlapping point at its place
//! in the file. This module only describes; it never talks to a bus.

use std::collections::HashMap;
use std::sync::Arc;

use retrofit_protocols::metric::MetricName;
use retrofit_protocols::Id;
use serde::Deserialize;
use toml::Spanned;

use super::decode::{DataType, Layout, Order};
use super::units::Unit;
use crate::config::error::Problems;

/// Most registers one read may ask for (Modbus application protocol).
pub const MAX_READ_REGISTERS: u16 = 125;

/// A `[[modbus_map]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapEntry {
    pub name: Spanned<Id>,
    #[serde(default)]
    pub point: Vec<PointEntry>,
}

/// A `[[modbus_map.point]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointEntry {
    pub name: Spanned<Id>,
    pub metric: Option<Spanned<MetricName>>,
    pub function: Spanned<u8>,
    pub address: Spanned<u16>,
    pub count: Option<Spanned<u16>>,
    #[serde(rename = "type")]
    pub data_type: Spanned<DataType>,
    #[serde(default)]
    pub word_order: Order,
    #[serde(default)]
    pub byte_order: Order,
    pub bit: Option<Spanned<u8>>,
    pub scale: Option<Spanned<f64>>,
    pub offset: Option<Spanned<f64>>,
    pub unit: Option<Spanned<String>>,
    pub decimals_from: Option<Spanned<Id>>,
    pub unit_from: Option<Spanned<Id>>,
    pub unit_codes: Option<Spanned<Vec<String>>>,
    pub counter: Option<Spanned<bool>>,
    pub rollover: Option<Spanned<f64>>,
    pub subtract_from: Option<Spanned<String>>,
    #[serde(default)]
    pub writable: bool,
}

/// The table a function reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Coils = 1,
    DiscreteInputs = 2,
    HoldingRegisters = 3,
    InputRegisters = 4,
}

impl Table {
    pub fn of_function(f: u8) -> Option<Table> {
        match f {
            1 => Some(Self::Coils),
            2 => Some(Self::DiscreteInputs),
            3 => Some(Self::HoldingRegisters),
            4 => Some(Self::InputRegisters),
            _ => None,
        }
    }

    /// Whether the table holds bits rather than registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Self::Coils | Self::DiscreteInputs)
    }
}

/// A validated point.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: Id,
    /// `None` for a helper point (decimals, unit code) that is no metric.
    pub metric: Option<MetricName>,
    pub table: Table,
    pub address: u16,
    pub layout: Layout,
    pub scale: f64,
    pub offset: f64,
    /// The unit the device reports in and the metric's unit.
    pub units: Option<(Unit, Unit)>,
    /// Index of the point holding the number of decimals.
    pub decimals_from: Option<usize>,
    /// Index of the point holding the unit code, and the unit of each code.
    pub unit_from: Option<(usize, Vec<Unit>)>,
    /// Counter semantics: `Some(modulus)` (its rollover, if it has one).
    pub counter: Option<Option<f64>>,
    /// The value is the device's `mount_height_m` minus the reading.
    pub from_mount_height: bool,
    pub writable: bool,
}

impl Point {
    /// Registers (or bits) the point takes.
    pub fn width(&self) -> u16 {
        if self.table.is_bits() {
            1
        } else {
            self.layout.data_type.registers()
        }
    }

    fn end(&self) -> u32 {
        u32::from(self.address) + u32::from(self.width())
    }

    /// Whether the two points claim the same register (bits of one
    /// register may be shared).
    fn overlaps(&self, other: &Point) -> bool {
        let shares_bits = self.layout.bit.is_some()
            && other.layout.bit.is_some()
            && self.layout.bit != other.layout.bit;
        self.table == other.table
            && u32::from(self.address) < other.end()
            && u32::from(other.address) < self.end()
            && !shares_bits
    }
}

/// A validated register map.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterMap {
    pub name: Id,
    pub points: Vec<Point>,
}

/// Every map by name.
pub type Maps = HashMap<Id, Arc<RegisterMap>>;

/// Validates the maps of one file into `maps`; a name already taken is a
/// problem.
pub fn check_maps(entries: Vec<MapEntry>, maps: &mut Maps, problems: &mut Problems<'_>) {
    for entry in entries {
        let name = entry.name.get_ref().clone();
        if maps.contains_key(&name) {
            problems.at(entry.name.span(), format!("duplicate modbus_map {name}"));
            continue;
        }
        if let Some(map) = check_map(entry, problems) {
            maps.insert(name, Arc::new(map));
        }
    }
}

fn check_map(entry: MapEntry, problems: &mut Problems<'_>) -> Option<RegisterMap> {
    if entry.point.is_empty() {
        problems.at(entry.name.span(), "a modbus_map needs at least one point");
        return None;
    }
    let names: Vec<Id> = entry
        .point
        .iter()
        .map(|p| p.name.get_ref().clone())
        .collect();
    let mut points: Vec<Point> = Vec::new();
    let mut ok = true;
    for (i, p) in entry.point.iter().enumerate() {
        if names[..i].contains(p.name.get_ref()) {
            problems.at(
                p.name.span(),
                format!("duplicate point {}", p.name.get_ref()),
            );
            ok = false;
        }
        match super::point::check_point(p, &names, problems) {
            Some(point) => {
                if let Some(other) = points.iter().find(|o| o.overlaps(&point)) {
                    problems.at(
                        p.address.span(),
                        format!("point {} overlaps point {}", point.name, other.name),
                    );
                    ok = false;
                }
                points.push(point);
            }
            None => ok = false,
        }
    }
    ok.then(|| RegisterMap {
        name: entry.name.into_inner(),
        points,
    })
}
