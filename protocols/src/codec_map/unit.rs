//! Units of vendor values and their conversion to the unit a metric's
//! suffix names (`_mm`, `_m`, `_v`, `_c`, `_pct`...), and numbers written
//! as text with their unit (`"1234 mm"`, `"3.3V"`, `"87 %"`, `"21.5°F"`).
//!
//! Only units of one quantity convert into each other; anything else is an
//! error with the reason. Never panics, never yields a non-finite number.

use core::fmt;

use crate::metric::MetricName;

/// A unit a vendor value may be given in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    name: &'static str,
    quantity: Quantity,
    /// Multiply to get the quantity's base unit.
    factor: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quantity {
    Length,
    RainRate,
    Voltage,
    Temperature,
    Percent,
    Power,
    Energy,
    Current,
    Time,
    Speed,
    PowerLevel,
    Ratio,
}

/// Every unit: its spellings (case-sensitive where case matters: `m` and
/// `M`), its quantity and its factor to that quantity's base.
const UNITS: &[(&[&str], Quantity, f64)] = &[
    (&["mm"], Quantity::Length, 0.001),
    (&["cm"], Quantity::Length, 0.01),
    (&["m"], Quantity::Length, 1.0),
    (&["mm/h"], Quantity::RainRate, 1.0),
    (&["mV", "mv"], Quantity::Voltage, 0.001),
    (&["V", "v"], Quantity::Voltage, 1.0),
    (&["°C", "C", "degC", "℃"], Quantity::Temperature, 1.0),
    // Factor unused: °F and K are converted by offset (see `to_celsius`).
    (&["°F", "F", "degF", "℉"], Quantity::Temperature, 1.0),
    (&["K"], Quantity::Temperature, 1.0),
    (&["%"], Quantity::Percent, 1.0),
    (&["W"], Quantity::Power, 1.0),
    (&["kW"], Quantity::Power, 1000.0),
    (&["Wh"], Quantity::Energy, 1.0),
    (&["kWh"], Quantity::Energy, 1000.0),
    (&["mA"], Quantity::Current, 0.001),
    (&["A"], Quantity::Current, 1.0),
    (&["ms"], Quantity::Time, 0.001),
    (&["s"], Quantity::Time, 1.0),
    (&["min"], Quantity::Time, 60.0),
    (&["h"], Quantity::Time, 3600.0),
    (&["m/s"], Quantity::Speed, 1.0),
    (&["km/h"], Quantity::Speed, 1.0 / 3.6),
    (&["dBm"], Quantity::PowerLevel, 1.0),
    (&["dB"], Quantity::Ratio, 1.0),
];

/// The unit each metric suffix names (longest suffix first).
const SUFFIXES: &[(&str, &str)] = &[
    ("_mm_h", "mm/h"),
    ("_mm", "mm"),
    ("_m", "m"),
    ("_pct", "%"),
    ("_wh", "Wh"),
    ("_w", "W"),
    ("_a", "A"),
    ("_v", "V"),
    ("_c", "°C"),
    ("_dbm", "dBm"),
    ("_db", "dB"),
    ("_s", "s"),
    ("_mps", "m/s"),
];

/// A value that cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitError {
    Unknown(alloc::string::String),
    Mismatch {
        from: &'static str,
        to: &'static str,
    },
    NoUnit,
    NotANumber,
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(u) => write!(f, "unknown unit {u:?}"),
            Self::Mismatch { from, to } => write!(f, "{from} cannot be converted to {to}"),
            Self::NoUnit => f.write_str("the metric has no unit to convert to"),
            Self::NotANumber => f.write_str("not a number"),
        }
    }
}

impl Unit {
    /// The unit spelled `s`.
    pub fn parse(s: &str) -> Result<Self, UnitError> {
        UNITS
            .iter()
            .find(|(names, ..)| names.contains(&s))
            .map(|&(names, quantity, factor)| Self {
                name: names[0],
                quantity,
                factor,
            })
            .ok_or_else(|| UnitError::Unknown(s.into()))
    }

    /// The unit the metric's suffix names, if any (a counter's unit is
    /// the one before `_total`: `rain_mm_total` counts mm).
    pub fn of_metric(metric: &MetricName) -> Option<Self> {
        let n = metric.as_str();
        let n = n.strip_suffix("_total").unwrap_or(n);
        let (_, unit) = SUFFIXES.iter().find(|(suffix, _)| n.ends_with(suffix))?;
        Self::parse(unit).ok()
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether values in `self` convert to `to`.
    pub fn converts_to(&self, to: Unit) -> bool {
        self.quantity == to.quantity
    }

    /// `x` in `self`, converted to `to`.
    pub fn convert(&self, x: f64, to: Unit) -> Result<f64, UnitError> {
        if !self.converts_to(to) {
            return Err(UnitError::Mismatch {
                from: self.name,
                to: to.name,
            });
        }
        let y = if self.quantity == Quantity::Temperature {
            let celsius = to_celsius(self.name, x);
            from_celsius(to.name, celsius)
        } else {
            x * self.factor / to.factor
        };
        if y.is_finite() {
            Ok(round(y))
        } else {
            Err(UnitError::NotANumber)
        }
    }
}

fn to_celsius(unit: &str, x: f64) -> f64 {
    match unit {
        "°F" => (x - 32.0) * 5.0 / 9.0,
        "K" => x - 273.15,
        _ => x,
    }
}

fn from_celsius(unit: &str, c: f64) -> f64 {
    match unit {
        "°F" => c * 9.0 / 5.0 + 32.0,
        "K" => c + 273.15,
        _ => c,
    }
}

/// Rounds away the binary noise of a conversion (`3.371 V` -> `3371 mV`,
/// not `3370.9999999999995`): 12 significant digits are kept.
fn round(y: f64) -> f64 {
    if y == 0.0 || y.abs() >= 1e12 {
        return y;
    }
    let text = alloc::format!("{y:.12e}");
    text.parse().unwrap_or(y)
}

/// A number written as text, with its unit if it has one: `"1234 mm"`,
/// `"87%"`, `"0.00"`, `"-3.5 °C"`. `None` for text that is no number.
pub fn number_with_unit(text: &str) -> Option<Result<(f64, Option<Unit>), UnitError>> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let x: f64 = number.parse().ok()?;
    if !x.is_finite() {
        return Some(Err(UnitError::NotANumber));
    }
    let unit = unit.trim();
    if unit.is_empty() {
        return Some(Ok((x, None)));
    }
    Some(Unit::parse(unit).map(|u| (x, Some(u))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(n: &str) -> Unit {
        Unit::of_metric(&MetricName::parse(n).unwrap()).unwrap()
    }

    #[test]
    fn converts_within_a_quantity_only() {
        let mm = Unit::parse("mm").unwrap();
        assert_eq!(mm.convert(1234.0, metric("level_m")), Ok(1.234));
        assert_eq!(
            Unit::parse("V")
                .unwrap()
                .convert(3.371, Unit::parse("mV").unwrap()),
            Ok(3371.0)
        );
        assert_eq!(
            Unit::parse("mV")
                .unwrap()
                .convert(3371.0, metric("battery_v")),
            Ok(3.371)
        );
        assert_eq!(
            Unit::parse("°F")
                .unwrap()
                .convert(212.0, metric("temperature_c")),
            Ok(100.0)
        );
        assert_eq!(
            Unit::parse("F")
                .unwrap()
                .convert(-40.0, metric("temperature_c")),
            Ok(-40.0)
        );
        assert_eq!(
            Unit::parse("kWh")
                .unwrap()
                .convert(1.5, metric("energy_wh")),
            Ok(1500.0)
        );
        assert!(mm.convert(1.0, metric("battery_v")).is_err());
        assert!(mm.convert(f64::MAX, Unit::parse("m").unwrap()).is_ok());
        assert_eq!(
            Unit::parse("cm").unwrap().convert(f64::MAX, mm),
            Err(UnitError::NotANumber)
        );
        assert_eq!(metric("rain_mm_h").name(), "mm/h");
        assert_eq!(metric("rain_mm_total").name(), "mm");
        assert!(Unit::of_metric(&MetricName::parse("trips_total").unwrap()).is_none());
        assert!(Unit::of_metric(&MetricName::parse("floor").unwrap()).is_none());
        assert!(matches!(Unit::parse("furlong"), Err(UnitError::Unknown(_))));
    }

    #[test]
    fn reads_numbers_written_with_their_unit() {
        let got = |s| number_with_unit(s).map(|r| r.map(|(x, u)| (x, u.map(|u| u.name()))));
        assert_eq!(got("1234 mm"), Some(Ok((1234.0, Some("mm")))));
        assert_eq!(got(" 87% "), Some(Ok((87.0, Some("%")))));
        assert_eq!(got("0.00"), Some(Ok((0.0, None))));
        assert_eq!(got("-3.5°C"), Some(Ok((-3.5, Some("°C")))));
        assert_eq!(got("1e3mV"), Some(Ok((1000.0, Some("mV")))));
        assert_eq!(got("Occupied"), None);
        assert_eq!(got(""), None);
        assert_eq!(got("1e999"), Some(Err(UnitError::NotANumber)));
        assert!(matches!(
            got("12 parsecs"),
            Some(Err(UnitError::Unknown(_)))
        ));
        for hostile in ["--1", "1..2", "\u{0}", "1\u{202e}mm", "ｍｍ", "1 mm mm"] {
            let _ = number_with_unit(hostile);
        }
    }
}
