//! The serial link's decisions through the real intake and a real journal
//! in a temp dir: frame to reading, time stamps, alarms, unknown nodes,
//! duplicates, bad input, and acknowledgements that only follow commits.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use retrofit_protocols::edge::{
    cobs, crc16, encode, Ack, Capabilities, Config, Event, FirmwareVersion, Frame, Heartbeat,
    Hello, Message, NodeId, Setting, Settings, Stamp, Telemetry, MAX_WIRE_LEN,
};
use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{
    DeviceKind, EventName, EventState, Id, MetricName, Severity, Source, Timestamp, Value,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::config::SerialLinkConfig;
use super::frames::FrameReader;
use super::receiver::{Action, Commit, Receiver};
use crate::clock::SeqClock;
use crate::counters::Counters;
use crate::devices::Device;
use crate::intake::{GatewayIdentity, Intake, Submission};
use crate::journal::{Journal, JournalConfig, RecordClass};
use crate::links::subscriber::LinkContext;
use crate::presence::{self, PresenceBook};

const NOW: Timestamp = Timestamp(1_795_867_200_000);
const DRAIN: u16 = 17;
const LIFT: u16 = 18;

fn node(n: u16) -> NodeId {
    NodeId::new(n).unwrap()
}

fn device(id: &str, kind: DeviceKind) -> Arc<Device> {
    Arc::new(Device {
        id: Id::parse(id).unwrap(),
        kind,
        link: Id::parse("rs485").unwrap(),
        expected_interval_s: 60,
        grace_s: 180,
    })
}

fn wire(frame: &Frame) -> Vec<u8> {
    let mut buf = [0u8; MAX_WIRE_LEN];
    let len = encode(frame, &mut buf).unwrap();
    buf[..len].to_vec()
}

fn level(stamp: Stamp, level_m: f64) -> Telemetry {
    let mut t = Telemetry::new(stamp);
    t.push(
        MetricName::parse("level_m").unwrap(),
        Value::Number(level_m),
    )
    .unwrap();
    t
}

fn hello(kind: DeviceKind) -> Hello {
    Hello {
        firmware: FirmwareVersion {
            major: 1,
            minor: 0,
            patch: 0,
        },
        kind,
        capabilities: Capabilities::TIME_SYNC,
    }
}

fn heartbeat(uptime_ms: u64, pending_from: u32) -> Heartbeat {
    Heartbeat {
        uptime_ms,
        dropped_frames: 0,
        pending_from,
        battery_pct: None,
        settings: Settings::new(),
    }
}

/// What the gateway is configured to send the drainage node.
fn drain_settings() -> Settings {
    let mut s = Settings::new();
    s.push_number(Setting::WarningM, 0.5).unwrap();
    s
}

fn alarm(state: EventState) -> Event {
    Event {
        stamp: Stamp::Unix(NOW),
        name: EventName::parse("entrapment").unwrap(),
        severity: Severity::Critical,
        state,
        detail: 0,
    }
}

/// The receiver between a simulated line and the real intake.
struct Rig {
    _dir: tempfile::TempDir,
    journal: Journal,
    ctx: LinkContext,
    counters: Arc<Counters>,
    receiver: Receiver,
    reader: FrameReader,
    commits_tx: mpsc::UnboundedSender<Commit>,
    commits: mpsc::UnboundedReceiver<Commit>,
    _stop: tokio_util::sync::DropGuard,
}

impl Rig {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), &JournalConfig::default(), &["test"]).unwrap();
        let site = Id::parse("site-a").unwrap();
        let identity = Arc::new(GatewayIdentity {
            site: site.clone(),
            gateway: Id::parse("gw").unwrap(),
            seq: SeqClock::default(),
        });
        let (intake, _writer) = Intake::start(journal.clone(), identity);
        let devices = [
            device("drain-1", DeviceKind::Drainage),
            device("lift-1", DeviceKind::Elevator),
        ];
        let stop = CancellationToken::new();
        let book = PresenceBook::new(site.clone(), &devices, NOW);
        let (presence, _) = presence::start(book, intake.clone(), None, stop.clone());
        let config = SerialLinkConfig {
            id: Id::parse("rs485").unwrap(),
            port: "/dev/ttyTEST".into(),
            baud: 115_200,
            devices: [
                (node(DRAIN), devices[0].clone()),
                (node(LIFT), devices[1].clone()),
            ]
            .into(),
            settings: [(node(DRAIN), drain_settings())].into(),
            site,
        };
        let counters = Arc::new(Counters::default());
        let ctx = LinkContext {
            intake,
            link: config.id.clone(),
            source: Source::Serial,
            counters: counters.clone(),
            presence,
        };
        let (commits_tx, commits) = mpsc::unbounded_channel();
        Self {
            _dir: dir,
            journal,
            ctx,
            counters,
            receiver: Receiver::new(Arc::new(config)),
            reader: FrameReader::new(),
            commits_tx,
            commits,
            _stop: stop.drop_guard(),
        }
    }

    fn hear(&mut self, frame: &Frame, now: Timestamp) -> Vec<Action> {
        self.hear_bytes(&wire(frame), now)
    }

    fn hear_bytes(&mut self, bytes: &[u8], now: Timestamp) -> Vec<Action> {
        let mut actions = Vec::new();
        let (receiver, ctx) = (&mut self.receiver, &self.ctx);
        self.reader
            .feed(bytes, |r| actions.extend(receiver.receive(ctx, r, now)));
        actions
    }

    /// Does what the port loop does: submits through the intake, waits for
    /// the commits, and returns every frame sent (the Acks last).
    async fn perform(&mut self, actions: Vec<Action>) -> Vec<Frame> {
        let mut sent = Vec::new();
        let mut pending = 0;
        for action in actions {
            match action {
                Action::Send(frame) => sent.push(*frame),
                Action::Submit(records, commit) => {
                    pending += usize::from(commit.is_some());
                    let ack = commit.map(|c| {
                        let tx = self.commits_tx.clone();
                        Box::new(move || tx.send(c).unwrap()) as crate::intake::Ack
                    });
                    let submission = Submission::new(records, ack);
                    self.ctx.intake.submit(submission).await.unwrap();
                }
            }
        }
        let mut commits = Vec::new();
        for _ in 0..pending {
            let wait = tokio::time::timeout(Duration::from_secs(10), self.commits.recv());
            commits.push(wait.await.unwrap().unwrap());
        }
        sent.extend(self.receiver.committed(commits));
        sent
    }

    async fn exchange(&mut self, frame: &Frame, now: Timestamp) -> Vec<Frame> {
        let actions = self.hear(frame, now);
        self.perform(actions).await
    }

    fn payloads(&self, class: RecordClass) -> Vec<Vec<u8>> {
        let mut reader = self.journal.reader("test").unwrap();
        let entries = reader.peek(class.lane(), 10_000).unwrap();
        entries
            .into_iter()
            .filter(|e| e.class == class)
            .map(|e| e.payload)
            .collect()
    }

    fn readings(&self, class: RecordClass) -> Vec<Reading> {
        let payloads = self.payloads(class);
        let readings = payloads.iter().map(|p| Reading::from_json(p).unwrap());
        readings.filter(|r| r.source == Source::Serial).collect()
    }

    fn dead_letters(&self) -> Vec<serde_json::Value> {
        let payloads = self.payloads(RecordClass::DeadLetter);
        payloads
            .iter()
            .map(|p| serde_json::from_slice(p).unwrap())
            .collect()
    }

    fn rejected(&self, reason: &str) -> u64 {
        let counts = self.counters.rejected_snapshot();
        let key = ("serial".to_string(), reason.to_string());
        counts.get(&key).copied().unwrap_or(0)
    }

    /// Boots node `n`: Hello at sequence 1, committed and acknowledged.
    async fn boot(&mut self, n: u16, kind: DeviceKind) {
        let sent = self
            .exchange(&Frame::reliable(node(n), 1, hello(kind)), NOW)
            .await;
        assert_eq!(acks(&sent), [(node(n), Ack::cumulative(1))]);
    }
}

/// The Config frames among `sent`, as (node, seq, settings).
fn configs(sent: &[Frame]) -> Vec<(NodeId, u32, Settings)> {
    sent.iter()
        .filter_map(|f| match &f.message {
            Message::Config(c) if f.ack_requested => Some((f.node, f.seq, c.settings.clone())),
            _ => None,
        })
        .collect()
}

fn acks(sent: &[Frame]) -> Vec<(NodeId, Ack)> {
    sent.iter()
        .filter_map(|f| match f.message {
            Message::Ack(ack) => Some((f.node, ack)),
            _ => None,
        })
        .collect()
}

fn telemetry_frame(n: u16, seq: u32, stamp: Stamp, level_m: f64) -> Frame {
    Frame::reliable(node(n), seq, level(stamp, level_m))
}

#[tokio::test]
async fn telemetry_becomes_a_reading_and_is_acked_after_its_commit() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    let frame = telemetry_frame(DRAIN, 2, Stamp::Unix(Timestamp(NOW.0 - 500)), 1.25);
    let actions = rig.hear(&frame, NOW);
    assert!(
        actions.iter().all(|a| matches!(a, Action::Submit(..))),
        "no Ack before the commit: {actions:?}"
    );
    let sent = rig.perform(actions).await;
    assert_eq!(acks(&sent), [(node(DRAIN), Ack::cumulative(2))]);
    let readings = rig.readings(RecordClass::Telemetry);
    assert_eq!(readings.len(), 1);
    let r = &readings[0];
    assert_eq!(
        (r.device.as_str(), r.kind),
        ("drain-1", DeviceKind::Drainage)
    );
    assert_eq!(
        (r.seq, r.ts, r.source),
        (2, Timestamp(NOW.0 - 500), Source::Serial)
    );
    assert_eq!(r.site.as_str(), "site-a");
    let Body::Telemetry(metrics) = &r.body else {
        panic!("telemetry expected")
    };
    assert_eq!(metrics[0].0.as_str(), "level_m");
    assert_eq!(metrics[0].1, Value::Number(1.25));
    assert_eq!(
        r.topic().to_string(),
        "retrofit/v1/site-a/drainage/drain-1/telemetry"
    );
}

#[tokio::test]
async fn the_ack_callback_runs_only_once_the_record_is_in_the_journal() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    let actions = rig.hear(&telemetry_frame(DRAIN, 2, Stamp::Unix(NOW), 1.0), NOW);
    let [Action::Submit(records, Some(_))] = &actions[..] else {
        panic!("one submission expected: {actions:?}")
    };
    let seen_at_ack = Arc::new(Mutex::new(None));
    let (journal, seen) = (rig.journal.clone(), seen_at_ack.clone());
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let ack = Box::new(move || {
        let mut reader = journal.reader("test").unwrap();
        let entries = reader.peek(RecordClass::Telemetry.lane(), 100).unwrap();
        *seen.lock().unwrap() = Some(entries.len());
        let _ = done_tx.send(());
    });
    let submission = Submission::new(records.clone(), Some(ack));
    rig.ctx.intake.submit(submission).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), done)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*seen_at_ack.lock().unwrap(), Some(1));
}

#[tokio::test]
async fn resends_are_acknowledged_again_but_committed_once() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    let frame = telemetry_frame(DRAIN, 2, Stamp::Unix(NOW), 2.0);
    let first = rig.hear(&frame, NOW);
    assert!(
        rig.hear(&frame, NOW).is_empty(),
        "a resend while in flight waits for the commit's Ack"
    );
    rig.perform(first).await;
    let again = rig.exchange(&frame, NOW).await;
    assert_eq!(acks(&again), [(node(DRAIN), Ack::cumulative(2))]);
    let other = telemetry_frame(DRAIN, 2, Stamp::Unix(NOW), 2.5);
    let sent = rig.exchange(&other, NOW).await;
    assert_eq!(acks(&sent), [(node(DRAIN), Ack::cumulative(2))]);
    let levels: Vec<Value> = rig
        .readings(RecordClass::Telemetry)
        .iter()
        .map(|r| match &r.body {
            Body::Telemetry(m) => m[0].1.clone(),
            _ => panic!("telemetry expected"),
        })
        .collect();
    assert_eq!(
        levels,
        [Value::Number(2.0), Value::Number(2.5)],
        "other bytes under seq 2 are a new frame"
    );
}

#[tokio::test]
async fn uptime_stamps_map_through_the_heartbeat() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    let hb = Frame::unsequenced(node(DRAIN), 1, heartbeat(100_000, 2));
    let sent = rig.exchange(&hb, NOW).await;
    assert_eq!(
        acks(&sent),
        [(node(DRAIN), Ack::cumulative(1))],
        "heartbeats re-ack"
    );
    let frame = telemetry_frame(DRAIN, 2, Stamp::Uptime(99_000), 1.0);
    rig.exchange(&frame, Timestamp(NOW.0 + 5_000)).await;
    let readings = rig.readings(RecordClass::Telemetry);
    assert_eq!(readings[0].ts, Timestamp(NOW.0 - 1_000));
}

#[tokio::test]
async fn raise_and_clear_share_the_alarm_id() {
    let mut rig = Rig::start();
    rig.boot(LIFT, DeviceKind::Elevator).await;
    for (seq, state) in [
        (2, EventState::Raised),
        (3, EventState::Instant),
        (4, EventState::Cleared),
    ] {
        let sent = rig
            .exchange(&Frame::reliable(node(LIFT), seq, alarm(state)), NOW)
            .await;
        assert_eq!(acks(&sent), [(node(LIFT), Ack::cumulative(seq))]);
    }
    let events: Vec<(EventState, String)> = rig
        .readings(RecordClass::Event)
        .iter()
        .map(|r| match &r.body {
            Body::Event(e) => (e.state, e.alarm_id.as_str().to_string()),
            _ => panic!("event expected"),
        })
        .collect();
    assert_eq!(
        events,
        [
            (EventState::Raised, "lift-1.entrapment.2".to_string()),
            (EventState::Instant, "lift-1.entrapment.3".to_string()),
            (EventState::Cleared, "lift-1.entrapment.2".to_string()),
        ]
    );
}

#[tokio::test]
async fn unknown_nodes_are_dead_lettered_then_released() {
    let mut rig = Rig::start();
    let frame = telemetry_frame(99, 5, Stamp::Unix(NOW), 1.0);
    let sent = rig.exchange(&frame, NOW).await;
    assert_eq!(acks(&sent), [(node(99), Ack::cumulative(5))]);
    let hb = Frame::unsequenced(node(99), 5, heartbeat(1, 6));
    assert!(rig.exchange(&hb, NOW).await.is_empty());
    let letters = rig.dead_letters();
    assert_eq!(letters.len(), 1, "heartbeats are only counted");
    assert_eq!(letters[0]["reason"], "unknown_device");
    assert_eq!(letters[0]["origin"], "/dev/ttyTEST node 99");
    let hex: String = wire(&frame)[1..wire(&frame).len() - 1]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(letters[0]["input"], hex);
    assert_eq!(rig.rejected("unknown_device"), 2);
    assert!(rig.readings(RecordClass::Telemetry).is_empty());
}

#[tokio::test]
async fn wrong_value_types_and_kinds_are_dead_lettered_but_acknowledged() {
    let mut rig = Rig::start();
    let sent = rig
        .exchange(
            &Frame::reliable(node(LIFT), 1, hello(DeviceKind::Parking)),
            NOW,
        )
        .await;
    assert_eq!(acks(&sent), [(node(LIFT), Ack::cumulative(1))]);
    let mut t = Telemetry::new(Stamp::Unix(NOW));
    t.push(
        MetricName::parse("floor").unwrap(),
        Value::text("third").unwrap(),
    )
    .unwrap();
    let sent = rig.exchange(&Frame::reliable(node(LIFT), 2, t), NOW).await;
    assert_eq!(acks(&sent), [(node(LIFT), Ack::cumulative(2))]);
    let reasons: Vec<_> = rig
        .dead_letters()
        .iter()
        .map(|l| l["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["kind_mismatch", "invalid_value"]);
    assert!(rig.readings(RecordClass::Telemetry).is_empty());
}

/// The unstuffed bytes (header, body, CRC) of `frame`.
fn raw(frame: &Frame) -> Vec<u8> {
    let encoded = wire(frame);
    let mut stuffed = encoded[1..encoded.len() - 1].to_vec();
    let len = cobs::unstuff_in_place(&mut stuffed).unwrap();
    stuffed.truncate(len);
    stuffed
}

/// `raw` stuffed and delimited as it goes on the line; with `fix_crc`, the
/// CRC is computed again over the (altered) header and body first.
fn line(mut raw: Vec<u8>, fix_crc: bool) -> Vec<u8> {
    if fix_crc {
        let covered = raw.len() - 2;
        let crc = crc16(&raw[..covered]).to_le_bytes();
        raw[covered..].copy_from_slice(&crc);
    }
    let mut stuffed = vec![0u8; raw.len() + 2];
    let len = cobs::stuff(&raw, &mut stuffed).unwrap();
    [&[0][..], &stuffed[..len], &[0]].concat()
}

#[tokio::test]
async fn line_noise_is_counted_and_refused_frames_are_dead_lettered() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    let good = raw(&telemetry_frame(DRAIN, 2, Stamp::Unix(NOW), 1.0));
    let mut bad_crc = good.clone();
    bad_crc[20] ^= 0x10;
    let mut future_version = good.clone();
    future_version[0] = 2;
    let mut unknown_type = good.clone();
    unknown_type[1] = 0x7f;
    let stream = [
        vec![0x13, 0x37, 0x00],
        line(bad_crc, false),
        line(future_version, true),
        line(unknown_type, true),
        line(good, false),
    ]
    .concat();
    let actions = rig.hear_bytes(&stream, NOW);
    let sent = rig.perform(actions).await;
    assert_eq!(acks(&sent), [(node(DRAIN), Ack::cumulative(2))]);
    assert_eq!(
        (rig.rejected("bad_stuffing"), rig.rejected("bad_crc")),
        (1, 1)
    );
    assert_eq!(rig.readings(RecordClass::Telemetry).len(), 1);
    let letters = rig.dead_letters();
    let reasons: Vec<_> = letters.iter().map(|l| l["reason"].clone()).collect();
    assert_eq!(
        reasons,
        ["unknown_version", "unknown_type"],
        "noise is only counted; frames with a good CRC are dead-lettered"
    );
    assert_eq!(letters[0]["origin"], "/dev/ttyTEST");
    assert_eq!(rig.rejected("unknown_type"), 1);
}

#[tokio::test]
async fn first_contact_without_hello_waits_for_a_heartbeat_to_ack() {
    let mut rig = Rig::start();
    let frame = telemetry_frame(DRAIN, 40, Stamp::Unix(NOW), 1.0);
    let sent = rig.exchange(&frame, NOW).await;
    assert!(acks(&sent).is_empty(), "39 and below may still be held");
    let hb = Frame::unsequenced(node(DRAIN), 41, heartbeat(5_000, 38));
    let sent = rig.exchange(&hb, NOW).await;
    assert_eq!(
        acks(&sent),
        [(
            node(DRAIN),
            Ack {
                up_to: 37,
                selective: 0b100
            }
        )]
    );
    let older = telemetry_frame(DRAIN, 38, Stamp::Unix(NOW), 0.5);
    let sent = rig.exchange(&older, NOW).await;
    assert_eq!(
        acks(&sent),
        [(
            node(DRAIN),
            Ack {
                up_to: 38,
                selective: 0b10
            }
        )]
    );
}

#[tokio::test]
async fn frames_a_node_gave_up_on_are_counted_as_lost() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    for seq in [2, 5] {
        rig.exchange(&telemetry_frame(DRAIN, seq, Stamp::Unix(NOW), 1.0), NOW)
            .await;
    }
    // The node now holds nothing before 7: 3, 4 and 6 never arrived.
    let hb = Frame::unsequenced(node(DRAIN), 8, heartbeat(5_000, 7));
    rig.exchange(&hb, NOW).await;
    assert_eq!(rig.counters.lost_snapshot().get("serial"), Some(&3));
}

#[tokio::test]
async fn a_reboot_starts_a_new_session_and_time_sync_answers_hello() {
    let mut rig = Rig::start();
    let hello_frame = Frame::reliable(node(DRAIN), 1, hello(DeviceKind::Drainage));
    let sent = rig.exchange(&hello_frame, NOW).await;
    assert!(sent
        .iter()
        .any(|f| matches!(f.message, Message::TimeSync(s) if s.unix_ms == NOW)));
    for seq in 2..=3 {
        rig.exchange(&telemetry_frame(DRAIN, seq, Stamp::Unix(NOW), 1.0), NOW)
            .await;
    }
    // Rebooted: the same Hello, then seq 2 again with a new reading.
    let sent = rig.exchange(&hello_frame, NOW).await;
    assert_eq!(acks(&sent), [(node(DRAIN), Ack::cumulative(1))]);
    let reboot_reading = telemetry_frame(DRAIN, 2, Stamp::Uptime(10), 9.0);
    let sent = rig.exchange(&reboot_reading, NOW).await;
    assert_eq!(acks(&sent), [(node(DRAIN), Ack::cumulative(2))]);
    assert_eq!(rig.readings(RecordClass::Telemetry).len(), 3);
}

#[tokio::test]
async fn echoes_of_gateway_frames_are_ignored() {
    let mut rig = Rig::start();
    let echo = Receiver::time_sync(NOW);
    assert!(rig.hear(&echo, NOW).is_empty());
    let ack = Frame::unsequenced(node(DRAIN), 0, Ack::cumulative(3));
    assert!(rig.hear(&ack, NOW).is_empty());
    assert!(rig.counters.rejected_snapshot().is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever a line delivers, the receiver never panics, never sends an
    /// Ack and never makes a reading: random bytes only count and at most
    /// dead-letter.
    #[test]
    fn random_bytes_never_acknowledge_or_make_readings(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..600), 1..8)
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _entered = runtime.enter();
        let mut rig = Rig::start();
        for chunk in &chunks {
            for action in rig.hear_bytes(chunk, NOW) {
                let Action::Submit(records, commit) = action else {
                    panic!("nothing is sent back for noise")
                };
                proptest::prop_assert!(commit.is_none());
                proptest::prop_assert!(records.iter().all(|r| r.class == RecordClass::DeadLetter));
            }
        }
    }
}

fn with_config(kind: DeviceKind) -> Hello {
    let mut h = hello(kind);
    h.capabilities = h.capabilities.union(Capabilities::CONFIG);
    h
}

#[tokio::test]
async fn settings_go_out_at_hello_and_are_resent_until_the_node_acks() {
    let mut rig = Rig::start();
    let t0 = std::time::Instant::now();
    assert!(rig.receiver.due_configs(t0).is_empty(), "no session yet");
    rig.exchange(
        &Frame::reliable(node(DRAIN), 1, with_config(DeviceKind::Drainage)),
        NOW,
    )
    .await;
    let first = rig.receiver.due_configs(t0);
    assert_eq!(configs(&first), [(node(DRAIN), 1, drain_settings())]);
    let resend_at = rig.receiver.next_config_due().unwrap();
    assert!(
        rig.receiver.due_configs(t0).is_empty(),
        "not before its time"
    );
    assert_eq!(configs(&rig.receiver.due_configs(resend_at)).len(), 1);

    // The echo of the gateway's own Ack (sequence 0) is not the node's.
    let echo = Frame::unsequenced(node(DRAIN), 0, Ack::cumulative(5));
    assert!(rig.exchange(&echo, NOW).await.is_empty());
    assert!(rig.receiver.next_config_due().is_some());
    let node_ack = Frame::unsequenced(node(DRAIN), 1, Ack::cumulative(1));
    assert!(rig.exchange(&node_ack, NOW).await.is_empty());
    assert_eq!(rig.receiver.next_config_due(), None, "acknowledged");
    assert!(rig.receiver.due_configs(resend_at + push_max()).is_empty());

    // A resent Hello is not a new session; a reboot is.
    rig.exchange(
        &Frame::reliable(node(DRAIN), 1, with_config(DeviceKind::Drainage)),
        NOW,
    )
    .await;
    assert!(rig.receiver.due_configs(t0).is_empty());
    rig.exchange(&telemetry_frame(DRAIN, 2, Stamp::Unix(NOW), 1.0), NOW)
        .await;
    rig.exchange(
        &Frame::reliable(node(DRAIN), 1, with_config(DeviceKind::Drainage)),
        NOW,
    )
    .await;
    assert_eq!(configs(&rig.receiver.due_configs(t0))[0].1, 2, "rebooted");
}

fn push_max() -> Duration {
    Duration::from_secs(3_600)
}

#[tokio::test]
async fn settings_go_out_at_first_contact_without_a_hello() {
    let mut rig = Rig::start();
    let t0 = std::time::Instant::now();
    // The gateway restarted; the node kept running and sends a reading.
    rig.exchange(&telemetry_frame(DRAIN, 40, Stamp::Unix(NOW), 1.0), NOW)
        .await;
    assert_eq!(configs(&rig.receiver.due_configs(t0)).len(), 1);
    // Later frames of the same session send nothing more.
    rig.exchange(
        &Frame::unsequenced(node(DRAIN), 40, heartbeat(9_000, 41)),
        NOW,
    )
    .await;
    assert!(rig.receiver.due_configs(t0).is_empty());
    // The lift has no settings: nothing for it.
    rig.exchange(&telemetry_frame(LIFT, 7, Stamp::Unix(NOW), 1.0), NOW)
        .await;
    assert!(rig.receiver.due_configs(t0).is_empty());
}

#[tokio::test]
async fn a_node_without_the_config_capability_is_not_sent_settings() {
    let mut rig = Rig::start();
    rig.boot(DRAIN, DeviceKind::Drainage).await;
    let t0 = std::time::Instant::now();
    assert!(rig.receiver.due_configs(t0).is_empty());
    assert_eq!(rig.receiver.next_config_due(), None);
}

#[tokio::test]
async fn a_config_frame_heard_on_the_line_is_the_gateways_own_echo() {
    let mut rig = Rig::start();
    let config = Config {
        settings: drain_settings(),
    };
    let echo = Frame::reliable(node(DRAIN), 1, config);
    assert!(rig.hear(&echo, NOW).is_empty());
}
