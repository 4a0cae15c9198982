use super::*;
use crate::config::Config;
use crate::links::LinkSpec;

const DEMO: &str = include_str!("../../../config/demo.toml");
const LDDS75_MAP: &str = include_str!("../../../config/examples/codec-map-dragino-ldds75.toml");

/// The demo with `extra` appended.
fn parse(extra: &str) -> Result<Config, String> {
    Config::parse(&format!("{DEMO}\n{extra}"), "t.toml").map_err(|e| e.to_string())
}

/// The line (1-based) of the appended text holding `needle`.
fn line_of(extra: &str, needle: &str) -> usize {
    let at = extra.lines().position(|l| l.contains(needle)).unwrap();
    DEMO.lines().count() + 2 + at
}

#[test]
fn the_shipped_ldds75_map_is_valid_and_maps_the_codec_output() {
    let device = "\n[[device]]\nid = \"drain-x\"\nkind = \"drainage\"\nlink = \"chirpstack\"\ndev_eui = \"a840410001810001\"\ncodec_map = \"dragino-ldds75\"\nmount_height_m = 3.0\n";
    let config = parse(&format!("{LDDS75_MAP}{device}")).unwrap();
    let Some(LinkSpec::Lorawan(link)) = config.links.first() else {
        panic!("lorawan link first")
    };
    let eui = "a840410001810001".parse().unwrap();
    let lora = &link.devices[&eui];
    assert_eq!(lora.codec.metrics_from, MetricsFrom::Object);
    let map = lora.codec.map.as_ref().unwrap();
    let object = r#"{"Bat":3.371,"Distance":"1234 mm","Interrupt_flag":0,"TempC_DS18B20":"0.00","Sensor_flag":1}"#;
    let mapped = apply(map, object, Some(3.0)).unwrap();
    let got: Vec<(String, Value)> = mapped
        .metrics
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("battery_v".into(), Value::Number(3.371)),
            ("distance_mm".into(), Value::Number(1234.0)),
            ("temperature_c".into(), Value::Number(0.0)),
            ("level_m".into(), Value::Number(1.766)),
        ]
    );
    assert_eq!(mapped.left_out.ignored_keys, 2);
    assert!(mapped.left_out.failed.is_empty());
}

#[test]
fn check_reports_map_problems_at_their_place() {
    let extra = r#"
[[codec_map]]
name = "bad"

[[codec_map.entry]]
path = "a..b"
metric = "level_m"

[[codec_map.entry]]
path = "Bat"
metric = "Bat"

[[codec_map.entry]]
path = "x"
metric = "battery"

[[codec_map.entry]]
path = "y"
metric = "battery_v"
unit = "furlong"

[[codec_map]]
name = "conflict"

[[codec_map.entry]]
path = "a"
metric = "level_m"

[[codec_map.entry]]
path = "b"
metric = "level_m"

[[codec_map]]
name = "units"

[[codec_map.entry]]
path = "a"
metric = "level_m"
unit = "V"

[[codec_map]]
name = "enums"

[[codec_map.entry]]
path = "a"
metric = "occupied"
values = { Occupied = "yes" }

[[device]]
id = "drain-y"
kind = "drainage"
link = "chirpstack"
dev_eui = "a840410001810002"
codec_map = "nowhere"

[[device]]
id = "drain-z"
kind = "drainage"
link = "chirpstack"
dev_eui = "a840410001810003"
metrics_from = "decoder"
"#;
    let e = parse(extra).unwrap_err();
    let expect = [
        ("path = \"a..b\"", 8, "path has an empty key"),
        (
            "metric = \"Bat\"",
            10,
            "metric name \"Bat\" must start with a lowercase letter",
        ),
        (
            "metric = \"battery\"",
            10,
            "metric battery is not in the model",
        ),
        ("unit = \"furlong\"", 8, "unknown unit \"furlong\""),
        (
            "path = \"b\"",
            0,
            "metric level_m is already the target of another entry",
        ),
        (
            "unit = \"V\"",
            8,
            "unit V cannot be converted to metric level_m's unit",
        ),
        ("values = {", 10, "occupied"),
        (
            "codec_map = \"nowhere\"",
            13,
            "no [[codec_map]] has name nowhere",
        ),
        (
            "metrics_from = \"decoder\"",
            16,
            "metrics_from = \"decoder\" needs a decoder",
        ),
    ];
    for (needle, col, reason) in expect {
        let line = line_of(extra, needle) + usize::from(col == 0);
        let col = if col == 0 { 10 } else { col };
        let want = format!("t.toml:{line}:{col}: ");
        assert!(
            e.lines()
                .any(|l| l.starts_with(&want) && l.contains(reason)),
            "no {want}...{reason} in\n{e}"
        );
    }
}

#[test]
fn metrics_from_and_codec_map_belong_to_their_links() {
    let extra = "\n[[device]]\nid = \"pump-1\"\nkind = \"drainage\"\nlink = \"direct\"\ntopic = \"vendor/pump\"\nmetrics_from = \"object\"\n";
    let e = parse(extra).unwrap_err();
    assert!(
        e.contains("key metrics_from does not apply to a device on link direct"),
        "{e}"
    );
}

#[test]
fn applying_refuses_malformed_and_mapless_objects() {
    let map = CodecMap::new(vec![MapEntry {
        path: "level.value".parse().unwrap(),
        metric: MetricName::parse("level_m").unwrap(),
        unit: None,
        values: vec![],
    }])
    .unwrap();
    assert_eq!(apply(&map, "{", None).unwrap_err().reason, "malformed_json");
    assert_eq!(
        apply(&map, r#"{"x":1}"#, None).unwrap_err().reason,
        "no_metrics"
    );
    let deep = "[".repeat(5000) + &"]".repeat(5000);
    assert_eq!(
        apply(&map, &deep, None).unwrap_err().reason,
        "malformed_json"
    );
    let mapped = apply(&map, r#"{"level":{"value":"1.2 furlong"}}"#, None).unwrap();
    assert_eq!(mapped.left_out.failed[0].reason, "invalid_value");
    assert!(mapped.left_out.failed[0].detail.starts_with("level_m: "));
    // Beyond the mount height: the derived level fails, the distance flows.
    let map = CodecMap::new(vec![MapEntry {
        path: "d".parse().unwrap(),
        metric: MetricName::parse("distance_mm").unwrap(),
        unit: None,
        values: vec![],
    }])
    .unwrap();
    let mapped = apply(&map, r#"{"d":4000}"#, Some(3.0)).unwrap();
    assert_eq!(mapped.metrics.len(), 1);
    assert!(mapped.left_out.failed[0].detail.starts_with("level_m: "));
}
