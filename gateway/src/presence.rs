//! Edge-side offline detection (spec §5, §12): each configured device is
//! `online` from its first reading, and declared `offline` when nothing has
//! arrived for its grace period (`grace_s`, default 3 x
//! `expected_interval_s`), or at once when its link reports it unreachable
//! (a Modbus slave that stopped answering), with the link's reason.
//! Transitions are published as the device's retained `status` and as the
//! `offline` alarm (raised when declared offline, cleared on the next
//! reading). The reason says whether the device went silent, its link is
//! down, or the gateway itself was down past the device's deadline. State
//! taken back after a restart ([`PresenceBook::restore`]) keeps devices
//! online or offline (with their alarm) instead of `unknown`.
//!
//! Time comes from the caller, so the book is pure and testable; the task
//! around it only feeds observations and ticks. It never invents readings
//! for unknown devices.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::reading::{AlarmId, Body, BoundedText, EventBody, Reading, StatusBody};
use retrofit_protocols::{
    EventName, EventState, Id, KnownEvent, Presence, Severity, Source, Timestamp,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::accepted::AcceptedReadings;
use crate::devices::Device;
use crate::intake::{record_of, Intake, Submission};
use crate::upkeep::rules::task::RulesFeed;

struct Tracked {
    device: Arc<Device>,
    state: Presence,
    since: Timestamp,
    last_seen: Option<Timestamp>,
    /// When the device is declared offline without a new reading.
    deadline: Timestamp,
    /// The active `offline` alarm.
    alarm: Option<AlarmId>,
}

/// A presence change to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub device: Id,
    pub state: Presence,
    pub at: Timestamp,
}

/// Presence of every configured device.
pub struct PresenceBook {
    site: Id,
    devices: HashMap<Id, Tracked>,
    /// Links whose source (port, broker) is unreachable.
    links_down: HashSet<Id>,
    /// When this book (the gateway) started.
    started: Timestamp,
}

impl PresenceBook {
    /// Every device starts `unknown`, due offline one grace after `now`.
    pub fn new(site: Id, devices: &[Arc<Device>], now: Timestamp) -> Self {
        let devices = devices
            .iter()
            .map(|d| {
                let t = Tracked {
                    device: d.clone(),
                    state: Presence::Unknown,
                    since: now,
                    last_seen: None,
                    deadline: Timestamp(now.0 + d.grace_ms()),
                    alarm: None,
                };
                (d.id.clone(), t)
            })
            .collect();
        Self {
            site,
            devices,
            links_down: HashSet::new(),
            started: now,
        }
    }

    /// Takes back a device's state from before a restart: its last
    /// reading, and its last published presence with the active `offline`
    /// alarm, if any.
    pub fn restore(
        &mut self,
        device: &Id,
        last_seen: Option<Timestamp>,
        presence: Option<(Presence, Timestamp)>,
        alarm: Option<AlarmId>,
    ) {
        let Some(t) = self.devices.get_mut(device) else {
            return;
        };
        t.last_seen = last_seen;
        if let Some((state, since)) = presence {
            t.state = state;
            t.since = since;
        }
        if t.state == Presence::Offline {
            t.alarm = alarm;
        }
    }

    /// Records whether `link` can reach its devices.
    pub fn set_link(&mut self, link: &Id, up: bool) {
        if up {
            self.links_down.remove(link);
        } else {
            self.links_down.insert(link.clone());
        }
    }

    /// Why `t` is declared offline.
    fn reason(&self, t: &Tracked) -> String {
        let grace = t.device.grace_ms();
        if self.links_down.contains(&t.device.link) {
            return format!("link down: {} unreachable", t.device.link);
        }
        match t.last_seen {
            Some(l) if l.0 + grace < self.started.0 => {
                format!("gateway was down: no reading since {l}")
            }
            _ => format!("silent: no reading for {} s", grace / 1000),
        }
    }

    /// A reading of `device` measured at `ts` arrived at `now`.
    pub fn observe(&mut self, device: &Id, ts: Timestamp, now: Timestamp) -> Vec<Reading> {
        let Some(t) = self.devices.get_mut(device) else {
            return Vec::new();
        };
        t.last_seen = Some(t.last_seen.map_or(ts, |l| l.max(ts)));
        t.deadline = Timestamp(now.0 + t.device.grace_ms());
        if t.state == Presence::Online {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(alarm) = t.alarm.take() {
            out.push(offline_event(
                &self.site,
                t,
                EventState::Cleared,
                alarm,
                now,
            ));
        }
        t.state = Presence::Online;
        t.since = now;
        out.push(status(&self.site, t, "reporting", now));
        out
    }

    /// The link that reaches `device` reports it unreachable (e.g. a
    /// Modbus slave that stopped answering): offline now, with `reason`,
    /// until its next reading.
    pub fn unreachable(&mut self, device: &Id, reason: &str, now: Timestamp) -> Vec<Reading> {
        match self.devices.get_mut(device) {
            Some(t) if t.state != Presence::Offline => {
                t.deadline = now;
                declare_offline(&self.site, t, reason, now)
            }
            _ => Vec::new(),
        }
    }

    /// Declares offline every device whose deadline has passed.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Reading> {
        let due: Vec<Id> = self
            .devices
            .values()
            .filter(|t| t.state != Presence::Offline && now >= t.deadline)
            .map(|t| t.device.id.clone())
            .collect();
        let mut out = Vec::new();
        for id in due {
            let Some(reason) = self.devices.get(&id).map(|t| self.reason(t)) else {
                continue;
            };
            if let Some(t) = self.devices.get_mut(&id) {
                out.extend(declare_offline(&self.site, t, &reason, now));
            }
        }
        out
    }
}

/// Marks `t` offline since its deadline and raises its `offline` alarm.
fn declare_offline(site: &Id, t: &mut Tracked, reason: &str, now: Timestamp) -> Vec<Reading> {
    t.state = Presence::Offline;
    t.since = t.deadline;
    let event = EventName::from(KnownEvent::Offline);
    let alarm = AlarmId::for_raise(&t.device.id, &event, now.0 as u64 * 1000);
    t.alarm = Some(alarm.clone());
    vec![
        status(site, t, reason, now),
        offline_event(site, t, EventState::Raised, alarm, now),
    ]
}

/// A reading the gateway emits about `t`; `slot` keeps the status and the
/// alarm of one transition apart.
fn gateway_reading(site: &Id, t: &Tracked, now: Timestamp, slot: u64, body: Body) -> Reading {
    Reading {
        site: site.clone(),
        kind: t.device.kind,
        device: t.device.id.clone(),
        connector: None,
        ts: now,
        // Derived from the gateway clock: unique per device and transition.
        seq: now.0 as u64 * 1000 + slot,
        source: Source::Gateway,
        body,
    }
}

fn status(site: &Id, t: &Tracked, reason: &str, now: Timestamp) -> Reading {
    gateway_reading(
        site,
        t,
        now,
        0,
        Body::Status(StatusBody {
            status: t.state,
            since: t.since,
            last_seen: t.last_seen,
            reason: BoundedText::lossy(reason),
        }),
    )
}

fn offline_event(
    site: &Id,
    t: &Tracked,
    state: EventState,
    alarm_id: AlarmId,
    now: Timestamp,
) -> Reading {
    let event = EventName::from(KnownEvent::Offline);
    gateway_reading(
        site,
        t,
        now,
        1,
        Body::Event(EventBody {
            alarm_id,
            event,
            severity: Severity::Major,
            state,
            detail: BoundedText::lossy(match state {
                EventState::Raised => "device stopped reporting",
                _ => "device reporting again",
            }),
        }),
    )
}

/// What the links tell the presence task.
enum Observation {
    Seen(Id, Timestamp),
    Link(Id, bool),
    Unreachable(Id, String),
}

/// Feeds a [`PresenceBook`] (and the gateway-side rules, when set) from
/// the links and publishes its transitions.
#[derive(Clone)]
pub struct PresenceFeed {
    tx: mpsc::UnboundedSender<Observation>,
    accepted: Arc<AcceptedReadings>,
}

impl PresenceFeed {
    /// Reports that `device` was heard from.
    pub fn seen(&self, device: &Id, ts: Timestamp) {
        let _ = self.tx.send(Observation::Seen(device.clone(), ts));
    }

    /// Reports whether `link` can reach its devices (connected to its
    /// broker, its port open).
    pub fn link(&self, link: &Id, up: bool) {
        let _ = self.tx.send(Observation::Link(link.clone(), up));
    }

    /// Reports that the link cannot reach `device`, and why.
    pub fn unreachable(&self, device: &Id, reason: &str) {
        let _ = self
            .tx
            .send(Observation::Unreachable(device.clone(), reason.to_string()));
    }

    /// Reports an accepted reading: the device was seen, and the rules
    /// (when given) look at it.
    pub fn accepted(&self, reading: Reading) {
        self.accepted.push(reading);
    }
}

/// Starts the presence task; it stops with `stop`. It hands the readings
/// the links accepted on to `rules`, a batch at a time.
pub fn start(
    mut book: PresenceBook,
    intake: Intake,
    rules: Option<RulesFeed>,
    stop: CancellationToken,
) -> (PresenceFeed, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Observation>();
    let accepted = Arc::new(AcceptedReadings::default());
    let feed = PresenceFeed {
        tx,
        accepted: accepted.clone(),
    };
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let readings = tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => book.tick(crate::clock::now()),
                batch = accepted.take() => {
                    let now = crate::clock::now();
                    let seen = batch.iter().flat_map(|r| book.observe(&r.device, r.ts, now)).collect();
                    if let Some(rules) = &rules {
                        rules.observe(batch).await;
                    }
                    seen
                }
                Some(seen) = rx.recv() => match seen {
                    Observation::Seen(device, ts) => book.observe(&device, ts, crate::clock::now()),
                    Observation::Link(link, up) => {
                        book.set_link(&link, up);
                        Vec::new()
                    }
                    Observation::Unreachable(device, why) => book.unreachable(&device, &why, crate::clock::now()),
                },
            };
            if readings.is_empty() {
                continue;
            }
            let records = readings.iter().map(record_of).collect();
            if intake.submit(Submission::new(records, None)).await.is_err() {
                return;
            }
        }
    });
    (feed, task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use retrofit_protocols::DeviceKind;

    fn book() -> (PresenceBook, Id) {
        let id = Id::parse("park-1").unwrap();
        let d = Arc::new(Device {
            id: id.clone(),
            kind: DeviceKind::Parking,
            link: Id::parse("ns").unwrap(),
            expected_interval_s: 60,
            grace_s: 180,
        });
        (
            PresenceBook::new(Id::parse("s").unwrap(), &[d], Timestamp(0)),
            id,
        )
    }

    fn states(readings: &[Reading]) -> Vec<String> {
        readings
            .iter()
            .map(|r| match &r.body {
                Body::Status(s) => format!("status:{}", s.status.as_str()),
                Body::Event(e) => format!("{}:{}", e.event, e.state.as_str()),
                Body::Telemetry(_) => "telemetry".into(),
            })
            .collect()
    }

    #[test]
    fn online_on_first_reading_offline_after_grace_and_back() {
        let (mut b, id) = book();
        assert_eq!(
            states(&b.observe(&id, Timestamp(10), Timestamp(10))),
            ["status:online"]
        );
        assert!(b.observe(&id, Timestamp(20), Timestamp(20)).is_empty());
        assert!(
            b.tick(Timestamp(20 + 179_999)).is_empty(),
            "still within 3 x 60 s"
        );
        let off = b.tick(Timestamp(20 + 180_000));
        assert_eq!(states(&off), ["status:offline", "offline:raised"]);
        assert!(b.tick(Timestamp(400_000)).is_empty(), "declared once");
        let back = b.observe(&id, Timestamp(500_000), Timestamp(500_000));
        assert_eq!(states(&back), ["offline:cleared", "status:online"]);
        let (Body::Event(raised), Body::Event(cleared)) = (&off[1].body, &back[0].body) else {
            panic!("events")
        };
        assert_eq!(
            raised.alarm_id, cleared.alarm_id,
            "one alarm from raise to clear"
        );
    }

    #[test]
    fn a_device_that_never_reports_goes_offline() {
        let (mut b, _) = book();
        assert_eq!(
            states(&b.tick(Timestamp(180_000))),
            ["status:offline", "offline:raised"]
        );
    }

    fn reason(readings: &[Reading]) -> String {
        readings
            .iter()
            .find_map(|r| match &r.body {
                Body::Status(s) => Some(s.reason.as_str().to_string()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn the_reason_says_silent_link_down_or_gateway_down() {
        let (mut b, id) = book();
        b.observe(&id, Timestamp(0), Timestamp(0));
        assert_eq!(
            reason(&b.tick(Timestamp(180_000))),
            "silent: no reading for 180 s"
        );
        let (mut b, id) = book();
        b.observe(&id, Timestamp(0), Timestamp(0));
        b.set_link(&Id::parse("ns").unwrap(), false);
        assert_eq!(
            reason(&b.tick(Timestamp(180_000))),
            "link down: ns unreachable"
        );
        // Restarted at 1 h; last reading at 0: its deadline passed while
        // the gateway was down.
        let (b, id) = book();
        let mut b2 = PresenceBook::new(
            Id::parse("s").unwrap(),
            &[b.devices[&id].device.clone()],
            Timestamp(3_600_000),
        );
        b2.restore(
            &id,
            Some(Timestamp(0)),
            Some((Presence::Online, Timestamp(0))),
            None,
        );
        assert!(
            b2.tick(Timestamp(3_600_000 + 179_999)).is_empty(),
            "online, a fresh grace"
        );
        let off = b2.tick(Timestamp(3_600_000 + 180_000));
        assert_eq!(
            reason(&off),
            "gateway was down: no reading since 1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn an_offline_device_stays_offline_across_a_restart_with_its_alarm() {
        let (b, id) = book();
        let device = b.devices[&id].device.clone();
        let mut b = PresenceBook::new(Id::parse("s").unwrap(), &[device], Timestamp(1_000_000));
        let alarm = AlarmId::parse("park-1.offline.7").unwrap();
        b.restore(
            &id,
            Some(Timestamp(0)),
            Some((Presence::Offline, Timestamp(180_000))),
            Some(alarm.clone()),
        );
        assert!(
            b.tick(Timestamp(5_000_000)).is_empty(),
            "not declared twice"
        );
        let back = b.observe(&id, Timestamp(5_000_000), Timestamp(5_000_000));
        assert_eq!(states(&back), ["offline:cleared", "status:online"]);
        let Body::Event(e) = &back[0].body else {
            panic!()
        };
        assert_eq!(
            e.alarm_id, alarm,
            "the alarm from before the restart is cleared"
        );
    }

    #[test]
    fn a_link_can_declare_a_device_unreachable_with_its_reason() {
        let (mut b, id) = book();
        b.observe(&id, Timestamp(10), Timestamp(10));
        let off = b.unreachable(&id, "modbus timeout: no answer", Timestamp(500));
        assert_eq!(states(&off), ["status:offline", "offline:raised"]);
        let Body::Status(status) = &off[0].body else {
            panic!("status")
        };
        assert_eq!(status.reason.as_str(), "modbus timeout: no answer");
        assert_eq!(status.since, Timestamp(500));
        assert!(
            b.unreachable(&id, "again", Timestamp(600)).is_empty(),
            "once"
        );
        assert!(
            b.tick(Timestamp(10_000_000)).is_empty(),
            "not declared twice"
        );
        let back = b.observe(&id, Timestamp(700), Timestamp(700));
        assert_eq!(states(&back), ["offline:cleared", "status:online"]);
    }

    #[test]
    fn unknown_devices_are_ignored() {
        let (mut b, _) = book();
        assert!(b
            .observe(&Id::parse("ghost").unwrap(), Timestamp(1), Timestamp(1))
            .is_empty());
    }
}
