//! Units a register may report in, and the factor that turns each into the
//! unit its metric carries as a suffix (spec §4): a meter that reports kWh
//! feeds `energy_wh`, a transmitter that reports centimetres feeds
//! `level_m`. Only units of one quantity convert into each other; this
//! module never guesses a unit it does not list.

use retrofit_protocols::metric::MetricName;

/// A unit of a register value: its name, its quantity and its factor to
/// that quantity's base unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub name: &'static str,
    quantity: &'static str,
    factor: f64,
}

const UNITS: [Unit; 19] = [
    unit("m", "length", 1.0),
    unit("cm", "length", 0.01),
    unit("mm", "length", 0.001),
    unit("w", "power", 1.0),
    unit("kw", "power", 1000.0),
    unit("wh", "energy", 1.0),
    unit("kwh", "energy", 1000.0),
    unit("v", "voltage", 1.0),
    unit("a", "current", 1.0),
    unit("ma", "current", 0.001),
    unit("c", "temperature", 1.0),
    unit("pct", "ratio", 1.0),
    unit("s", "time", 1.0),
    unit("mps", "speed", 1.0),
    unit("mm_h", "rain_rate", 1.0),
    unit("dbm", "power_level", 1.0),
    unit("db", "ratio_level", 1.0),
    unit("hz", "frequency", 1.0),
    unit("var", "reactive_power", 1.0),
];

const fn unit(name: &'static str, quantity: &'static str, factor: f64) -> Unit {
    Unit {
        name,
        quantity,
        factor,
    }
}

impl Unit {
    /// The unit called `name` (`m`, `kwh`, ...), if known.
    pub fn parse(name: &str) -> Option<Unit> {
        UNITS.iter().copied().find(|u| u.name == name)
    }

    /// The unit a metric's name ends with (before `_total`), if any.
    pub fn of_metric(metric: &MetricName) -> Option<Unit> {
        let name = metric.as_str();
        let name = name.strip_suffix("_total").unwrap_or(name);
        UNITS
            .iter()
            .copied()
            .filter(|u| name.ends_with(&format!("_{}", u.name)))
            .max_by_key(|u| u.name.len())
    }

    /// The factor turning a value in `self` into one in `to`, when both
    /// measure the same quantity.
    pub fn factor_to(self, to: Unit) -> Option<f64> {
        (self.quantity == to.quantity).then(|| self.factor / to.factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(s: &str) -> MetricName {
        MetricName::parse(s).unwrap()
    }

    #[test]
    fn metric_units_and_conversions() {
        assert_eq!(Unit::of_metric(&metric("level_m")).unwrap().name, "m");
        assert_eq!(
            Unit::of_metric(&metric("rain_mm_total")).unwrap().name,
            "mm"
        );
        assert_eq!(Unit::of_metric(&metric("rain_mm_h")).unwrap().name, "mm_h");
        assert_eq!(Unit::of_metric(&metric("floor")), None);
        let kwh = Unit::parse("kwh").unwrap();
        assert_eq!(kwh.factor_to(Unit::parse("wh").unwrap()), Some(1000.0));
        assert_eq!(
            Unit::parse("cm")
                .unwrap()
                .factor_to(Unit::parse("m").unwrap()),
            Some(0.01)
        );
        assert_eq!(kwh.factor_to(Unit::parse("m").unwrap()), None);
        assert_eq!(Unit::parse("furlong"), None);
    }
}
