//! `retrofit-gateway sla --history FILE.jsonl`: a hand-written timeline in
//! the documented JSON-lines shape gives the figures §12 defines, in JSON,
//! CSV and table form; bad history lines are refused with their number.
//! Expected figures are arithmetic from the timeline below.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::Command;

const CONFIG: &str = r#"
[gateway]
id = "gw-1"
site = "kangfu-garden"
data_dir = "DATA"

[mqtt]
url = "mqtt://127.0.0.1:1"

[[link]]
id = "direct"
type = "mqtt"
url = "mqtt://127.0.0.1:1"

[[device]]
id = "lift-1"
kind = "elevator"
link = "direct"
topic = "t/lift-1"
expected_interval_s = 60

[[device]]
id = "well-1"
kind = "drainage"
link = "direct"
topic = "t/well-1"
expected_interval_s = 300

[sla]
[[sla.maintenance]]
from = "2026-11-01T08:00:00Z"
to = "2026-11-01T10:00:00Z"
device = "well-1"
reason = "pump overhaul"
"#;

/// `HH:MM` on 2026-11-01 as RFC 3339.
fn t(minutes: u32) -> String {
    format!("2026-11-01T{:02}:{:02}:00.000Z", minutes / 60, minutes % 60)
}

fn telemetry(device: &str, kind: &str, minutes: u32, seq: u32) -> String {
    format!(
        r#"{{"v":1,"site":"kangfu-garden","kind":"{kind}","device":"{device}","ts":"{}","seq":{seq},"source":"mqtt","metrics":{{"level_m":0.5}}}}"#,
        t(minutes)
    )
}

fn entrapment(minutes: u32, state: &str, seq: u32) -> String {
    format!(
        r#"{{"v":1,"site":"kangfu-garden","kind":"elevator","device":"lift-1","ts":"{}","seq":{seq},"source":"serial","event":"entrapment","severity":"critical","state":"{state}","alarm_id":"lift-1.entrapment.9000","detail":""}}"#,
        t(minutes)
    )
}

/// lift-1: a reading a minute for 10 h; an entrapment raised at 1:00,
/// reached at 1:10, released at 1:30. well-1: a reading every 5 min until
/// 4:55, then silent (offline from 4:55 + 15 min); maintenance 8:00-10:00.
fn timeline() -> String {
    let mut lines: Vec<String> = (0..600)
        .map(|m| telemetry("lift-1", "elevator", m, m))
        .collect();
    lines.extend((0..60).map(|k| telemetry("well-1", "drainage", 5 * k, k)));
    lines.push(entrapment(60, "raised", 9000));
    lines.push(format!(
        r#"{{"record":"arrive","alarm_id":"lift-1.entrapment.9000","at":"{}","by":"wang"}}"#,
        t(70)
    ));
    lines.push(entrapment(90, "cleared", 9001));
    lines.join("\n") + "\n"
}

struct Files {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    history: std::path::PathBuf,
}

fn files(history: &str) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gw.toml");
    let data = dir.path().join("data");
    std::fs::write(&config, CONFIG.replace("DATA", data.to_str().unwrap())).unwrap();
    let path = dir.path().join("history.jsonl");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(history.as_bytes())
        .unwrap();
    Files {
        _dir: dir,
        config,
        history: path,
    }
}

fn sla(f: &Files, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(["sla", "-c"])
        .arg(&f.config)
        .args(["--from", &t(0), "--to", &t(600), "--history"])
        .arg(&f.history)
        .args(extra)
        .output()
        .unwrap()
}

#[track_caller]
fn close(v: &serde_json::Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

#[test]
fn figures_from_a_hand_written_history() {
    let f = files(&timeline());
    let out = sla(&f, &["--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = 10.0;
    let lift = &r["devices"][0];
    assert_eq!(lift["device"], "lift-1");
    close(&lift["availability_pct"], 100.0 * (w - 0.5) / w);
    assert_eq!(lift["failures"], 1);
    close(&lift["mttr_h"], 0.5);
    close(&lift["mtbf_h"], w - 0.5);
    close(&lift["data_completeness_pct"], 100.0);
    let well = &r["devices"][1];
    let (m, d) = (10.0 - 8.0, 8.0 - (4.0 + 55.0 / 60.0 + 0.25));
    let out_h = w - (4.0 + 55.0 / 60.0 + 0.25);
    close(&well["availability_pct"], 100.0 * (w - m - d) / (w - m));
    close(&well["uptime_pct"], 100.0 * (w - out_h) / w);
    close(&well["data_completeness_pct"], 100.0 * 60.0 / 120.0);
    close(&well["mtbf_h"], (w - m - d) / 1.0);
    let site = &r["site"];
    close(
        &site["availability_pct"],
        100.0 * (2.0 * w - m - 0.5 - d) / (2.0 * w - m),
    );
    assert_eq!(site["failures"], 2);
    let e = &r["entrapments"][0];
    assert_eq!(e["raised_at"], t(60));
    assert_eq!(e["arrived_at"], t(70));
    assert_eq!(e["released_at"], t(90));
    close(&e["arrival_s"], 600.0);
    close(&e["release_s"], 1800.0);
    assert_eq!(e["compliant"], true);

    let csv = sla(&f, &["--format", "csv", "--kind", "elevator"]);
    let text = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "site,kind,device,availability_pct,uptime_pct,failures,mtbf_h,mttr_h,data_completeness_pct,\
         downtime_h,maintenance_h,entrapments,entrapment_compliance_pct"
    );
    assert_eq!(lines.len(), 4, "site, kind, device:\n{text}");
    assert!(
        lines[3].starts_with("kangfu-garden,elevator,lift-1,95.0,95.0,1,9.5,0.5,100.0,"),
        "{text}"
    );

    let table = sla(&f, &["--device", "well-1"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("well-1"), "{text}");
    assert!(!text.contains("lift-1"), "{text}");
}

#[test]
fn bad_history_and_options_are_refused() {
    let f = files(&format!("{}{{\"record\":\"arrive\"}}\n", timeline()));
    let out = sla(&f, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 664:"), "{err}");
    let f = files(&timeline());
    let out = sla(&f, &["--device", "ghost"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no [[device]] has id ghost"));
}

fn run(f: &Files, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args(args)
        .arg("-c")
        .arg(&f.config)
        .output()
        .unwrap()
}

/// A technician on the console: `alarm ack` and `alarm arrive` on an
/// entrapment in the gateway's history; the arrival shows in `sla`.
#[test]
fn alarm_ack_and_arrive_from_the_console() {
    use retrofit_gateway::upkeep::store::{Bound, HistoryStore};
    use retrofit_protocols::reading::Reading;
    let f = files("");
    let data = f.config.parent().unwrap().join("data");
    let store = HistoryStore::open(&data, Bound::new(400, 1 << 30)).unwrap();
    let raised = Reading::from_json(entrapment(60, "raised", 9000).as_bytes()).unwrap();
    store.record(&[raised]).unwrap();
    drop(store);

    let id = "lift-1.entrapment.9000";
    let ack = run(&f, &["alarm", "ack", id, "--by", "li", "--at", &t(62)]);
    assert!(
        ack.status.success(),
        "{}",
        String::from_utf8_lossy(&ack.stderr)
    );
    let alarm: serde_json::Value = serde_json::from_slice(&ack.stdout).unwrap();
    assert_eq!(alarm["stage"], "acknowledged");
    assert_eq!(alarm["acknowledged"]["by"], "li");
    let arrive = run(&f, &["alarm", "arrive", id, "--by", "wang", "--at", &t(95)]);
    let alarm: serde_json::Value = serde_json::from_slice(&arrive.stdout).unwrap();
    assert_eq!(alarm["stage"], "arrived");
    assert_eq!(alarm["arrived"]["at"], t(95));

    let out = run(
        &f,
        &["sla", "--format", "json", "--from", &t(0), "--to", &t(600)],
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &r["entrapments"][0];
    assert_eq!(e["arrived_at"], t(95));
    close(&e["arrival_s"], 35.0 * 60.0);
    assert_eq!(e["compliant"], false, "35 min is over the 30 min target");

    let ghost = run(
        &f,
        &["alarm", "arrive", "lift-1.entrapment.1", "--by", "wang"],
    );
    assert!(!ghost.status.success());
    assert!(String::from_utf8_lossy(&ghost.stderr).contains("no alarm lift-1.entrapment.1"));
    let bad = run(&f, &["alarm", "ack", "lift/1#", "--by", "wang"]);
    assert!(!bad.status.success());
}

/// `report --month`: a self-contained bilingual page with the worst
/// devices first, each entrapment with its arrival, a chart per kind; and
/// the same figures as CSV.
#[test]
fn monthly_report_in_html_and_csv() {
    let f = files(&timeline());
    let report = |format: &str| {
        let out = run(
            &f,
            &[
                "report",
                "--month",
                "2026-11",
                "--format",
                format,
                "--history",
                f.history.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let html = report("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "月度运维报告",
        "Monthly upkeep report",
        "电梯 elevator",
        "排水 drainage",
        "<svg",
        "困人事件 Entrapments",
        &t(70),
        "是 yes",
    ] {
        assert!(html.contains(needle), "no {needle:?} in the page");
    }
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("<script"),
        "self-contained"
    );
    let csv = report("csv");
    let devices: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(2))
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(devices, ["well-1", "lift-1"], "worst first:\n{csv}");
    let bad = run(&f, &["report", "--month", "2026-13"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("month must be YYYY-MM"));
}
