use super::*;

const DEMO: &str = include_str!("../../../config/demo.toml");

fn errors(text: &str) -> String {
    Config::parse(text, "t.toml").unwrap_err().to_string()
}

#[test]
fn demo_config_is_valid() {
    let c = Config::parse(DEMO, "demo.toml").unwrap();
    assert_eq!(c.gateway.site.as_str(), "kangfu-garden");
    assert_eq!(c.links.len(), 2);
    assert_eq!(c.devices.len(), 3);
    assert!(c
        .summary()
        .starts_with("ok: gateway gw-kangfu-1 at site kangfu-garden: 2 link(s), 3 device(s)"));
}

#[test]
fn unknown_key_is_located() {
    let text = DEMO.replace("data_dir = ", "data_dri = \"x\"\ndata_dir = ");
    let e = errors(&text);
    assert!(e.starts_with("t.toml:8:1: "), "{e}");
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
