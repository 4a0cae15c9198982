use super::*;
use serde_json::json;

fn entry(path: &str, metric: &str, unit: Option<&str>) -> MapEntry {
    MapEntry {
        path: path.parse().unwrap(),
        metric: MetricName::parse(metric).unwrap(),
        unit: unit.map(|u| Unit::parse(u).unwrap()),
        values: Vec::new(),
    }
}

/// The worked map of docs/SENSORS.md for Dragino's LDDS75 codec.
fn ldds75_map() -> CodecMap {
    CodecMap::new(alloc::vec![
        entry("Bat", "battery_v", Some("V")),
        entry("Distance", "distance_mm", Some("mm")),
        entry("TempC_DS18B20", "temperature_c", None),
    ])
    .unwrap()
}

fn number(a: &Applied, name: &str) -> Option<f64> {
    a.metrics
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| match v {
            Value::Number(x) => Some(*x),
            _ => None,
        })
}

#[test]
fn maps_the_dragino_ldds75_codec_output() {
    let object = json!({"Bat":3.371,"Distance":"1234 mm","Interrupt_flag":0,"TempC_DS18B20":"0.00","Sensor_flag":1});
    let a = ldds75_map().apply(&object);
    assert_eq!(number(&a, "battery_v"), Some(3.371));
    assert_eq!(number(&a, "distance_mm"), Some(1234.0));
    assert_eq!(number(&a, "temperature_c"), Some(0.0));
    assert_eq!((a.failed.len(), a.ignored_keys), (0, 2));
    // A bare number in the entry's unit converts the same way.
    let a = ldds75_map().apply(&json!({"Distance": 1234}));
    assert_eq!(number(&a, "distance_mm"), Some(1234.0));
    let a = ldds75_map().apply(&json!({"Distance": "1.234 m", "Bat": "3371 mV"}));
    assert_eq!(number(&a, "distance_mm"), Some(1234.0));
    assert_eq!(number(&a, "battery_v"), Some(3.371));
}

#[test]
fn maps_nested_paths_units_and_enums() {
    let mut occupied = entry("state", "occupied", None);
    occupied.values = alloc::vec![
        ("Occupied".into(), Value::Bool(true)),
        ("Free".into(), Value::Bool(false)),
        ("1".into(), Value::Bool(true)),
        ("0".into(), Value::Bool(false)),
    ];
    let map = CodecMap::new(alloc::vec![
        entry("level.value", "level_m", None),
        entry("sensors[0].temp", "temperature_c", Some("°F")),
        entry("bat", "battery_pct", None),
        occupied,
    ])
    .unwrap();
    let a = map.apply(&json!({"level":{"value":1.2,"unit":"m"},"sensors":[{"temp":212}],"bat":"87 %","state":"Occupied"}));
    assert_eq!(number(&a, "level_m"), Some(1.2));
    assert_eq!(number(&a, "temperature_c"), Some(100.0));
    assert_eq!(number(&a, "battery_pct"), Some(87.0));
    assert!(a
        .metrics
        .contains(&(MetricName::parse("occupied").unwrap(), Value::Bool(true))));
    let a = map.apply(&json!({"state": 1}));
    assert_eq!(
        a.metrics,
        alloc::vec![(MetricName::parse("occupied").unwrap(), Value::Bool(true))]
    );
    let a = map.apply(&json!({"state": "Maybe", "level": {"value": "deep"}, "bat": 50}));
    assert_eq!(number(&a, "battery_pct"), Some(50.0));
    let failed: Vec<&str> = a.failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(failed, ["level_m", "occupied"]);
    assert!(
        a.failed[1]
            .1
            .contains("\"Maybe\" is not one of the map's values"),
        "{:?}",
        a.failed
    );
}

#[test]
fn a_value_that_cannot_convert_fails_only_its_metric() {
    for bad in [
        json!("12 parsecs"),
        json!("3 V"),
        json!({"x": 1}),
        json!([1]),
        json!(null),
        json!(true),
        json!("deep"),
        json!("1e999 mm"),
        json!("x".repeat(10_000)),
    ] {
        let a = ldds75_map().apply(&json!({"Distance": bad, "Bat": 3.3}));
        assert_eq!(number(&a, "battery_v"), Some(3.3), "{bad}");
        assert_eq!(a.failed.len(), 1, "{bad}");
        assert_eq!(a.failed[0].0.as_str(), "distance_mm");
        assert!(a.failed[0].1.len() < 200, "{}", a.failed[0].1);
    }
}

#[test]
fn keys_never_become_metric_names() {
    let a = ldds75_map().apply(&json!({"level_m": 1, "a,b=c": 2, "Bat": 3.3}));
    assert_eq!(a.metrics.len(), 1);
    assert_eq!(a.ignored_keys, 2);
    assert_eq!(ldds75_map().apply(&json!([1, 2])), Applied::default());
}

#[test]
fn refuses_maps_that_cannot_work() {
    let bad = |entries: Vec<MapEntry>| CodecMap::new(entries).unwrap_err();
    assert!(matches!(
        bad(alloc::vec![entry("a", "battery", None)]),
        (0, MapError::UnknownMetric(_))
    ));
    assert!(matches!(
        bad(alloc::vec![
            entry("a", "level_m", None),
            entry("b", "level_m", None)
        ]),
        (1, MapError::ConflictingTarget(_))
    ));
    assert!(matches!(
        bad(alloc::vec![entry("a", "level_m", Some("V"))]),
        (0, MapError::UnitMismatch { .. })
    ));
    assert!(matches!(
        bad(alloc::vec![entry("a", "floor", Some("m"))]),
        (0, MapError::UnitMismatch { .. })
    ));
    let mut e = entry("a", "occupied", None);
    e.values = alloc::vec![("x".into(), Value::Number(1.0))];
    assert!(matches!(
        bad(alloc::vec![e]),
        (0, MapError::BadValue { .. })
    ));
    assert!(CodecMap::new(alloc::vec![
        entry("a", "door", None),
        entry("b", "trips_total", None)
    ])
    .is_ok());
}
