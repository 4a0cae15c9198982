//! When a node's reading was measured, in wall-clock time (EDGE_LINK.md §5,
//! Stamp).
//!
//! A node that has received a TimeSync stamps Unix time, used as is. Before
//! that it stamps its uptime, which the gateway maps through the node's
//! boot time: its receive time of a Heartbeat minus the uptime the
//! Heartbeat reports. The estimate is the earliest such boot time seen
//! (the one with the least line and queueing delay), so resends of one
//! frame map to the same `ts`; it is replaced when a Heartbeat disagrees
//! by more than [`REESTIMATE_MS`] (a clock step or a reboot). Without any
//! Heartbeat yet, the receive time stands in. A mapped time is never later
//! than the receive time. Pure: the caller passes the time.

use retrofit_protocols::edge::Stamp;
use retrofit_protocols::Timestamp;

/// A boot-time estimate further off than this is replaced, not refined.
pub const REESTIMATE_MS: u64 = 2_000;

/// The wall-clock time of one node's boot, as far as the gateway knows.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeClock {
    boot: Option<Timestamp>,
}

impl NodeClock {
    /// A Heartbeat reporting `uptime_ms` arrived at `now`.
    pub fn heartbeat(&mut self, uptime_ms: u64, now: Timestamp) {
        let uptime = i64::try_from(uptime_ms).unwrap_or(i64::MAX);
        let estimate = Timestamp::from_millis(now.as_millis().saturating_sub(uptime));
        self.boot = Some(match self.boot {
            Some(boot) if estimate.as_millis().abs_diff(boot.as_millis()) <= REESTIMATE_MS => {
                boot.min(estimate)
            }
            _ => estimate,
        });
    }

    /// The wall-clock time of `stamp`, for a frame received at `now`.
    pub fn resolve(&self, stamp: Stamp, now: Timestamp) -> Timestamp {
        match (stamp, self.boot) {
            (Stamp::Unix(ts), _) => ts,
            (Stamp::Uptime(ms), Some(boot)) => {
                let uptime = i64::try_from(ms).unwrap_or(i64::MAX);
                Timestamp::from_millis(boot.as_millis().saturating_add(uptime)).min(now)
            }
            (Stamp::Uptime(_), None) => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_795_867_200_000);

    #[test]
    fn unix_stamps_are_kept_and_uptime_needs_a_heartbeat() {
        let mut clock = NodeClock::default();
        let unix = Timestamp(1_795_867_100_000);
        assert_eq!(clock.resolve(Stamp::Unix(unix), NOW), unix);
        assert_eq!(clock.resolve(Stamp::Uptime(5_000), NOW), NOW);
        clock.heartbeat(60_000, NOW);
        assert_eq!(
            clock.resolve(Stamp::Uptime(55_000), NOW),
            Timestamp(NOW.0 - 5_000)
        );
    }

    #[test]
    fn estimate_keeps_the_least_delayed_heartbeat_and_follows_reboots() {
        let mut clock = NodeClock::default();
        clock.heartbeat(10_000, Timestamp(NOW.0 + 30));
        clock.heartbeat(20_000, Timestamp(NOW.0 + 10_005));
        assert_eq!(
            clock.resolve(Stamp::Uptime(20_000), Timestamp(NOW.0 + 50_000)),
            Timestamp(NOW.0 + 10_005)
        );
        clock.heartbeat(1_000, Timestamp(NOW.0 + 60_000)); // rebooted
        assert_eq!(
            clock.resolve(Stamp::Uptime(1_000), Timestamp(NOW.0 + 60_000)),
            Timestamp(NOW.0 + 60_000)
        );
    }

    #[test]
    fn never_in_the_future_and_never_overflows() {
        let mut clock = NodeClock::default();
        clock.heartbeat(0, NOW);
        assert_eq!(clock.resolve(Stamp::Uptime(u64::MAX), NOW), NOW);
        clock.heartbeat(u64::MAX, NOW);
        assert!(clock.resolve(Stamp::Uptime(7), NOW) <= NOW);
    }
}
