//! The HTTP API against a real gateway over a real LoRaWAN fleet (spec
//! §11): every route with every role and without one, JSON errors for bad
//! requests, `/metrics` parsed as Prometheus text and equal to what was
//! sent and rejected, `/healthz` following the store's outage, the live
//! feed, and the OpenAPI document checked against what the routes return.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use retrofit_protocols::Timestamp;
use serde_json::Value;
use support::api::{token, ApiRig, ROLES};
use support::fleet;
use support::http::request;
use support::mqtt::publish_all;
use support::rig::now_ms;
use support::wait_until;

fn error_of(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {body}"))
        .to_string()
}

#[test]
fn every_route_answers_each_role_and_refuses_missing_or_wrong_tokens() {
    let mut api = ApiRig::start(4, "");
    api.send_one_each(7);
    let device = api.rig.devices[1].id.clone();
    let routes = [
        "/api/v1/devices".to_string(),
        format!("/api/v1/devices/{device}"),
        format!("/api/v1/devices/{device}/history"),
        "/api/v1/alarms".to_string(),
        "/api/v1/alarms?state=all".to_string(),
        "/api/v1/events".to_string(),
        "/api/v1/sla?from=2026-01-01T00:00:00Z&to=2099-01-01T00:00:00Z".to_string(),
        "/api/v1/whoami".to_string(),
        "/metrics".to_string(),
    ];
    for route in &routes {
        for bad in [None, Some("wrong"), Some(""), Some("viewer-token-5f1")] {
            let (status, body) = api.get(route, bad);
            assert_eq!(status, 401, "GET {route} with {bad:?}: {body}");
            assert!(!error_of(&body).is_empty());
        }
        if route.ends_with("/events") {
            continue; // a stream: checked by its own test
        }
        for role in ROLES {
            let (status, body) = api.get(route, Some(&token(role)));
            assert_eq!(status, 200, "GET {route} as {role}: {body}");
        }
    }
    let (status, body) = api.get("/healthz", None);
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).unwrap()["status"].clone()
        ),
        (200, "ok".into())
    );

    let viewer = Some(token("viewer"));
    for (path, want) in [
        ("/api/v1/devices/no-such-device", 404),
        ("/api/v1/devices/no-such-device/history", 404),
        ("/api/v1/alarms?state=bogus", 400),
        ("/api/v1/alarms?limit=0", 400),
        ("/api/v1/alarms?limit=many", 400),
        ("/api/v1/devices?colour=red", 400),
        ("/api/v1/nothing-here", 404),
    ] {
        let (status, body) = api.get(path, viewer.as_deref());
        assert_eq!(status, want, "GET {path}: {body}");
        if path != "/api/v1/nothing-here" {
            assert!(!error_of(&body).is_empty(), "{path}");
        }
    }
    assert_eq!(
        api.rig.gateway.terminate().code(),
        Some(0),
        "a gateway serving HTTP stops cleanly"
    );
}

#[test]
fn devices_show_what_arrived_with_filters_and_recent_readings() {
    let api = ApiRig::start(4, "");
    api.send_one_each(11);
    api.send_one_each(12);
    let list = api.json("/api/v1/devices", "viewer");
    let devices = list["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 4);
    for d in devices {
        assert_eq!(d["status"], "online", "{d}");
        assert_eq!(d["last_reading"]["seq"], 12, "{d}");
        assert_eq!(d["last_reading"]["device"], d["id"]);
    }
    let parking = api.json("/api/v1/devices?kind=parking", "viewer");
    let ids: Vec<&str> = parking["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["park-0000", "park-0002"]);
    let drain = api.json("/api/v1/devices?q=drain-0003&status=online", "viewer");
    assert_eq!(drain["devices"].as_array().unwrap().len(), 1);
    let offline = api.json("/api/v1/devices?status=offline", "viewer");
    assert!(offline["devices"].as_array().unwrap().is_empty());

    let one = api.json("/api/v1/devices/drain-0001", "viewer");
    let seqs: Vec<u64> = one["recent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("metrics").is_some())
        .map(|r| r["seq"].as_u64().unwrap())
        .filter(|s| *s < u64::from(support::rig::CANARY_FCNT))
        .collect();
    assert_eq!(seqs, [11, 12]);
    let history = api.json("/api/v1/devices/drain-0001/history", "viewer");
    let events = history["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["status"] == "online"),
        "the online status is in the history: {events:?}"
    );
    assert!(events.iter().all(|e| e.get("metrics").is_none()));
}

/// Samples of `/metrics`, parsed as Prometheus text.
fn scrape(api: &ApiRig) -> Vec<prometheus_parse::Sample> {
    let (status, body) = api.get("/metrics", Some(&token("viewer")));
    assert_eq!(status, 200, "{body}");
    let lines = body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines)
        .unwrap_or_else(|e| panic!("not Prometheus text ({e}):\n{body}"))
        .samples
}

fn value(samples: &[prometheus_parse::Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[test]
fn metrics_count_exactly_what_was_sent_and_rejected() {
    let api = ApiRig::start(4, "");
    api.send_one_each(21);
    let d = &api.rig.devices[0];
    let unknown = "00000000000000ee";
    let ((topic, payload), _) = fleet::uplink(d, 22, Timestamp(now_ms()), true);
    let mut bad: Value = serde_json::from_slice(&payload).unwrap();
    bad["deviceInfo"]["devEui"] = unknown.into();
    let bad_topic = topic.replace(&d.eui.to_string(), unknown);
    let bad = serde_json::to_vec(&bad).unwrap();
    let rejects = vec![
        (bad_topic.clone(), bad.clone()),
        (bad_topic, bad),
        (topic, b"{not json".to_vec()),
    ];
    publish_all(api.rig.input.port, rejects);
    api.rig
        .collector
        .wait_for("three dead letters", Duration::from_secs(30), |m| {
            m.iter()
                .filter(|x| x.topic.ends_with("/deadletter"))
                .count()
                == 3
        });
    // Canaries count too: what the link accepted is every telemetry
    // reading on the normalized topic.
    let on_topic = || api.rig.collector.on("/telemetry").len() as f64;
    let mut samples = Vec::new();
    wait_until(
        "/metrics to agree with the topic",
        Duration::from_secs(20),
        || {
            samples = scrape(&api);
            value(
                &samples,
                "retrofit_readings_in_total",
                &[("source", "lorawan"), ("link", "ns")],
            ) == Some(on_topic())
        },
    );
    let rejected: f64 = samples
        .iter()
        .filter(|s| {
            s.metric == "retrofit_rejected_total" && s.labels.get("source") == Some("lorawan")
        })
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
        .sum();
    assert_eq!(rejected, 3.0);
    assert_eq!(
        value(
            &samples,
            "retrofit_rejected_total",
            &[("source", "lorawan"), ("reason", "unknown_device")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "retrofit_devices", &[("status", "online")]),
        Some(4.0)
    );
    assert_eq!(
        value(&samples, "retrofit_output_up", &[("output", "mqtt")]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "retrofit_output_up", &[("output", "influx")]),
        Some(1.0)
    );
    let out = value(
        &samples,
        "retrofit_readings_out_total",
        &[("output", "mqtt")],
    )
    .unwrap();
    assert!(
        out >= on_topic() + 3.0,
        "telemetry and dead letters went out: {out}"
    );
    assert!(value(
        &samples,
        "retrofit_journal_depth",
        &[("output", "influx"), ("lane", "bulk")]
    )
    .is_some());
    let rss = value(&samples, "retrofit_process_resident_memory_bytes", &[]);
    assert!(
        rss.is_some_and(|b| b > 1e6),
        "{rss:?} in {:?}",
        samples.iter().map(|s| &s.metric).collect::<Vec<_>>()
    );
    assert!(samples
        .iter()
        .any(|s| s.metric.starts_with("retrofit_output_batch_seconds")));
    assert!(value(&samples, "retrofit_history_bytes", &[]).is_some_and(|b| b > 0.0));
}

fn health(api: &ApiRig) -> (u16, Value) {
    let (status, body) = api.get("/healthz", None);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn healthz_is_503_while_the_store_is_down_and_200_once_it_is_back() {
    let mut api = ApiRig::start(2, "");
    assert_eq!(health(&api).0, 200);
    api.rig.vm.kill();
    let mut f_cnt = 30;
    wait_until("/healthz to turn 503", Duration::from_secs(60), || {
        f_cnt += 1;
        api.send_one_each(f_cnt);
        let (status, body) = health(&api);
        status == 503 && body["reasons"].to_string().contains("influx")
    });
    api.rig.vm.restart();
    wait_until("/healthz to turn 200", Duration::from_secs(60), || {
        health(&api).0 == 200
    });
    assert_eq!(health(&api).1["status"], "ok");
}

/// Reads server-sent events from `stream` until `found` accepts a data
/// line or `limit` passes.
fn read_events(stream: TcpStream, limit: Duration, found: impl Fn(&Value) -> bool) -> bool {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while start.elapsed() < limit {
        line.clear();
        if reader.read_line(&mut line).is_err() {
            continue;
        }
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            if serde_json::from_str(data).is_ok_and(|v| found(&v)) {
                return true;
            }
        }
    }
    false
}

#[test]
fn the_live_feed_streams_each_committed_reading() {
    let api = ApiRig::start(2, "");
    let mut stream = TcpStream::connect(("127.0.0.1", api.port)).unwrap();
    write!(
        stream,
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        token("viewer")
    )
    .unwrap();
    let mut head = [0u8; 12];
    std::io::Read::read_exact(&mut stream, &mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let device = api.rig.devices[1].id.clone();
    api.send_one_each(41);
    assert!(
        read_events(stream, Duration::from_secs(20), |v| v["device"]
            == device.as_str()
            && v["seq"] == 41),
        "reading 41 of {device} never came on the live feed"
    );
}

/// The schema `s` points to, following `$ref`s into `doc`.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
    {
        Some(name) => &doc["components"]["schemas"][name],
        None => s,
    }
}

/// Every property a response of schema `s` must have.
fn required(doc: &Value, s: &Value) -> Vec<String> {
    let s = resolve(doc, s);
    let mut keys: Vec<String> = s["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    for part in s["allOf"].as_array().into_iter().flatten() {
        keys.extend(required(doc, part));
    }
    keys
}

#[test]
fn the_openapi_document_matches_what_the_routes_return() {
    let api = ApiRig::start(2, "");
    api.send_one_each(51);
    let (status, body) = api.get("/api/v1/openapi.json", None);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/healthz",
        "/metrics",
        "/api/v1/devices",
        "/api/v1/devices/{device}",
        "/api/v1/devices/{device}/history",
        "/api/v1/alarms",
        "/api/v1/events",
        "/api/v1/openapi.json",
    ] {
        assert!(paths.contains_key(route), "{route} is not documented");
    }
    let device = api.rig.devices[0].id.clone();
    let mut checked = 0;
    for (path, ops) in paths {
        let url = path.replace("{device}", &device);
        let Some(ok) =
            ops["get"]["responses"]["200"]["content"]["application/json"]["schema"].as_object()
        else {
            continue;
        };
        let (status, body) = api.get(&url, Some(&token("admin")));
        assert_eq!(status, 200, "GET {url}: {body}");
        let got: Value = serde_json::from_str(&body).unwrap();
        let want = required(&doc, &Value::Object(ok.clone()));
        assert!(
            !want.is_empty() || path.ends_with("openapi.json"),
            "{path} documents no fields"
        );
        for key in want {
            assert!(
                got.get(&key).is_some(),
                "GET {url} lacks documented field {key}: {body}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} JSON routes checked");
}

#[test]
fn alarms_are_acknowledged_and_arrived_at_by_the_roles_allowed() {
    let api = ApiRig::start(2, &support::api::quiet_device());
    let active = || api.json("/api/v1/alarms", "viewer")["alarms"].clone();
    wait_until(
        "the quiet well's offline alarm",
        Duration::from_secs(30),
        || active().as_array().is_some_and(|a| !a.is_empty()),
    );
    let alarm = active()[0]["alarm_id"].as_str().unwrap().to_string();
    let ack = format!("/api/v1/alarms/{alarm}/ack");
    let arrive = format!("/api/v1/alarms/{alarm}/arrive");
    let body = r#"{"by":"Wang Wei"}"#;
    for (path, role, want) in [
        (&ack, "viewer", 403),
        (&ack, "technician", 403),
        (&arrive, "viewer", 403),
    ] {
        let (status, reply) = api.post(path, Some(&token(role)), body);
        assert_eq!(status, want, "POST {path} as {role}: {reply}");
        assert!(!error_of(&reply).is_empty());
    }
    assert_eq!(api.post(&ack, None, body).0, 401);
    // The history output records the raise a moment after it is committed.
    let mut acked = (0, String::new());
    wait_until("the alarm in the history", Duration::from_secs(20), || {
        acked = api.post(&ack, Some(&token("operator")), body);
        acked.0 != 404
    });
    assert_eq!(acked.0, 200, "{}", acked.1);
    let alarm_now: Value = serde_json::from_str(&acked.1).unwrap();
    assert_eq!(alarm_now["stage"], "acknowledged");
    assert_eq!(alarm_now["acknowledged"]["by"], "Wang Wei");
    let (status, reply) = api.post(&arrive, Some(&token("technician")), r#"{"by":"Li Na"}"#);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        serde_json::from_str::<Value>(&reply).unwrap()["stage"],
        "arrived"
    );
    assert_eq!(
        active()[0]["acked_by"],
        "Wang Wei",
        "the alarm list shows who acknowledged"
    );

    let admin = Some(token("admin"));
    for (path, body, want) in [
        ("/api/v1/alarms/no.such.alarm/ack", r#"{"by":"x"}"#, 404),
        ("/api/v1/alarms/bad%20id/ack", r#"{"by":"x"}"#, 400),
        (ack.as_str(), r#"{"by":""}"#, 400),
        (ack.as_str(), r#"{"who":"x"}"#, 400),
        (ack.as_str(), "{not json", 400),
    ] {
        let (status, reply) = api.post(path, admin.as_deref(), body);
        assert_eq!(status, want, "POST {path} {body}: {reply}");
        assert!(!error_of(&reply).is_empty());
    }
}

#[test]
fn service_levels_come_as_json_and_csv_with_errors_for_bad_windows() {
    let api = ApiRig::start(2, "");
    api.send_one_each(71);
    let from = "2026-01-01T00:00:00Z";
    let to = "2099-01-01T00:00:00Z";
    let report = api.json(&format!("/api/v1/sla?from={from}&to={to}"), "viewer");
    assert!(report["site"]["availability_pct"].is_number(), "{report}");
    assert_eq!(report["devices"].as_array().unwrap().len(), 2);
    let parking = api.json(
        &format!("/api/v1/sla?from={from}&to={to}&kind=parking"),
        "viewer",
    );
    assert_eq!(parking["devices"].as_array().unwrap().len(), 1);
    let (status, csv) = api.get(
        &format!("/api/v1/sla?from={from}&to={to}&format=csv"),
        Some(&token("viewer")),
    );
    assert_eq!(status, 200);
    assert!(
        csv.lines().next().unwrap().contains("availability_pct"),
        "{csv}"
    );
    for (query, want) in [
        (format!("from={to}&to={from}"), 400),
        (format!("from=yesterday&to={to}"), 400),
        (format!("from={from}&to={to}&kind=boat"), 400),
        (format!("from={from}&to={to}&format=xml"), 400),
        (format!("from={from}&to={to}&device=nobody"), 404),
        (format!("to={to}"), 400),
    ] {
        let (status, reply) = api.get(&format!("/api/v1/sla?{query}"), Some(&token("viewer")));
        assert_eq!(status, want, "{query}: {reply}");
        assert!(!error_of(&reply).is_empty());
    }
}

#[test]
fn operators_plan_maintenance_windows_that_everyone_can_read() {
    let api = ApiRig::start(2, "");
    let window = r#"{"from":"2026-12-02T01:00:00Z","to":"2026-12-02T03:00:00Z","kind":"drainage","reason":"pump service"}"#;
    let op = Some(token("operator"));
    assert_eq!(
        api.post("/api/v1/maintenance", Some(&token("technician")), window)
            .0,
        403
    );
    assert_eq!(api.post("/api/v1/maintenance", None, window).0, 401);
    let (status, created) = api.post("/api/v1/maintenance", op.as_deref(), window);
    assert_eq!(status, 201, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["reason"], "pump service");
    for bad in [
        r#"{"from":"2026-12-02T03:00:00Z","to":"2026-12-02T01:00:00Z"}"#,
        r#"{"from":"2026-12-02T01:00:00Z","to":"2026-12-02T03:00:00Z","device":"nobody"}"#,
        r#"{"from":"yesterday","to":"2026-12-02T03:00:00Z"}"#,
        r#"{"from":"2026-12-02T01:00:00Z"}"#,
        "[]",
    ] {
        let (status, reply) = api.post("/api/v1/maintenance", op.as_deref(), bad);
        assert_eq!(status, 400, "{bad}: {reply}");
        assert!(!error_of(&reply).is_empty());
    }
    let listed = api.json("/api/v1/maintenance", "viewer");
    let windows = listed["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{listed}");
    assert_eq!(
        (windows[0]["id"].as_i64(), windows[0]["kind"].as_str()),
        (Some(id), Some("drainage"))
    );

    let del = |role: &str, path: &str| {
        request(
            api.port,
            "DELETE",
            path,
            &[("Authorization", &format!("Bearer {}", token(role)))],
            "",
        )
        .unwrap()
    };
    let path = format!("/api/v1/maintenance/{id}");
    assert_eq!(del("viewer", &path).0, 403);
    assert_eq!(del("operator", &path).0, 204);
    let (status, reply) = del("operator", &path);
    assert_eq!(status, 404, "{reply}");
    assert!(!error_of(&reply).is_empty());
    assert_eq!(del("admin", "/api/v1/maintenance/abc").0, 400);
    assert!(api.json("/api/v1/maintenance", "viewer")["windows"]
        .as_array()
        .unwrap()
        .is_empty());
}
