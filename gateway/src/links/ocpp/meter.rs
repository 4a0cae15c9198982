//! OCPP 1.6 sampled values to our metrics (spec §4): every measurand,
//! phase, location and unit of the 1.6 spec to a metric name with its unit
//! suffix and the value in that unit (kWh to Wh, kW to W, kvar to var,
//! Fahrenheit and Kelvin to °C, a power factor to percent).
//!
//! The name is `{location}{measurand}{phase}_{unit}`: an Outlet reading of
//! Energy.Active.Import.Register is `energy_wh`, its L1 current at the
//! Inlet `inlet_current_l1_a`. The context picks the reading a sample
//! joins (see `slot`). This module never lets a sample through whose unit
//! does not fit its measurand, nor a value that is not a finite number.

use retrofit_protocols::reading::{Metrics, METRICS_MAX};
use retrofit_protocols::{MetricName, Timestamp, Value};
use rust_ocpp::v1_6::types::{
    Location, Measurand, MeterValue, Phase, ReadingContext, SampledValue, UnitOfMeasure,
};
use serde_json::Value as Json;

use crate::normalize::Rejection;

/// The samples of one timestamp and context: one telemetry reading.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterGroup {
    pub ts: Timestamp,
    pub slot: u8,
    pub metrics: Metrics,
}

/// The reading slot (0..=9, part of `seq`) a context's samples go to.
pub fn slot(context: Option<&ReadingContext>) -> u8 {
    match context {
        None | Some(ReadingContext::SamplePeriodic) => 4,
        Some(ReadingContext::SampleClock) => 5,
        Some(ReadingContext::TransactionBegin) => 6,
        Some(ReadingContext::TransactionEnd) => 7,
        Some(ReadingContext::Trigger) => 8,
        Some(_) => 9,
    }
}

/// Converts meter values; samples that cannot be converted are rejected
/// one by one, the rest are kept.
pub fn convert(values: &[MeterValue]) -> (Vec<MeterGroup>, Vec<Rejection>) {
    let mut groups: Vec<MeterGroup> = Vec::new();
    let mut rejected = Vec::new();
    for value in values {
        let ts = Timestamp::from_millis(value.timestamp.timestamp_millis());
        for sample in &value.sampled_value {
            match metric(sample) {
                Ok((name, x)) => {
                    let slot = slot(sample.context.as_ref());
                    if let Err(r) = add(&mut groups, ts, slot, name, x) {
                        rejected.push(r);
                    }
                }
                Err(r) => rejected.push(r),
            }
        }
    }
    (groups, rejected)
}

/// Adds a metric to the group of its time and slot (a repeated name
/// replaces the earlier value).
pub fn add(
    groups: &mut Vec<MeterGroup>,
    ts: Timestamp,
    slot: u8,
    name: MetricName,
    value: Value,
) -> Result<(), Rejection> {
    let index = match groups.iter().position(|g| g.ts == ts && g.slot == slot) {
        Some(i) => i,
        None => {
            groups.push(MeterGroup {
                ts,
                slot,
                metrics: Metrics::new(),
            });
            groups.len() - 1
        }
    };
    let metrics = &mut groups[index].metrics;
    if let Some(existing) = metrics.iter_mut().find(|(n, _)| *n == name) {
        existing.1 = value;
    } else if metrics.len() >= METRICS_MAX {
        return Err(Rejection::new(
            "too_many_metrics",
            format!("more than {METRICS_MAX} samples at one time"),
        ));
    } else {
        metrics.push((name, value));
    }
    Ok(())
}

/// What a measurand measures, which fixes the units it may come in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Quantity {
    Energy,
    ReactiveEnergy,
    Power,
    ReactivePower,
    Current,
    Voltage,
    Temperature,
    Percent,
    Ratio,
    Frequency,
    Rpm,
}

fn measurand(m: &Measurand) -> (&'static str, Quantity) {
    use Measurand as M;
    use Quantity as Q;
    match m {
        M::CurrentExport => ("current_export", Q::Current),
        M::CurrentImport => ("current", Q::Current),
        M::CurrentOffered => ("current_offered", Q::Current),
        M::EnergyActiveExportRegister => ("energy_export", Q::Energy),
        M::EnergyActiveImportRegister => ("energy", Q::Energy),
        M::EnergyReactiveExportRegister => ("energy_reactive_export", Q::ReactiveEnergy),
        M::EnergyReactiveImportRegister => ("energy_reactive", Q::ReactiveEnergy),
        M::EnergyActiveExportInterval => ("energy_export_interval", Q::Energy),
        M::EnergyActiveImportInterval => ("energy_interval", Q::Energy),
        M::EnergyReactiveExportInterval => ("energy_reactive_export_interval", Q::ReactiveEnergy),
        M::EnergyReactiveImportInterval => ("energy_reactive_interval", Q::ReactiveEnergy),
        M::Frequency => ("frequency", Q::Frequency),
        M::PowerActiveExport => ("power_export", Q::Power),
        M::PowerActiveImport => ("power", Q::Power),
        M::PowerFactor => ("power_factor", Q::Ratio),
        M::PowerOffered => ("power_offered", Q::Power),
        M::PowerReactiveExport => ("power_reactive_export", Q::ReactivePower),
        M::PowerReactiveImport => ("power_reactive", Q::ReactivePower),
        M::Rpm => ("fan", Q::Rpm),
        M::SoC => ("soc", Q::Percent),
        M::Temperature => ("temperature", Q::Temperature),
        M::Voltage => ("voltage", Q::Voltage),
    }
}

/// The unit suffix of a quantity and the value converted to it, or `None`
/// when `unit` is not a unit of that quantity.
fn to_model_unit(q: Quantity, unit: Option<&UnitOfMeasure>, x: f64) -> Option<(&'static str, f64)> {
    use Quantity as Q;
    use UnitOfMeasure as U;
    let converted = match (q, unit) {
        (Q::Energy, None | Some(U::Wh)) => ("wh", x),
        (Q::Energy, Some(U::KWh)) => ("wh", x * 1000.0),
        (Q::ReactiveEnergy, None | Some(U::Varh)) => ("varh", x),
        (Q::ReactiveEnergy, Some(U::Kvarh)) => ("varh", x * 1000.0),
        (Q::Power, None | Some(U::W)) => ("w", x),
        (Q::Power, Some(U::Kw)) => ("w", x * 1000.0),
        (Q::ReactivePower, None | Some(U::Var)) => ("var", x),
        (Q::ReactivePower, Some(U::Kvar)) => ("var", x * 1000.0),
        (Q::Current, None | Some(U::A)) => ("a", x),
        (Q::Voltage, None | Some(U::V)) => ("v", x),
        (Q::Temperature, None | Some(U::Celsius)) => ("c", x),
        (Q::Temperature, Some(U::Fahrenheit)) => ("c", (x - 32.0) * 5.0 / 9.0),
        (Q::Temperature, Some(U::K)) => ("c", x - 273.15),
        (Q::Percent, None | Some(U::Percent)) => ("pct", x),
        (Q::Ratio, None) => ("pct", x * 100.0),
        (Q::Ratio, Some(U::Percent)) => ("pct", x),
        (Q::Frequency, None) => ("hz", x),
        (Q::Rpm, None) => ("rpm", x),
        _ => return None,
    };
    Some(converted)
}

fn location_prefix(l: Option<&Location>) -> &'static str {
    match l {
        None | Some(Location::Outlet) => "",
        Some(Location::Inlet) => "inlet_",
        Some(Location::Cable) => "cable_",
        Some(Location::Ev) => "ev_",
        Some(Location::Body) => "body_",
    }
}

fn phase_suffix(p: Option<&Phase>) -> &'static str {
    match p {
        None => "",
        Some(Phase::L1) => "_l1",
        Some(Phase::L2) => "_l2",
        Some(Phase::L3) => "_l3",
        Some(Phase::N) => "_n",
        Some(Phase::L1N) => "_l1_n",
        Some(Phase::L2N) => "_l2_n",
        Some(Phase::L3N) => "_l3_n",
        Some(Phase::L1L2) => "_l1_l2",
        Some(Phase::L2L3) => "_l2_l3",
        Some(Phase::L3L1) => "_l3_l1",
    }
}

/// Rewrites the 1.6 schema's own spelling of the Celsius unit
/// (`Celcius`, which chargers send) to the one `rust-ocpp` decodes, in
/// every `sampledValue` of `meter_values` (a MeterValues `meterValue` or a
/// StopTransaction `transactionData` array).
pub fn accept_schema_spelling(meter_values: Option<&mut Json>) {
    let Some(Json::Array(values)) = meter_values else {
        return;
    };
    for value in values {
        let Some(Json::Array(samples)) = value.get_mut("sampledValue") else {
            continue;
        };
        for sample in samples {
            if let Some(unit) = sample.get_mut("unit").filter(|u| *u == "Celcius") {
                *unit = Json::from("Celsius");
            }
        }
    }
}

/// One sampled value as a metric.
pub fn metric(s: &SampledValue) -> Result<(MetricName, Value), Rejection> {
    let signed = s.format.as_ref().and_then(|f| serde_json::to_value(f).ok());
    if signed.as_ref().and_then(Json::as_str) == Some("SignedData") {
        return Err(Rejection::new(
            "unsupported",
            "signed meter data is not decoded",
        ));
    }
    let x: f64 = s
        .value
        .trim()
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite())
        .ok_or_else(|| {
            Rejection::new("invalid_value", "a sampled value must be a decimal number")
        })?;
    let default = Measurand::EnergyActiveImportRegister;
    let (base, quantity) = measurand(s.measurand.as_ref().unwrap_or(&default));
    let (unit, value) = to_model_unit(quantity, s.unit.as_ref(), x).ok_or_else(|| {
        Rejection::new(
            "unit_mismatch",
            format!("unit {:?} does not measure {base}", s.unit),
        )
    })?;
    let name = format!(
        "{}{base}{}_{unit}",
        location_prefix(s.location.as_ref()),
        phase_suffix(s.phase.as_ref())
    );
    let name = MetricName::parse(&name)
        .map_err(|_| Rejection::new("invalid_field", format!("metric name {name}")))?;
    let value = Value::number(value).map_err(|e| Rejection::new("invalid_value", e.to_string()))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(json: &str) -> Result<(String, f64), Rejection> {
        let s: SampledValue = serde_json::from_str(json).unwrap();
        metric(&s).map(|(n, v)| match v {
            Value::Number(x) => (n.as_str().to_string(), x),
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn units_convert_to_the_model() {
        assert_eq!(
            sample(r#"{"value":"12.5"}"#).unwrap(),
            ("energy_wh".into(), 12.5)
        );
        let kwh = r#"{"value":"1.5","measurand":"Energy.Active.Import.Register","unit":"kWh"}"#;
        assert_eq!(sample(kwh).unwrap(), ("energy_wh".into(), 1500.0));
        let kw = r#"{"value":"7.2","measurand":"Power.Active.Import","unit":"kW"}"#;
        assert_eq!(sample(kw).unwrap(), ("power_w".into(), 7200.0));
        let a = r#"{"value":"16","measurand":"Current.Import","unit":"A","phase":"L2"}"#;
        assert_eq!(sample(a).unwrap(), ("current_l2_a".into(), 16.0));
        let v = r#"{"value":"400","measurand":"Voltage","unit":"V","phase":"L1-L2","location":"Inlet"}"#;
        assert_eq!(sample(v).unwrap(), ("inlet_voltage_l1_l2_v".into(), 400.0));
        let soc = r#"{"value":"81","measurand":"SoC","unit":"Percent","location":"EV"}"#;
        assert_eq!(sample(soc).unwrap(), ("ev_soc_pct".into(), 81.0));
        let k = r#"{"value":"300.15","measurand":"Temperature","unit":"K","location":"Body"}"#;
        let (name, c) = sample(k).unwrap();
        assert_eq!(name, "body_temperature_c");
        assert!((c - 27.0).abs() < 1e-9);
        let mut celcius = serde_json::json!([{"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"30","measurand":"Temperature","unit":"Celcius"}]}]);
        accept_schema_spelling(Some(&mut celcius));
        let values: Vec<MeterValue> = serde_json::from_value(celcius).unwrap();
        let (groups, _) = convert(&values);
        assert_eq!(groups[0].metrics[0].0.as_str(), "temperature_c");
        let f = r#"{"value":"212","measurand":"Temperature","unit":"Fahrenheit"}"#;
        assert_eq!(sample(f).unwrap(), ("temperature_c".into(), 100.0));
        let pf = r#"{"value":"0.95","measurand":"Power.Factor"}"#;
        assert_eq!(sample(pf).unwrap(), ("power_factor_pct".into(), 95.0));
        let kvarh = r#"{"value":"2","measurand":"Energy.Reactive.Export.Interval","unit":"kvarh","phase":"L3-L1","location":"Cable"}"#;
        let (name, x) = sample(kvarh).unwrap();
        assert_eq!(
            (name.as_str(), x),
            ("cable_energy_reactive_export_interval_l3_l1_varh", 2000.0)
        );
        assert!(name.len() <= retrofit_protocols::metric::NAME_MAX_LEN);
    }

    #[test]
    fn every_measurand_phase_and_location_names_a_valid_metric() {
        let names = [
            "Current.Export",
            "Current.Import",
            "Current.Offered",
            "Energy.Active.Export.Register",
            "Energy.Active.Import.Register",
            "Energy.Reactive.Export.Register",
            "Energy.Reactive.Import.Register",
            "Energy.Active.Export.Interval",
            "Energy.Active.Import.Interval",
            "Energy.Reactive.Export.Interval",
            "Energy.Reactive.Import.Interval",
            "Frequency",
            "Power.Active.Export",
            "Power.Active.Import",
            "Power.Factor",
            "Power.Offered",
            "Power.Reactive.Export",
            "Power.Reactive.Import",
            "RPM",
            "SoC",
            "Temperature",
            "Voltage",
        ];
        for m in names {
            for p in ["", r#","phase":"L3-L1""#] {
                let json = format!(r#"{{"value":"1","measurand":"{m}","location":"Inlet"{p}}}"#);
                let (name, _) = sample(&json).unwrap_or_else(|e| panic!("{m}: {e:?}"));
                assert!(MetricName::parse(&name).unwrap().is_numeric(), "{name}");
            }
        }
    }

    #[test]
    fn hostile_samples_are_rejected_alone() {
        for (json, reason) in [
            (r#"{"value":"abc"}"#, "invalid_value"),
            (r#"{"value":"NaN"}"#, "invalid_value"),
            (r#"{"value":"1e999"}"#, "invalid_value"),
            (r#"{"value":""}"#, "invalid_value"),
            (
                r#"{"value":"1","measurand":"Voltage","unit":"kWh"}"#,
                "unit_mismatch",
            ),
            (
                r#"{"value":"1","measurand":"SoC","unit":"W"}"#,
                "unit_mismatch",
            ),
            (r#"{"value":"AbC=","format":"SignedData"}"#, "unsupported"),
        ] {
            assert_eq!(sample(json).unwrap_err().reason, reason, "{json}");
        }
        let values: Vec<MeterValue> = serde_json::from_str(
            r#"[{"timestamp":"2026-12-01T10:00:00Z","sampledValue":[{"value":"x"},{"value":"5","unit":"kWh"},{"value":"3","measurand":"Power.Active.Import","context":"Transaction.Begin"}]}]"#,
        )
        .unwrap();
        let (groups, rejected) = convert(&values);
        assert_eq!(rejected.len(), 1);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].metrics[0].1, Value::Number(5000.0));
        assert_eq!(groups[1].slot, 6);
    }
}
