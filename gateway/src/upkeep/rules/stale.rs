//! The `stale` rule's clock side: on each tick, a device whose watched
//! metric has not arrived for `after_s` (on the gateway's clock, counted
//! from its last arrival or from when the book started) gets a minor
//! `stale` alarm, timestamped with the tick; the metric arriving again
//! clears it (in [`RuleBook::observe`]).

use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{Id, KnownEvent, Severity, Source, Timestamp};

use super::config::RuleKind;
use super::RuleBook;

impl RuleBook {
    /// The `stale` alarms due at `now` for devices of `site`.
    pub fn tick(&mut self, site: &Id, now: Timestamp) -> Vec<Reading> {
        let now_ms = now.as_millis();
        let started = *self.started.get_or_insert(now_ms);
        let mut due = Vec::new();
        for device in self.devices.values() {
            for rule in self.rules.iter().filter(|r| r.applies_to(device)) {
                let (RuleKind::Stale { after_s }, Some(metric)) = (rule.what, &rule.metric) else {
                    continue;
                };
                let key = (device.id.clone(), KnownEvent::Stale);
                let last = self
                    .fresh
                    .get(&(device.id.clone(), metric.clone()))
                    .copied()
                    .unwrap_or(started);
                if now_ms - last >= i64::from(after_s) * 1000 && !self.active.contains_key(&key) {
                    due.push((device.clone(), format!("no {metric} for {after_s} s")));
                }
            }
        }
        let mut out = Vec::new();
        for (device, detail) in due {
            let tick = Reading {
                site: site.clone(),
                kind: device.kind,
                device: device.id.clone(),
                connector: None,
                ts: now,
                seq: now_ms as u64,
                source: Source::Gateway,
                body: Body::Telemetry(Vec::new()),
            };
            out.extend(self.transition(
                &tick,
                (KnownEvent::Stale, 0),
                Some(Severity::Minor),
                &detail,
            ));
        }
        out
    }
}
