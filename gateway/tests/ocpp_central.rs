//! The ocpp link against Python charge points (the `ocpp` 2.1.0 package,
//! which checks every `.conf` against the OCPP 1.6 schemas) through the
//! gateway binary, a real Mosquitto and VictoriaMetrics: boot, statuses, a
//! session with MeterValues, a fault and its recovery, a reconnect
//! mid-session, unknown charge points, wrong credentials, malformed frames,
//! and a SIGKILL during a session.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::ocpp::OcppSite;

const TELEMETRY: &str = "retrofit/v1/site-a/ev_charger/pile-01/telemetry";
const EVENTS: &str = "retrofit/v1/site-a/ev_charger/pile-01/event";
const WAIT: Duration = Duration::from_secs(30);

fn on(site: &OcppSite, topic: &str) -> Vec<Value> {
    site.collector
        .messages()
        .iter()
        .filter(|m| m.topic == topic)
        .map(|m| m.json())
        .collect()
}

/// Telemetry of `connector` that has `metric`.
fn with_metric(site: &OcppSite, connector: u64, metric: &str) -> Vec<Value> {
    on(site, TELEMETRY)
        .into_iter()
        .filter(|t| t["connector"] == connector && !t["metrics"][metric].is_null())
        .collect()
}

fn events(site: &OcppSite, name: &str) -> Vec<Value> {
    on(site, EVENTS)
        .into_iter()
        .filter(|e| e["event"] == name)
        .collect()
}

/// The values VictoriaMetrics holds for `series` on `connector`.
fn stored(site: &OcppSite, series: &str, connector: &str) -> Vec<f64> {
    site.vm
        .export(series)
        .iter()
        .filter(|s| s["metric"]["connector"] == connector && s["metric"]["device"] == "pile-01")
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64())
        .collect()
}

#[test]
fn a_python_charge_point_session_statuses_and_fault_arrive_normalized() {
    let site = OcppSite::start();
    let lines = site.run_peer("full", &[]);
    // The peer validated each .conf against the OCPP 1.6 schema; all came.
    let actions: Vec<_> = lines.iter().filter_map(|l| l["action"].as_str()).collect();
    assert_eq!(actions.len(), 19, "{lines:?}");
    let tx = lines
        .iter()
        .find_map(|l| l["transaction_id"].as_i64())
        .unwrap();

    support::wait_until("the session's meter values", WAIT, || {
        with_metric(&site, 1, "power_w").len() >= 4
    });
    // Three periodic samples, then the Transaction.End data of the stop.
    let samples = with_metric(&site, 1, "power_w");
    let energy: Vec<f64> = samples
        .iter()
        .map(|t| t["metrics"]["energy_wh"].as_f64().unwrap())
        .collect();
    assert_eq!(energy, [2200.0, 3400.0, 4600.0, 5800.0], "kWh became Wh");
    let power: Vec<f64> = samples
        .iter()
        .map(|t| t["metrics"]["power_w"].as_f64().unwrap())
        .collect();
    assert_eq!(power, [7200.0, 7200.0, 7200.0, 0.0], "kW became W");
    for t in &samples {
        let m = &t["metrics"];
        assert_eq!(m["current_l1_a"], 16.0);
        assert_eq!(m["current_l3_a"], 16.0);
        assert_eq!(m["voltage_l1_l2_v"], 400.0);
        assert_eq!(t["source"], "ocpp");
    }
    assert_eq!(samples[2]["metrics"]["ev_soc_pct"], 50.0);

    support::wait_until("the session events", WAIT, || {
        !events(&site, "session_stopped").is_empty()
    });
    let started = &events(&site, "session_started")[0];
    assert_eq!(
        (started["connector"].as_u64(), started["state"].as_str()),
        (Some(1), Some("instant"))
    );
    assert!(started["detail"]
        .as_str()
        .unwrap()
        .contains(&format!("transaction {tx}")));
    let stopped = &events(&site, "session_stopped")[0];
    let detail = stopped["detail"].as_str().unwrap();
    assert!(
        detail.contains("4800 Wh in 2400 s, reason ev_disconnected"),
        "{detail}"
    );
    let end = with_metric(&site, 1, "session_energy_wh");
    assert_eq!(end[0]["metrics"]["session_energy_wh"], 4800.0);
    assert_eq!(end[0]["metrics"]["session_duration_s"], 2400.0);
    assert_eq!(end[0]["metrics"]["energy_wh"], 5800.0);

    support::wait_until("the fault and its clear", WAIT, || {
        events(&site, "charger_fault").len() >= 2
    });
    let fault = events(&site, "charger_fault");
    assert_eq!(fault[0]["state"], "raised");
    assert_eq!(fault[0]["connector"], 2);
    assert!(fault[0]["detail"]
        .as_str()
        .unwrap()
        .contains("ground_failure"));
    assert!(fault[0]["detail"].as_str().unwrap().contains("E-17"));
    assert_eq!(fault[1]["state"], "cleared");
    assert_eq!(fault[1]["alarm_id"], fault[0]["alarm_id"]);
    let statuses: Vec<_> = with_metric(&site, 2, "status")
        .iter()
        .map(|t| t["metrics"]["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["available", "faulted", "available"]);
    assert_eq!(
        with_metric(&site, 0, "status").len(),
        1,
        "connector 0 is the charge point"
    );

    support::wait_until("the store", WAIT, || {
        stored(&site, "ev_charger_energy_wh", "1").len() >= 5
    });
    let mut energy = stored(&site, "ev_charger_energy_wh", "1");
    energy.sort_by(f64::total_cmp);
    assert_eq!(energy, [1000.0, 2200.0, 3400.0, 4600.0, 5800.0]);
    assert_eq!(
        stored(&site, "ev_charger_power_w", "1"),
        [7200.0, 7200.0, 7200.0, 0.0]
    );
    let mut codes = stored(&site, "ev_charger_status_code", "2");
    codes.sort_by(f64::total_cmp);
    assert_eq!(
        codes,
        [0.0, 0.0, 8.0],
        "status as its code per connector (available, faulted)"
    );
}

#[test]
fn a_session_survives_a_reconnect_mid_session() {
    let site = OcppSite::start();
    let lines = site.run_peer("session", &["--meters", "6", "--drop-after", "3"]);
    assert!(lines
        .iter()
        .any(|l| l["event"] == "dropping the connection"));
    let tx = lines
        .iter()
        .find_map(|l| l["transaction_id"].as_i64())
        .unwrap();
    support::wait_until("the session's end", WAIT, || {
        !events(&site, "session_stopped").is_empty()
    });
    let detail = events(&site, "session_stopped")[0]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains(&format!("transaction {tx} on connector 1: 600 Wh")),
        "{detail}"
    );
    let energy: Vec<f64> = with_metric(&site, 1, "power_w")
        .iter()
        .map(|t| t["metrics"]["energy_wh"].as_f64().unwrap())
        .collect();
    assert_eq!(
        energy,
        [20100.0, 20200.0, 20300.0, 20400.0, 20500.0, 20600.0]
    );
}

#[test]
fn unknown_charge_points_are_rejected_at_boot_and_bad_credentials_refused() {
    let site = OcppSite::start();
    let lines = site.run_peer("refused", &[]);
    let unknown = format!("{}-UNKNOWN", support::ocpp::CP_ID);
    let of_unknown: Vec<_> = lines.iter().filter(|l| l["cp_id"] == unknown).collect();
    assert_eq!(of_unknown.len(), 3, "{lines:?}");
    assert_eq!(
        of_unknown[0]["call_error"], "GenericError",
        "a CALL before boot"
    );
    // The library validated the conf against the 1.6 schema and parsed it.
    let conf = &of_unknown[1]["conf"];
    assert_eq!(conf["status"], "Rejected", "{conf}");
    assert_eq!(conf["interval"], 120, "the link's heartbeat interval");
    assert_eq!(
        (
            of_unknown[2]["closed"].as_bool(),
            of_unknown[2]["close_code"].as_u64()
        ),
        (Some(true), Some(1008)),
        "the gateway closed the connection after the Rejected"
    );
    let statuses: Vec<_> = lines
        .iter()
        .filter(|l| l["cp_id"] == support::ocpp::CP_ID)
        .map(|l| (l["refused"].as_bool(), l["status"].as_u64()))
        .collect();
    assert_eq!(
        statuses,
        [(Some(true), Some(401)), (Some(true), Some(401))],
        "a known charge point with a wrong or missing password"
    );

    let letters = || on(&site, "retrofit/v1/site-a/gateway/gw-ocpp/deadletter");
    support::wait_until("dead letters for the refusals", WAIT, || {
        letters().len() >= 3
    });
    let of_unknown: Vec<_> = letters()
        .into_iter()
        .filter(|l| l["reason"] == "unknown_device")
        .collect();
    assert_eq!(of_unknown.len(), 1, "one per connection: {of_unknown:?}");
    let detail = of_unknown[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&unknown) && detail.contains("BootNotification rejected"),
        "{detail}"
    );
    let unauthorized = letters()
        .iter()
        .filter(|l| l["reason"] == "unauthorized")
        .count();
    assert_eq!(unauthorized, 2);
    // Nothing the unknown charge point sent became a reading.
    let readings: Vec<_> = site
        .collector
        .messages()
        .into_iter()
        .filter(|m| m.topic.ends_with("/telemetry") || m.topic.ends_with("/event"))
        .filter(|m| {
            m.topic.contains("/ev_charger/")
                || String::from_utf8_lossy(&m.payload).contains(&unknown)
        })
        .map(|m| m.topic)
        .collect();
    assert!(readings.is_empty(), "{readings:?}");
}

#[test]
fn malformed_and_out_of_order_messages_get_the_right_call_error() {
    let site = OcppSite::start();
    let lines = site.run_peer("malformed", &[]);
    let codes: Vec<_> = lines
        .iter()
        .map(|l| l["reply"][2].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        codes[..8],
        [
            "FormationViolation",
            "FormationViolation",
            "NotImplemented",
            "OccurenceConstraintViolation",
            "TypeConstraintViolation",
            "PropertyConstraintViolation",
            "PropertyConstraintViolation",
            "ProtocolError",
        ]
    );
    for l in &lines[..8] {
        assert_eq!(l["reply"][0], 4, "{l}");
    }
    // A reply to no CALL of ours is dropped; the connection still answers.
    assert_eq!(lines[8]["reply"][0], 3);
    assert_eq!(lines[8]["reply"][1], "ok");
}

#[test]
fn a_sigkill_during_a_session_loses_no_confirmed_meter_value() {
    let mut site = OcppSite::start();
    let mut peer = site.spawn_peer("session", &["--meters", "40", "--interval", "0.05"]);
    support::wait_until("some confirmed meter values", WAIT, || {
        peer.lines()
            .iter()
            .filter(|l| !l["confirmed_energy_wh"].is_null())
            .count()
            >= 8
    });
    site.gateway.kill();
    site.gateway.restart();
    let lines = peer.finish(Duration::from_secs(120));
    assert!(
        lines.iter().any(|l| l["event"] == "connection lost"),
        "the kill was mid-session: {lines:?}"
    );
    let tx: Vec<_> = lines
        .iter()
        .filter_map(|l| l["transaction_id"].as_i64())
        .collect();
    assert!(
        tx.windows(2).all(|w| w[0] == w[1]),
        "one transaction throughout: {tx:?}"
    );
    let confirmed: Vec<f64> = lines
        .iter()
        .filter_map(|l| l["confirmed_energy_wh"].as_f64())
        .collect();
    assert_eq!(confirmed.len(), 40);
    support::wait_until("every confirmed value on the topics", WAIT, || {
        let seen: Vec<f64> = with_metric(&site, 1, "power_w")
            .iter()
            .map(|t| t["metrics"]["energy_wh"].as_f64().unwrap())
            .collect();
        confirmed.iter().all(|c| seen.contains(c))
    });
    support::wait_until("every confirmed value in the store", WAIT, || {
        let stored = stored(&site, "ev_charger_power_w", "1");
        stored.len() >= 40
    });
    // The transaction was resumed from the store: its stop knows its start.
    support::wait_until("the session's end", WAIT, || {
        !events(&site, "session_stopped").is_empty()
    });
    let detail = events(&site, "session_stopped")[0]["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains(&format!("transaction {} on connector 1: 4000 Wh", tx[0])),
        "{detail}"
    );
}
