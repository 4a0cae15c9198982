//! `retrofit-sim load`: publishes ChirpStack v4 uplinks for the LoRaWAN
//! devices of a gateway config at a steady rate, QoS 1, and reports how
//! many the broker acknowledged (PUBACK).
//!
//! Devices take turns (round-robin), each with its own rising `fCnt`.
//! Every wait is bounded: the connection, each publish and the final wait
//! for acknowledgements. It never publishes anywhere but the config's
//! LoRaWAN broker.

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use retrofit_protocols::Timestamp;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::pacer::Pacer;
use crate::sensor_model::SensorModel;
use crate::site_config::{LoadTarget, TargetDevice};
use crate::uplink_event::{uplink_event, UplinkEvent, UplinkMeta};
use crate::vendor_object::ObjectShape;

/// How long to wait for the broker's CONNACK.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one publish may wait for room in the client's queue.
const PUBLISH_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the last acknowledgements after sending.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between reconnection attempts.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// Unacknowledged publishes in flight at once.
const INFLIGHT: u16 = 100;

/// When a load run ends (besides cancellation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopAfter {
    Count(u64),
    Duration(Duration),
    /// Only when the cancellation token fires.
    Cancelled,
}

/// How to generate load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Uplinks per second.
    pub rate: f64,
    pub stop: StopAfter,
    pub seed: u64,
    /// Share of uplinks that carry a decoded `object`.
    pub object_ratio: f64,
    /// Which codec writes that `object`.
    pub object_shape: ObjectShape,
    pub show_progress: bool,
}

/// What a load run achieved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadReport {
    pub sent: u64,
    pub acknowledged: u64,
    /// Time spent sending, at least the slots of the messages sent.
    pub elapsed: Duration,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        };
        write!(
            f,
            "sent {}, acknowledged {} (PUBACK), rate {rate:.1} msg/s, duration {secs:.1}s",
            self.sent, self.acknowledged
        )
    }
}

/// The broker connection as seen by the event loop task.
#[derive(Debug, Clone, Default)]
struct Link {
    connected: bool,
    acknowledged: u64,
    last_error: Option<String>,
}

/// One simulated device during a run.
struct SimDevice {
    target: TargetDevice,
    model: SensorModel,
    f_cnt: u32,
}

/// The devices, taking turns.
struct Fleet {
    devices: Vec<SimDevice>,
    next: usize,
    rng: fastrand::Rng,
    object_ratio: f64,
    object_shape: ObjectShape,
}

impl Fleet {
    fn new(target: &LoadTarget, opts: &LoadOptions) -> Self {
        let mut rng = fastrand::Rng::with_seed(opts.seed);
        let devices = target
            .devices
            .iter()
            .map(|d| SimDevice {
                target: d.clone(),
                model: SensorModel::new(d, &mut rng),
                f_cnt: 0,
            })
            .collect();
        Self {
            devices,
            next: 0,
            rng,
            object_ratio: opts.object_ratio,
            object_shape: opts.object_shape,
        }
    }

    fn next_uplink(&mut self, elapsed: Duration) -> anyhow::Result<UplinkEvent> {
        let index = self.next % self.devices.len().max(1);
        self.next = index + 1;
        let Some(device) = self.devices.get_mut(index) else {
            bail!("no devices to simulate");
        };
        let frame = device.model.next_frame(elapsed, &mut self.rng)?;
        let meta = UplinkMeta {
            f_cnt: device.f_cnt,
            time: now(),
            with_object: self.rng.f64() < self.object_ratio,
            shape: self.object_shape,
        };
        device.f_cnt = device.f_cnt.wrapping_add(1);
        Ok(uplink_event(&device.target, &frame, meta, &mut self.rng)?)
    }
}

/// The wall-clock time as a model timestamp.
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn progress_bar(opts: &LoadOptions) -> ProgressBar {
    let total = match opts.stop {
        StopAfter::Count(n) => n,
        StopAfter::Duration(d) => (opts.rate * d.as_secs_f64()) as u64,
        StopAfter::Cancelled => 0,
    };
    if !opts.show_progress || total == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "[{elapsed_precise}] {bar:40.cyan/blue} {human_pos}/{human_len} uplinks ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Drives the MQTT connection: reconnects, and counts PUBACKs.
async fn drive(mut eventloop: EventLoop, state: watch::Sender<Link>, stop: CancellationToken) {
    loop {
        let polled = tokio::select! {
            _ = stop.cancelled() => return,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => state.send_modify(|s| s.connected = true),
            Ok(Event::Incoming(Packet::PubAck(_))) => state.send_modify(|s| s.acknowledged += 1),
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                state.send_modify(|s| {
                    s.connected = false;
                    s.last_error = Some(e.to_string());
                });
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(RECONNECT_DELAY) => {}
                }
            }
        }
    }
}

/// Connects to the target's broker and waits for the CONNACK.
async fn connect(
    target: &LoadTarget,
    seed: u64,
    stop: &CancellationToken,
) -> anyhow::Result<(
    AsyncClient,
    watch::Receiver<Link>,
    tokio::task::JoinHandle<()>,
)> {
    let client_id = format!("retrofit-sim-load-{}-{seed}", std::process::id());
    let mut options = MqttOptions::new(client_id, target.broker.host.clone(), target.broker.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_inflight(INFLIGHT)
        .set_clean_session(true);
    let (client, eventloop) = AsyncClient::new(options, 512);
    let (tx, mut rx) = watch::channel(Link::default());
    let task = tokio::spawn(drive(eventloop, tx, stop.clone()));
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, rx.wait_for(|s| s.connected))
        .await
        .is_ok_and(|r| r.is_ok());
    if !connected {
        stop.cancel();
        let why = rx
            .borrow()
            .last_error
            .clone()
            .unwrap_or_else(|| "no CONNACK".into());
        bail!("cannot connect to the broker at {}: {why}", target.broker);
    }
    Ok((client, rx, task))
}

/// Whether the next message, due `due_in` after the start, is past the
/// run's limit. Judged by the schedule, not the wall clock, so a timer that
/// wakes a little late never costs the last message of a timed run; a
/// sender far behind is bounded by the pacer's burst.
fn past_limit(stop: StopAfter, sent: u64, due_in: Duration) -> bool {
    match stop {
        StopAfter::Count(n) => sent >= n,
        StopAfter::Duration(d) => due_in >= d,
        StopAfter::Cancelled => false,
    }
}

/// Runs a load: until the count or duration is reached or `cancel` fires.
pub async fn run_load(
    target: &LoadTarget,
    opts: &LoadOptions,
    cancel: CancellationToken,
) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(
        opts.rate.is_finite() && opts.rate > 0.0,
        "rate must be a positive number of uplinks per second"
    );
    let connection_stop = CancellationToken::new();
    let (client, mut link, task) = connect(target, opts.seed, &connection_stop).await?;
    let mut fleet = Fleet::new(target, opts);
    let bar = progress_bar(opts);
    let started = Instant::now();
    let mut pacer = Pacer::new(started, opts.rate, opts.rate.ceil() as u64);
    let mut sent = 0u64;
    loop {
        let due = pacer.next_due(Instant::now());
        if past_limit(opts.stop, sent, due.saturating_duration_since(started)) {
            break;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(due)) => {}
        }
        let event = fleet.next_uplink(started.elapsed())?;
        let publish = client.publish(event.topic, QoS::AtLeastOnce, false, event.payload);
        tokio::select! {
            _ = cancel.cancelled() => break,
            published = tokio::time::timeout(PUBLISH_STALL_TIMEOUT, publish) => {
                published
                    .context("the broker stopped accepting uplinks")?
                    .context("publish")?;
            }
        }
        sent += 1;
        bar.inc(1);
    }
    // The run lasts at least its messages' slots, so a short run is not
    // reported faster than the rate it was asked for.
    let elapsed = started
        .elapsed()
        .max(Duration::from_secs_f64(sent as f64 / opts.rate));
    bar.finish_and_clear();
    let all_acked = tokio::time::timeout(ACK_TIMEOUT, link.wait_for(|s| s.acknowledged >= sent));
    let _ = all_acked.await;
    let acknowledged = link.borrow().acknowledged;
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    connection_stop.cancel();
    Ok(LoadReport {
        sent,
        acknowledged,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_has_the_documented_shape() {
        let report = LoadReport {
            sent: 200,
            acknowledged: 199,
            elapsed: Duration::from_millis(2000),
        };
        assert_eq!(
            report.to_string(),
            "sent 200, acknowledged 199 (PUBACK), rate 100.0 msg/s, duration 2.0s"
        );
    }

    #[test]
    fn limits_stop_on_count_and_time() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        assert!(past_limit(StopAfter::Count(3), 3, s(0)));
        assert!(!past_limit(StopAfter::Count(3), 2, s(99)));
        let minute = StopAfter::Duration(s(60));
        assert!(!past_limit(minute, 10, ms(59_999)));
        assert!(past_limit(minute, 10, s(60)), "the slot at the end is out");
        assert!(!past_limit(StopAfter::Cancelled, u64::MAX, s(1 << 40)));
    }
}
