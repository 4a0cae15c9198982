//! The daemon's log as a log file or journald sees it: `retrofit-gateway
//! run` with stderr on a pipe (not a terminal) against a real Mosquitto,
//! stopped with SIGTERM. Text lines must carry no ANSI escape codes; with
//! `--log-format json` or `RETROFIT_LOG_FORMAT=json` every line must be a
//! JSON object with the level and the message's fields.

// A test crate: a failed expectation is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::Mosquitto;

/// How long the daemon may take to start, and to stop after SIGTERM.
const LIMIT: Duration = Duration::from_secs(30);

const CONFIG: &str = r#"
[gateway]
id = "gw-log"
site = "site-log"
data_dir = "DATA"

[mqtt]
url = "URL"
"#;

/// A running gateway whose stderr lines arrive on `lines`.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    /// `retrofit-gateway run` with `args` and `env`, no terminal, no
    /// `NO_COLOR` (which would hide colour codes on its own).
    fn start(
        dir: &std::path::Path,
        broker: &Mosquitto,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let config = dir.join("gateway.toml");
        let text = CONFIG
            .replace("DATA", &dir.join("data").display().to_string())
            .replace("URL", &broker.url());
        std::fs::write(&config, text).expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"));
        command
            .args(["run", "-c"])
            .arg(&config)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .env_remove("RETROFIT_LOG_FORMAT")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start retrofit-gateway");
        let stderr = child.stderr.take().expect("gateway stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Collects lines until one contains `text` (bounded).
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + LIMIT;
        while !self.seen.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!(
                    "no log line with {text:?} ({e}); log so far:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// SIGTERM, then every line up to the daemon's exit (bounded).
    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.wait_for("gateway stopped");
        let status = self.child.wait().expect("wait for the gateway");
        assert!(status.success(), "{status}; log:\n{}", self.log());
        // The pipe closes with the process: take what is left.
        self.seen.extend(self.lines.try_iter());
        std::mem::take(&mut self.seen)
    }

    fn log(&self) -> String {
        self.seen.join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log lines of one run from start to SIGTERM.
fn run_log(args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut daemon = Daemon::start(dir.path(), &broker, args, env);
    daemon.wait_for("gateway running");
    daemon.stop()
}

/// Every line is a JSON object with a level and the message's fields; the
/// start line carries the gateway's id as a field.
fn assert_json_lines(lines: &[String]) {
    assert!(lines.len() >= 3, "{lines:#?}");
    let mut running = None;
    for line in lines {
        assert!(!line.contains('\x1b'), "escape code in {line:?}");
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        assert!(value["level"].is_string(), "{line}");
        assert!(value["timestamp"].is_string(), "{line}");
        let message = value["fields"]["message"].as_str();
        assert!(message.is_some(), "no message in {line}");
        if message == Some("gateway running") {
            running = Some(value);
        }
    }
    let running = running.unwrap_or_else(|| panic!("no start line in {lines:#?}"));
    assert_eq!(running["level"], "INFO");
    assert_eq!(running["fields"]["gateway"], "gw-log");
    assert_eq!(running["fields"]["site"], "site-log");
}

#[test]
fn text_log_on_a_pipe_has_no_colour_codes() {
    let lines = run_log(&[], &[]);
    let log = lines.join("\n");
    assert!(!log.contains('\x1b'), "escape codes in:\n{log:?}");
    let running = lines
        .iter()
        .find(|l| l.contains("gateway running"))
        .unwrap_or_else(|| panic!("no start line in:\n{log}"));
    assert!(
        running.contains(" INFO ") && running.contains("gateway=gw-log"),
        "{running}"
    );
    assert!(log.contains("gateway stopped"), "{log}");
    assert!(serde_json::from_str::<serde_json::Value>(running).is_err());
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    assert_json_lines(&run_log(&["--log-format", "json"], &[]));
}

#[test]
fn retrofit_log_format_env_selects_json_too() {
    assert_json_lines(&run_log(&[], &[("RETROFIT_LOG_FORMAT", "json")]));
}

#[test]
fn an_unknown_log_format_is_refused_before_anything_runs() {
    let out = Command::new(env!("CARGO_BIN_EXE_retrofit-gateway"))
        .args([
            "run",
            "-c",
            "/nonexistent/gateway.toml",
            "--log-format",
            "xml",
        ])
        .env_remove("RETROFIT_LOG_FORMAT")
        .output()
        .expect("run retrofit-gateway");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("xml") && stderr.contains("json"),
        "{stderr}"
    );
}
