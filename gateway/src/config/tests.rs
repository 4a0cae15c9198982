use super::*;

const DEMO: &str = include_str!("../../../config/demo.toml");

fn errors(text: &str) -> String {
    Config::parse(text, "t.toml").unwrap_err().to_string()
}

#[test]
fn demo_config_is_valid() {
    let c = Config::parse(DEMO, "demo.toml").unwrap();
    assert_eq!(c.gateway.site.as_str(), "kangfu-garden");
    assert_eq!(c.links.len(), 5);
    assert_eq!(c.devices.len(), 11);
    assert!(c
        .summary()
        .starts_with("ok: gateway gw-kangfu-1 at site kangfu-garden: 5 link(s), 11 device(s)"));
}

#[test]
fn unknown_key_is_located() {
    let text = DEMO.replace("data_dir = ", "data_dri = \"x\"\ndata_dir = ");
    let line = text
        .lines()
        .position(|l| l.starts_with("data_dri"))
        .unwrap()
        + 1;
    let e = errors(&text);
    assert!(e.starts_with(&format!("t.toml:{line}:1: ")), "{e}");
    assert!(e.contains("data_dri"), "{e}");
}

#[test]
fn bad_id_is_located() {
    let text = DEMO.replace("id = \"drain-w17\"", "id = \"drain/w17\"");
    let e = errors(&text);
    let line = DEMO
        .lines()
        .position(|l| l.contains("id = \"drain-w17\""))
        .unwrap()
        + 1;
    assert!(e.starts_with(&format!("t.toml:{line}:6: ")), "{e}");
    assert!(e.contains("drain/w17"), "{e}");
}

#[test]
fn reports_every_cross_reference_problem() {
    let text = format!(
        "{DEMO}\n[[device]]\nid = \"drain-w17\"\nkind = \"drainage\"\nlink = \"nowhere\"\ntopic = \"a\"\n\
         \n[[device]]\nid = \"park-2\"\nkind = \"parking\"\nlink = \"chirpstack\"\ndev_eui = \"a84041000181c617\"\ntopic = \"x\"\n"
    );
    let e = errors(&text);
    assert!(e.contains("duplicate device id drain-w17"), "{e}");
    assert!(e.contains("no [[link]] has id nowhere"), "{e}");
    assert!(e.contains("duplicate dev_eui a84041000181c617"), "{e}");
    assert!(e.contains("key topic does not apply"), "{e}");
    assert!(e.lines().count() >= 4, "{e}");
    assert!(e.lines().all(|l| l.starts_with("t.toml:")), "{e}");
}

#[test]
fn missing_secret_file_is_an_error() {
    let text = DEMO.replace(
        "# password_file = \"/etc/retrofit/mqtt.password\"",
        "password_file = \"/nonexistent/retrofit.password\"",
    );
    let e = errors(&text);
    assert!(e.contains("cannot read secret file"), "{e}");
    assert!(
        !e.contains("No such file") || e.contains("/nonexistent/retrofit.password"),
        "{e}"
    );
}

#[test]
fn secrets_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pw");
    std::fs::write(&path, "hunter2\n").unwrap();
    let text = DEMO.replace(
        "# password_file = \"/etc/retrofit/mqtt.password\"",
        &format!("username = \"gw\"\npassword_file = \"{}\"", path.display()),
    );
    let c = Config::parse(&text, "t.toml").unwrap();
    assert_eq!(c.mqtt.password.as_ref().unwrap().expose(), "hunter2");
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn environment_overrides_keys() {
    let vars = vec![
        (
            "RETROFIT_MQTT_URL".to_string(),
            "mqtt://10.0.0.9:2883".to_string(),
        ),
        (
            "RETROFIT_GATEWAY_DATA_DIR".to_string(),
            "/tmp/gw".to_string(),
        ),
        ("RETROFIT_INFLUX_BATCH_SIZE".to_string(), "7".to_string()),
        (
            "RETROFIT_LINK_CHIRPSTACK_URL".to_string(),
            "mqtt://127.0.0.1:3883".to_string(),
        ),
        (
            "RETROFIT_LINK_CHIRPSTACK_SHARED_GROUP".to_string(),
            "gws".to_string(),
        ),
        (
            "RETROFIT_HTTP_LISTEN".to_string(),
            "127.0.0.1:9999".to_string(),
        ),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let c = Config::parse_with_env(DEMO, "t.toml", &vars).unwrap();
    assert_eq!(c.mqtt.url.port, 2883);
    assert_eq!(c.gateway.data_dir, PathBuf::from("/tmp/gw"));
    assert_eq!(c.influx.as_ref().unwrap().batch_size, 7);
    assert_eq!(c.http.as_ref().unwrap().listen.port(), 9999);
    let LinkSpec::Lorawan(l) = &c.links[0] else {
        panic!("first link is lorawan")
    };
    assert_eq!(l.broker.url.port, 3883);
    assert_eq!(l.filter(), "$share/gws/application/+/device/+/event/up");
}

#[test]
fn bad_override_names_the_variable() {
    let vars = vec![("RETROFIT_MQTT_URL".to_string(), "http://x".to_string())];
    let e = Config::parse_with_env(DEMO, "t.toml", &vars)
        .unwrap_err()
        .to_string();
    assert!(e.contains("mqtt://"), "{e}");
    assert!(e.contains("RETROFIT_MQTT_URL"), "{e}");
}

#[test]
fn syntax_error_is_located() {
    let e = errors("[gateway]\nid = \"a\"\nsite = \n");
    assert!(e.starts_with("t.toml:3:"), "{e}");
}

const SERIAL: &str = r#"
[[link]]
id = "rs485-1"
type = "serial"
port = "/dev/ttyUSB0"

[[device]]
id = "drain-n17"
kind = "drainage"
link = "rs485-1"
address = 17
"#;

/// 1-based number of the only line of `text` that is `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim() == needle)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "{needle} must appear once");
    lines[0]
}

#[test]
fn serial_link_maps_node_ids_to_devices() {
    let c = Config::parse(&format!("{DEMO}{SERIAL}"), "t.toml").unwrap();
    let LinkSpec::Serial(s) = c.links.last().unwrap() else {
        panic!("the last link is serial")
    };
    assert_eq!(s.port, PathBuf::from("/dev/ttyUSB0"));
    assert_eq!(s.baud, crate::links::serial::DEFAULT_BAUD);
    let node = retrofit_protocols::edge::NodeId::new(17).unwrap();
    assert_eq!(s.devices[&node].id.as_str(), "drain-n17");
    assert_eq!(
        c.links.last().unwrap().source(),
        retrofit_protocols::Source::Serial
    );
}

#[test]
fn serial_link_problems_are_located() {
    let text = format!(
        "{DEMO}{}\n[[device]]\nid = \"drain-n0\"\nkind = \"drainage\"\nlink = \"rs485-1\"\naddress = 0\n\
         \n[[device]]\nid = \"drain-dup\"\nkind = \"drainage\"\nlink = \"rs485-1\"\naddress = 0x11\n\
         \n[[device]]\nid = \"drain-none\"\nkind = \"drainage\"\nlink = \"rs485-1\"\n\
         \n[[device]]\nid = \"park-n5\"\nkind = \"parking\"\nlink = \"chirpstack\"\ndev_eui = \"0011223344556677\"\naddress = 5\n",
        SERIAL.replace("port = \"/dev/ttyUSB0\"", "port = \"/dev/ttyUSB0\"\nbaud = 12\nurl = \"mqtt://x:1\"")
    )
    .replacen("type = \"mqtt\"", "type = \"mqtt\"\nport = \"/dev/ttyS1\"", 1);
    let e = errors(&text);
    let expect = [
        ("baud = 12", 8, "baud must be between 300 and 4000000"),
        (
            "url = \"mqtt://x:1\"",
            7,
            "key url does not apply to a serial link",
        ),
        ("address = 0", 11, "address must be a node id in 1..=65534"),
        ("address = 0x11", 11, "duplicate address 17 on this link"),
        (
            "id = \"drain-none\"",
            6,
            "device drain-none needs address on link rs485-1",
        ),
        (
            "address = 5",
            11,
            "key address does not apply to a device on link chirpstack",
        ),
        (
            "port = \"/dev/ttyS1\"",
            8,
            "key port does not apply to this link type",
        ),
    ];
    for (needle, col, reason) in expect {
        let line = line_of(&text, needle);
        let want = format!("t.toml:{line}:{col}: {reason}");
        assert!(e.lines().any(|l| l == want), "missing {want:?} in\n{e}");
    }
    assert_eq!(e.lines().count(), expect.len(), "{e}");
}

#[test]
fn serial_link_needs_a_port_and_a_u16_address() {
    let e = errors(&format!(
        "{DEMO}{}",
        SERIAL.replace("port = \"/dev/ttyUSB0\"\n", "")
    ));
    let line = line_of(&format!("{DEMO}{SERIAL}"), "id = \"rs485-1\"");
    assert!(
        e.starts_with(&format!("t.toml:{line}:6: link rs485-1 needs a port")),
        "{e}"
    );
    let e = errors(&format!(
        "{DEMO}{}",
        SERIAL.replace("address = 17", "address = 70000")
    ));
    assert!(e.starts_with("t.toml:"), "{e}");
    assert!(e.contains("70000") || e.contains("u16"), "{e}");
}

#[test]
fn serial_device_settings_reach_the_link() {
    let text = format!(
        "{DEMO}{}",
        SERIAL.replace(
            "address = 17",
            "address = 17\nreport_interval_s = 60\nwarning_m = 0.5\noverflow_m = 1\nhysteresis_m = 0.02"
        )
    );
    let c = Config::parse(&text, "t.toml").unwrap();
    let LinkSpec::Serial(s) = c.links.last().unwrap() else {
        panic!("the last link is serial")
    };
    let node = retrofit_protocols::edge::NodeId::new(17).unwrap();
    let settings = &s.settings[&node];
    let number = |k: &str| match settings.get(k) {
        Some(retrofit_protocols::Value::Number(x)) => *x,
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(settings.len(), 4);
    assert_eq!(number("report_interval_s"), 60.0);
    assert_eq!(number("warning_m"), 0.5);
    assert_eq!(number("overflow_m"), 1.0);
    let plain = Config::parse(&format!("{DEMO}{SERIAL}"), "t.toml").unwrap();
    let LinkSpec::Serial(s) = plain.links.last().unwrap() else {
        panic!("the last link is serial")
    };
    assert!(s.settings.is_empty(), "no settings, no Config");
}

#[test]
fn serial_device_settings_problems_are_located() {
    let text = format!(
        "{DEMO}{}\n[[device]]\nid = \"lift-n18\"\nkind = \"elevator\"\nlink = \"rs485-1\"\naddress = 18\n\
         entrapment_after_s = 0.5\nhysteresis_m = 0.1\nreport_interval_s = \"often\"\n\
         \n[[device]]\nid = \"park-n6\"\nkind = \"parking\"\nlink = \"chirpstack\"\ndev_eui = \"0011223344556677\"\nwarning_m = 1.0\n",
        SERIAL.replace(
            "address = 17",
            "address = 17\nwarning_m = 1.5\noverflow_m = 1.2\nreport_interval_s = 0"
        )
    );
    let e = errors(&text);
    let expect = [
        (
            "overflow_m = 1.2",
            14,
            "overflow_m must be above warning_m (1.5)",
        ),
        (
            "report_interval_s = 0",
            21,
            "report_interval_s must be between 1 and 86400",
        ),
        (
            "entrapment_after_s = 0.5",
            22,
            "entrapment_after_s must be between 1 and 3600",
        ),
        (
            "hysteresis_m = 0.1",
            16,
            "hysteresis_m is not a setting of elevator nodes",
        ),
        (
            "report_interval_s = \"often\"",
            21,
            "report_interval_s must be a number",
        ),
        (
            "warning_m = 1.0",
            13,
            "key warning_m does not apply to a device on link chirpstack",
        ),
    ];
    for (needle, col, reason) in expect {
        let line = line_of(&text, needle);
        let want = format!("t.toml:{line}:{col}: {reason}");
        assert!(e.lines().any(|l| l == want), "missing {want:?} in\n{e}");
    }
    assert_eq!(e.lines().count(), expect.len(), "{e}");
}
