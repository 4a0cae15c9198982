//! The gateway under test as a child process (`retrofit-gateway run -c
//! CONFIG`), its log in a file beside the config, and the canary that
//! proves its pipeline is up: uplinks of a device no config knows, which
//! the gateway turns into dead letters on the normalized broker (and never
//! into store points), sent until one comes out.
//!
//! The process is killed if its guard drops; it is never left running.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use retrofit_protocols::chirpstack::DevEui;
use retrofit_protocols::sensor::SensorFormat;
use retrofit_protocols::{DeviceKind, Id};

use super::collector::Collector;
use super::mqtt::Connection;
use super::process::ChildGuard;
use crate::load::now;
use crate::sensor_model::SensorModel;
use crate::site_config::TargetDevice;
use crate::uplink_event::{uplink_event, UplinkMeta};

/// How long the gateway may take to forward its first canary.
const PIPELINE_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between canaries (each waits for its dead letter this long).
const CANARY_INTERVAL: Duration = Duration::from_millis(200);
/// A devEUI outside every generated fleet.
const CANARY_EUI: DevEui = DevEui(0x00ff_ffff_ffff_fffe);
/// How many distinct warnings of the log a run that did not hold shows.
const PROBLEM_LINES: usize = 20;
/// How much of the log an error shows.
const LOG_TAIL_BYTES: usize = 4000;

/// A running gateway.
pub struct Gateway {
    process: ChildGuard,
    log: PathBuf,
}

impl Gateway {
    /// Starts `binary run -c config`, logging to `config` with `.log`.
    pub fn start(binary: &Path, config: &Path) -> anyhow::Result<Self> {
        let log = config.with_extension("log");
        let file = std::fs::File::create(&log).with_context(|| log.display().to_string())?;
        let child = Command::new(binary)
            .args(["run", "-c"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .with_context(|| format!("start the gateway {}", binary.display()))?;
        Ok(Self {
            process: ChildGuard::new("retrofit-gateway", child),
            log,
        })
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.process.pid().context("the gateway was stopped")
    }

    /// The end of the gateway's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let cut = text.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (cut..=text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }

    /// The gateway's distinct warnings and errors, each with how often it
    /// was logged, in the order they first appeared.
    pub fn log_problems(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        distinct_problems(&text)
            .iter()
            .take(PROBLEM_LINES)
            .map(|(line, n)| format!("{n} x {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGTERM and wait for the exit (bounded).
    pub fn stop(&mut self) {
        self.process.terminate();
    }

    /// Sends canary uplinks to `broker_port` until `collector` has seen a
    /// dead letter: the link has subscribed and the output is connected.
    pub async fn wait_for_pipeline(
        &mut self,
        broker_port: u16,
        application_id: &str,
        collector: &mut Collector,
    ) -> anyhow::Result<()> {
        let canary = canary_device(application_id)?;
        let mut rng = fastrand::Rng::with_seed(0);
        let mut model = SensorModel::new(&canary, &mut rng);
        let publisher = Connection::open(broker_port, "retrofit-bench-canary", 10, &[]).await?;
        let deadline = tokio::time::Instant::now() + PIPELINE_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            if !self.process.is_running() {
                bail!("the gateway exited; log:\n{}", self.log_tail());
            }
            let frame = model.next_frame(Duration::ZERO, &mut rng)?;
            let meta = UplinkMeta {
                f_cnt: 1,
                time: now(),
                with_object: true,
                shape: Default::default(),
            };
            let event = uplink_event(&canary, &frame, meta, &mut rng)?;
            publisher.publish(&event.topic, event.payload).await?;
            let seen = collector
                .settle(|p| p.dead_letters > 0, CANARY_INTERVAL, CANARY_INTERVAL)
                .await;
            if seen.dead_letters > 0 {
                publisher.close().await;
                return Ok(());
            }
        }
        bail!(
            "the gateway forwarded no canary within {PIPELINE_TIMEOUT:?}; log:\n{}",
            self.log_tail()
        )
    }
}

/// WARN and ERROR lines without their timestamp (the first field), with
/// how often each occurred, in order of first appearance.
fn distinct_problems(log: &str) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for line in log.lines().map(strip_ansi) {
        if !(line.contains(" WARN ") || line.contains(" ERROR ")) {
            continue;
        }
        let message = line
            .split_once(' ')
            .map_or(line.as_str(), |(_, m)| m)
            .trim();
        match seen.iter_mut().find(|(m, _)| m == message) {
            Some((_, n)) => *n += 1,
            None => seen.push((message.to_string(), 1)),
        }
    }
    seen
}

/// The line without terminal colour sequences (`ESC [ ... m`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// A drainage well no generated config has.
fn canary_device(application_id: &str) -> anyhow::Result<TargetDevice> {
    Ok(TargetDevice {
        id: Id::parse("bench-canary")?,
        kind: DeviceKind::Drainage,
        dev_eui: CANARY_EUI,
        format: SensorFormat::DraginoLdds75,
        mount_height_m: Some(2.0),
        application_id: application_id.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_distinct_warning_once_in_order() {
        let log = "2026-12-01T16:08:24.1Z  INFO gw: link connected\n\
            \u{1b}[2m2026-12-01T16:08:24.2Z\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m gw: PUBACK not sent\n\
            2026-12-01T16:08:24.3Z  WARN gw: PUBACK not sent\n\
            2026-12-01T16:08:24.4Z ERROR gw: store refused\n";
        assert_eq!(
            distinct_problems(log),
            vec![
                ("WARN gw: PUBACK not sent".to_string(), 2),
                ("ERROR gw: store refused".to_string(), 1)
            ]
        );
    }
}
