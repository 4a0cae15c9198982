//! The gateway's Config frames (EDGE_LINK.md §6): each configured node
//! with settings is sent them in one reliable Config frame whenever a
//! session with it starts (its Hello, or the first frame the gateway hears
//! from it, e.g. after the gateway restarted with a changed config), and
//! the frame is resent until the node acknowledges it: after
//! [`FIRST_RESEND`], doubling up to [`MAX_RESEND`], at most [`MAX_SENDS`]
//! times, after which the gateway gives up until the node's next session.
//! The node's next Heartbeat that reports settings is compared with the
//! configuration, once per Config.
//!
//! Every node has its own schedule, so a silent node never delays another.
//! Pure state: the caller passes the (monotonic) time and does the I/O.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use retrofit_protocols::edge::{Ack, Config, Frame, NodeId, Settings};
use retrofit_protocols::Value;

/// First resend of an unacknowledged Config.
pub const FIRST_RESEND: Duration = Duration::from_secs(1);
/// Longest pause between two sends.
pub const MAX_RESEND: Duration = Duration::from_secs(30);
/// Transmissions of one Config before the gateway gives up.
pub const MAX_SENDS: u32 = 8;

/// One node's Config on its way.
#[derive(Debug, Clone, Copy)]
struct Pending {
    seq: u32,
    sends: u32,
    /// `None`: at the next call of [`ConfigPush::due`], whatever the time.
    due: Option<Instant>,
}

/// What is known about the settings of one node.
#[derive(Debug, Default)]
struct NodePush {
    /// The gateway's own sequence for this node's Config frames.
    last_seq: u32,
    pending: Option<Pending>,
    /// Acknowledged; the next reporting Heartbeat is checked.
    check_report: bool,
}

/// How a node's report compares with its configured settings.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportCheck {
    /// Every configured setting is reported with its configured value.
    Matches,
    /// Settings reported with another value, or not at all (as
    /// `key: node value, configured value`).
    Differs(Vec<String>),
}

/// The Config frames of one link.
#[derive(Debug, Default)]
pub struct ConfigPush {
    nodes: HashMap<NodeId, NodePush>,
}

impl ConfigPush {
    /// A session with `node` started: its settings go out at the next call
    /// of [`Self::due`] (if `settings` has any), replacing a Config still
    /// unacknowledged.
    pub fn start(&mut self, node: NodeId, settings: Option<&Settings>) {
        if settings.is_none_or(Settings::is_empty) {
            return;
        }
        let push = self.nodes.entry(node).or_default();
        push.last_seq = push.last_seq.wrapping_add(1).max(1);
        push.pending = Some(Pending {
            seq: push.last_seq,
            sends: 0,
            due: None,
        });
        push.check_report = false;
    }

    /// The Config frames due at `now` (first sends and resends), each
    /// rescheduled; a Config sent [`MAX_SENDS`] times is given up (logged).
    pub fn due(&mut self, now: Instant, settings: &HashMap<NodeId, Settings>) -> Vec<Frame> {
        let mut frames = Vec::new();
        for (node, push) in &mut self.nodes {
            let due = |p: &&mut Pending| p.due.is_none_or(|at| at <= now);
            let Some(pending) = push.pending.as_mut().filter(due) else {
                continue;
            };
            let Some(node_settings) = settings.get(node) else {
                push.pending = None;
                continue;
            };
            if pending.sends >= MAX_SENDS {
                tracing::warn!(node = %node, sends = pending.sends, "node never acknowledged its settings; given up until its next Hello");
                push.pending = None;
                continue;
            }
            pending.sends += 1;
            pending.due = Some(now + resend_delay(pending.sends));
            let config = Config {
                settings: node_settings.clone(),
            };
            frames.push(Frame::reliable(*node, pending.seq, config));
        }
        frames
    }

    /// When [`Self::due`] next has a resend to make (first sends are made
    /// by the call that follows [`Self::start`]).
    pub fn next_due(&self) -> Option<Instant> {
        let pending = self.nodes.values().filter_map(|p| p.pending);
        pending.filter_map(|p| p.due).min()
    }

    /// An Ack from `node`: true when it acknowledges the Config on its way.
    pub fn acked(&mut self, node: NodeId, ack: &Ack) -> bool {
        let Some(push) = self.nodes.get_mut(&node) else {
            return false;
        };
        match push.pending {
            Some(p) if ack.acknowledges(p.seq) => {
                push.pending = None;
                push.check_report = true;
                true
            }
            _ => false,
        }
    }

    /// The first settings report from `node` after its Config was
    /// acknowledged, compared with `configured`; `None` otherwise.
    pub fn reported(
        &mut self,
        node: NodeId,
        report: &Settings,
        configured: Option<&Settings>,
    ) -> Option<ReportCheck> {
        let push = self.nodes.get_mut(&node).filter(|p| p.check_report)?;
        push.check_report = false;
        Some(compare(report, configured?))
    }
}

/// Pause after the `sends`-th transmission.
fn resend_delay(sends: u32) -> Duration {
    FIRST_RESEND
        .saturating_mul(1 << sends.saturating_sub(1).min(16))
        .min(MAX_RESEND)
}

/// Values are compared at the node's precision: levels are f32 there.
fn compare(report: &Settings, configured: &Settings) -> ReportCheck {
    let differs: Vec<String> = configured
        .pairs()
        .iter()
        .filter(|(key, want)| !same(report.get(key.as_str()), want))
        .map(|(key, want)| match report.get(key.as_str()) {
            Some(got) => format!("{key}: node {}, configured {}", text(got), text(want)),
            None => format!("{key}: not reported, configured {}", text(want)),
        })
        .collect();
    match differs.is_empty() {
        true => ReportCheck::Matches,
        false => ReportCheck::Differs(differs),
    }
}

fn same(got: Option<&Value>, want: &Value) -> bool {
    match (got, want) {
        (Some(Value::Number(a)), Value::Number(b)) => *a as f32 == *b as f32,
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Number(x) => format!("{}", *x as f32),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::edge::Setting;

    use super::*;

    fn node(n: u16) -> NodeId {
        NodeId::new(n).unwrap()
    }

    fn settings(warning_m: f64) -> HashMap<NodeId, Settings> {
        let mut s = Settings::new();
        s.push_number(Setting::WarningM, warning_m).unwrap();
        s.push_number(Setting::ReportIntervalS, 60.0).unwrap();
        [(node(1), s)].into()
    }

    fn seqs(frames: &[Frame]) -> Vec<(u16, u32)> {
        frames.iter().map(|f| (f.node.get(), f.seq)).collect()
    }

    #[test]
    fn sent_at_once_then_resent_with_backoff_until_acknowledged() {
        let configured = settings(0.5);
        let mut push = ConfigPush::default();
        let t0 = Instant::now();
        push.start(node(1), configured.get(&node(1)));
        push.start(node(2), None);
        let first = push.due(t0, &configured);
        assert_eq!(seqs(&first), [(1, 1)]);
        assert!(first[0].ack_requested);
        assert_eq!(push.next_due(), Some(t0 + FIRST_RESEND));
        assert!(push
            .due(t0 + Duration::from_millis(999), &configured)
            .is_empty());
        assert_eq!(seqs(&push.due(t0 + FIRST_RESEND, &configured)), [(1, 1)]);
        assert_eq!(push.next_due(), Some(t0 + FIRST_RESEND * 3));
        assert!(!push.acked(node(1), &Ack::cumulative(0)));
        assert!(push.acked(node(1), &Ack::cumulative(1)));
        assert_eq!(push.next_due(), None);
        assert!(push.due(t0 + MAX_RESEND * 10, &configured).is_empty());
    }

    #[test]
    fn a_node_that_never_answers_is_given_up_after_max_sends() {
        let configured = settings(0.5);
        let mut push = ConfigPush::default();
        let mut now = Instant::now();
        push.start(node(1), configured.get(&node(1)));
        let mut sends = 0;
        sends += push.due(now, &configured).len();
        while let Some(due) = push.next_due() {
            now = now.max(due);
            sends += push.due(now, &configured).len();
        }
        assert_eq!(sends, MAX_SENDS as usize);
        push.start(node(1), configured.get(&node(1)));
        assert_eq!(seqs(&push.due(now, &configured)), [(1, 2)], "new session");
    }

    #[test]
    fn the_report_after_the_ack_is_compared_once() {
        let configured = settings(0.8);
        let mut push = ConfigPush::default();
        let now = Instant::now();
        push.start(node(1), configured.get(&node(1)));
        push.due(now, &configured);
        let mut report = Settings::new();
        report
            .push_number(Setting::WarningM, f64::from(0.8f32))
            .unwrap();
        assert_eq!(
            push.reported(node(1), &report, configured.get(&node(1))),
            None
        );
        push.acked(node(1), &Ack::cumulative(1));
        let check = push.reported(node(1), &report, configured.get(&node(1)));
        assert_eq!(
            check,
            Some(ReportCheck::Differs(vec![
                "report_interval_s: not reported, configured 60".into()
            ]))
        );
        assert_eq!(
            push.reported(node(1), &report, configured.get(&node(1))),
            None
        );
        push.start(node(1), configured.get(&node(1)));
        push.due(now, &configured);
        push.acked(node(1), &Ack::cumulative(2));
        report.push_number(Setting::ReportIntervalS, 60.0).unwrap();
        let check = push.reported(node(1), &report, configured.get(&node(1)));
        assert_eq!(check, Some(ReportCheck::Matches));
    }
}
