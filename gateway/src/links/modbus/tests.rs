//! Config tests of the modbus link: maps, devices and their problems at
//! `LINE:COL`.

use crate::config::Config;

const HEAD: &str = r#"
[gateway]
id = "gw-1"
site = "s"
data_dir = "/tmp/x"

[mqtt]
url = "mqtt://127.0.0.1:1883"

[[link]]
id = "bus"
type = "modbus"
port = "/dev/null"
baud = 9600
"#;

fn load(tail: &str) -> Result<Config, String> {
    Config::parse(&format!("{HEAD}{tail}"), "t.toml").map_err(|e| e.to_string())
}

const GOOD: &str = r#"
[[modbus_map]]
name = "level"
[[modbus_map.point]]
name = "unit"
function = 3
address = 2
type = "u16"
[[modbus_map.point]]
name = "decimals"
function = 3
address = 3
type = "u16"
[[modbus_map.point]]
name = "level"
metric = "level_m"
function = 3
address = 4
type = "i16"
decimals_from = "decimals"
unit_from = "unit"
unit_codes = ["m", "cm", "mm"]
[[modbus_map.point]]
name = "energy"
metric = "energy_wh"
function = 4
address = 0x10
type = "f32"
word_order = "little"
unit = "kwh"
counter = true

[[device]]
id = "lvl-1"
kind = "drainage"
link = "bus"
slave_id = 1
map = "level"
poll_interval_ms = 200
"#;

#[test]
fn a_good_map_loads_and_coalesces_adjacent_registers() {
    let config = load(GOOD).unwrap();
    let crate::links::LinkSpec::Modbus(link) = &config.links[0] else {
        panic!("modbus link")
    };
    let slave = &link.slaves[0];
    let blocks: Vec<_> = slave
        .blocks
        .iter()
        .map(|b| (b.table as u8, b.address, b.count))
        .collect();
    assert_eq!(blocks, [(3, 2, 3), (4, 0x10, 2)]);
    assert_eq!(link.inter_frame, super::minimum_inter_frame(9600));
    assert!((link.inter_frame.as_secs_f64() - 3.5 * 11.0 / 9600.0).abs() < 1e-9);
}

#[test]
fn impossible_maps_are_reported_at_their_place() {
    let bad = r#"
[[modbus_map]]
name = "bad"
[[modbus_map.point]]
name = "a"
metric = "level_m"
function = 3
address = 10
type = "u32"
[[modbus_map.point]]
name = "b"
metric = "power_w"
function = 3
address = 11
type = "u16"
[[modbus_map.point]]
name = "c"
metric = "door"
function = 1
address = 0
type = "u16"
[[modbus_map.point]]
name = "d"
metric = "voltage_v"
function = 7
address = 65535
type = "f32"
count = 1
unit = "kwh"
"#;
    let e = load(bad).unwrap_err();
    let lines: Vec<&str> = e.lines().collect();
    let has = |s: &str| lines.iter().any(|l| l.contains(s));
    assert!(has("t.toml:28:11: point b overlaps point a"), "{e}");
    assert!(has("functions 1 and 2 read bits: type must be bool"), "{e}");
    assert!(has("function must be 1, 2, 3 or 4"), "{e}");
    assert!(has("count must be 2"), "{e}");
    assert!(has("runs past register 65535"), "{e}");
    assert!(has("unit kwh does not convert to v"), "{e}");
}

#[test]
fn two_links_never_share_a_port() {
    let second = "\n[[link]]\nid = \"bus-2\"\ntype = \"serial\"\nport = \"/dev/null\"\n";
    let e = load(&format!("{GOOD}{second}")).unwrap_err();
    assert!(
        e.contains("port /dev/null is already the bus of link bus"),
        "{e}"
    );
}

#[test]
fn unknown_types_and_duplicate_slave_ids_are_reported() {
    let text = GOOD.replace("type = \"i16\"", "type = \"int7\"");
    let e = load(&text).unwrap_err();
    assert!(e.contains("unknown variant `int7`"), "{e}");
    let twice = format!("{GOOD}\n[[device]]\nid = \"lvl-2\"\nkind = \"drainage\"\nlink = \"bus\"\nslave_id = 1\nmap = \"level\"\n");
    let e = load(&twice).unwrap_err();
    assert!(
        e.contains(":59:12: duplicate slave_id 1 on this bus (also lvl-1)"),
        "{e}"
    );
    let no_map = GOOD.replace("map = \"level\"", "map = \"nope\"");
    assert!(load(&no_map)
        .unwrap_err()
        .contains("no [[modbus_map]] is called \"nope\""));
    let too_fast =
        format!("{HEAD}{GOOD}").replace("baud = 9600", "baud = 9600\ninter_frame_ms = 1.0");
    let e = Config::parse(&too_fast, "t.toml").unwrap_err().to_string();
    assert!(
        e.contains("at least 3.5 character times (4.010 ms at this baud)"),
        "{e}"
    );
}

#[test]
fn the_shipped_maps_are_built_in_and_load_from_their_files() {
    let config = load(GOOD).unwrap();
    let crate::links::LinkSpec::Modbus(link) = &config.links[0] else {
        panic!("modbus link")
    };
    assert_eq!(
        link.slaves[0].map.name.as_str(),
        "level",
        "the config's own map"
    );
    for name in ["level-4-20ma", "rain-gauge", "ultrasonic-level", "ddsu666"] {
        let text = GOOD.replace(
            "map = \"level\"",
            &format!("map = \"{name}\"\nmount_height_m = 3.0"),
        );
        assert!(load(&text).is_ok(), "built-in {name}");
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/x.toml");
    let files = r#"modbus_map_files = ["modbus/level-4-20ma.toml", "modbus/rain-gauge.toml", "modbus/ultrasonic-level.toml", "modbus/ddsu666.toml"]"#;
    let text = format!("{files}\n{HEAD}");
    let config = Config::parse(&text, &dir.display().to_string());
    assert!(config.is_ok(), "{}", config.unwrap_err());
}

#[test]
fn problems_inside_a_map_file_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.toml"), "[[modbus_map]]\nname = \"m\"\n[[modbus_map.point]]\nname = \"p\"\nfunction = 3\naddress = 1\ntype = \"u16\"\nbit = 3\n").unwrap();
    let origin = dir.path().join("gw.toml").display().to_string();
    let text = format!("modbus_map_files = [\"m.toml\"]\n{HEAD}");
    let e = Config::parse(&text, &origin).unwrap_err().to_string();
    assert!(e.contains("gw.toml:1:21: in "), "{e}");
    assert!(
        e.contains("m.toml:8:7: bit applies only to a bool read from a register"),
        "{e}"
    );
}

fn slave_of(text: &str) -> super::Slave {
    let config = load(text).unwrap();
    let crate::links::LinkSpec::Modbus(link) = &config.links[0] else {
        panic!("modbus link")
    };
    link.slaves[0].clone()
}

fn number(m: &retrofit_protocols::reading::Metrics, name: &str) -> f64 {
    match m.iter().find(|(n, _)| n.as_str() == name) {
        Some((_, retrofit_protocols::Value::Number(x))) => *x,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn decimals_and_unit_registers_scale_the_level() {
    use super::values::{metrics, raw_values};
    use super::Values;
    let slave = slave_of(GOOD);
    let mut totals = super::totals::SlaveTotals::new(&slave, &[]);
    // Unit code 1 (cm), 1 decimal, 1234 -> 123.4 cm; 1500.5 kWh, CDAB.
    let answers = [
        Some(Values::Words(vec![1, 1, 1234])),
        Some(Values::Words(vec![0x9000, 0x44BB])),
    ];
    let m = metrics(&slave, &raw_values(&slave, &answers), &mut totals).unwrap();
    assert!((number(&m, "level_m") - 1.234).abs() < 1e-9);
    assert_eq!(number(&m, "energy_wh"), 1_500_500.0);
    // The meter is reset: the total goes on from there.
    let answers = [None, Some(Values::Words(vec![0x0000, 0x4000]))];
    let m = metrics(&slave, &raw_values(&slave, &answers), &mut totals).unwrap();
    assert_eq!(number(&m, "energy_wh"), 1_502_500.0);
    assert!(
        m.iter().all(|(n, _)| n.as_str() != "level_m"),
        "unanswered block left out"
    );
}

#[test]
fn hostile_register_values_are_rejected_not_panicked_on() {
    use super::values::{metrics, raw_values};
    use super::Values;
    let slave = slave_of(GOOD);
    let mut totals = super::totals::SlaveTotals::new(&slave, &[]);
    for (words, why) in [
        (vec![1, 9, 1234], "decimals register says 9"),
        (vec![7, 1, 1234], "unknown unit code 7"),
    ] {
        let raw = raw_values(&slave, &[Some(Values::Words(words)), None]);
        let e = metrics(&slave, &raw, &mut totals).unwrap_err();
        assert_eq!(e.reason, "invalid_value");
        assert!(e.detail.contains(why), "{}", e.detail);
    }
    // Short answers and NaN floats decode to nothing.
    let raw = raw_values(
        &slave,
        &[
            Some(Values::Words(vec![1])),
            Some(Values::Words(vec![0, 0x7FC0])),
        ],
    );
    assert!(metrics(&slave, &raw, &mut totals).unwrap().is_empty());
    let raw = raw_values(&slave, &[Some(Values::Bits(vec![true])), None]);
    assert!(metrics(&slave, &raw, &mut totals).unwrap().is_empty());
}

#[test]
fn writes_only_where_the_map_allows_and_values_fit() {
    use super::bus::Write;
    use super::write::write_request;
    let text = GOOD.replace("counter = true", "counter = true\nwritable = true");
    let text = text.replace(
        "function = 4\naddress = 0x10",
        "function = 3\naddress = 0x10",
    );
    let slave = slave_of(&text);
    let energy = &slave.map.points[3];
    let level = &slave.map.points[2];
    assert!(matches!(
        write_request(level, 1.0),
        Err(super::WriteError::NotWritable(_))
    ));
    assert!(matches!(write_request(energy, 2.5), Ok(Write::Registers(0x10, w)) if w.len() == 2));
    let wrong_table = GOOD.replace("counter = true", "counter = true\nwritable = true");
    let e = load(&wrong_table).unwrap_err();
    assert!(
        e.contains("writable needs function 1 (coils) or 3 (holding registers)"),
        "{e}"
    );
}

#[test]
fn saved_totals_resume_and_each_reading_hands_on_what_it_carried() {
    use super::totals::SlaveTotals;
    use super::values::{metrics, raw_values};
    use super::{CounterTotals, Values};
    let slave = slave_of(GOOD);
    let meter = |words: Vec<u16>| raw_values(&slave, &[None, Some(Values::Words(words))]);
    // A first run: 1500.5 kWh, then the meter is reset to 2 kWh.
    let mut totals = SlaveTotals::new(&slave, &[]);
    let raw = meter(vec![0x9000, 0x44BB]);
    metrics(&slave, &raw, &mut totals).unwrap();
    assert!(!totals.snapshot(&raw).turned);
    let raw = meter(vec![0x0000, 0x4000]);
    metrics(&slave, &raw, &mut totals).unwrap();
    let reset = totals.snapshot(&raw);
    assert!(reset.turned, "a reset is saved at once");
    assert!(!totals.snapshot(&raw).turned, "the mark is taken once");
    let dir = tempfile::tempdir().unwrap();
    let store = CounterTotals::open(dir.path()).unwrap();
    store
        .save(reset.totals.iter().map(|(p, t)| (p.as_ref(), t)))
        .unwrap();
    // After a restart the meter says 3 kWh: counted on from the saved 2.
    let mut totals = SlaveTotals::new(&slave, &store.load().unwrap());
    let raw = meter(vec![0x0000, 0x4040]);
    let m = metrics(&slave, &raw, &mut totals).unwrap();
    assert_eq!(number(&m, "energy_wh"), 1_503_500.0);
    // A reading without the meter carries no total to save.
    let raw = raw_values(&slave, &[Some(Values::Words(vec![1, 1, 1234])), None]);
    metrics(&slave, &raw, &mut totals).unwrap();
    assert!(totals.snapshot(&raw).totals.is_empty());
}
