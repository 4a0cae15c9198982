//! Supervision of the daemon's long-running tasks (links, outputs): each
//! runs as a task of its own and is restarted, with capped exponential
//! backoff and jitter, when it ends unexpectedly (a panic, an error, or a
//! return while the gateway is not stopping). Every failure is logged at
//! error level and, for links, reported as [`LinkHealth`], which
//! [`LinkAlarms`] turns into the gateway's `link_failure` alarm and its
//! status reason.
//!
//! A task counts as recovered once a restarted run has lasted
//! [`RestartPolicy::healthy_after`]; the backoff restarts from its shortest
//! pause then. On stop a task gets [`RestartPolicy::stop_deadline`] to end
//! by itself (a link may be blocked on a stopped intake) and is then
//! aborted: what a link had not handed to the intake was never
//! acknowledged.
//!
//! The supervisor never restarts anything while the gateway stops, and
//! never touches a task's data.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use retrofit_protocols::reading::{Body, BoundedText, Reading, StatusBody};
use retrofit_protocols::{EventState, KnownEvent, Presence, Severity};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::intake::GatewayIdentity;

/// How a link is restarted.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    /// Pause before each restart (grows, jittered, capped).
    pub backoff: Backoff,
    /// A run lasting this long counts as recovered.
    pub healthy_after: Duration,
    /// How long a stopping link may take before it is aborted.
    pub stop_deadline: Duration,
}

impl Default for RestartPolicy {
    /// 1 s doubling up to 60 s; healthy after 30 s; 5 s to stop.
    fn default() -> Self {
        Self {
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(60)),
            healthy_after: Duration::from_secs(30),
            stop_deadline: Duration::from_secs(5),
        }
    }
}

/// What happened to a supervised task (a link, by its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkHealth {
    /// The task ended unexpectedly; it restarts in `restart_in`.
    Failed {
        link: String,
        reason: String,
        restart_in: Duration,
    },
    /// A restarted run has lasted [`RestartPolicy::healthy_after`].
    Recovered { link: String },
}

/// How one run of a supervised task ended by itself: `Err` with the reason
/// it failed.
pub type RunResult = Result<(), String>;

/// How one run of a link ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The gateway is stopping.
    Stopped,
    /// Unexpectedly, for this reason.
    Failed(String),
}

/// Runs the task `name` built by `start` until `stop`, restarting it
/// whenever it ends unexpectedly and reporting to `reports` if given.
pub async fn supervise<F, Fut>(
    name: String,
    mut start: F,
    policy: RestartPolicy,
    reports: Option<mpsc::UnboundedSender<LinkHealth>>,
    stop: CancellationToken,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = RunResult> + Send + 'static,
{
    let mut supervisor = Supervisor {
        name,
        backoff: policy.backoff.clone(),
        policy,
        reports,
        stop,
        failing: false,
    };
    loop {
        let reason = match supervisor.run_once(tokio::spawn(start())).await {
            Ended::Stopped => return,
            Ended::Failed(reason) => reason,
        };
        if !supervisor.pause_after(reason).await {
            return;
        }
    }
}

struct Supervisor {
    name: String,
    policy: RestartPolicy,
    backoff: Backoff,
    reports: Option<mpsc::UnboundedSender<LinkHealth>>,
    stop: CancellationToken,
    /// A failure was reported and no recovery since.
    failing: bool,
}

impl Supervisor {
    /// Waits for one run to end; marks it healthy once it has lasted.
    async fn run_once(&mut self, mut run: JoinHandle<RunResult>) -> Ended {
        let healthy = tokio::time::sleep(self.policy.healthy_after);
        tokio::pin!(healthy);
        let mut proven = false;
        loop {
            tokio::select! {
                ended = &mut run => return self.ended(ended),
                () = &mut healthy, if !proven => {
                    proven = true;
                    self.recovered();
                }
                () = self.stop.cancelled() => return self.stop_run(run).await,
            }
        }
    }

    /// Lets a stopping run end by itself within the deadline, else aborts
    /// it.
    async fn stop_run(&self, mut run: JoinHandle<RunResult>) -> Ended {
        let Ok(result) = tokio::time::timeout(self.policy.stop_deadline, &mut run).await else {
            tracing::warn!(task = %self.name, deadline = ?self.policy.stop_deadline, "task did not stop in time; aborted (nothing a link held was acknowledged)");
            run.abort();
            return Ended::Stopped;
        };
        self.ended(result)
    }

    /// How a run ended: a return counts as a failure unless the gateway
    /// is stopping; a failure while stopping is only logged.
    fn ended(&self, result: Result<RunResult, JoinError>) -> Ended {
        let stopping = self.stop.is_cancelled();
        let reason = match result {
            Ok(Ok(())) if stopping => return Ended::Stopped,
            Ok(Ok(())) => "returned without being stopped".to_string(),
            Ok(Err(reason)) => reason,
            Err(e) if e.is_panic() => panic_reason(e),
            Err(e) => e.to_string(),
        };
        if stopping {
            tracing::error!(task = %self.name, reason = %reason, "task failed while stopping");
            return Ended::Stopped;
        }
        Ended::Failed(reason)
    }

    fn recovered(&mut self) {
        self.backoff.reset();
        if std::mem::take(&mut self.failing) {
            tracing::info!(task = %self.name, "restarted task is running again");
            self.report(LinkHealth::Recovered {
                link: self.name.clone(),
            });
        }
    }

    fn report(&self, health: LinkHealth) {
        if let Some(reports) = &self.reports {
            let _ = reports.send(health);
        }
    }

    /// Reports the failure and waits out the backoff; false if the gateway
    /// stopped meanwhile.
    async fn pause_after(&mut self, reason: String) -> bool {
        let wait = self.backoff.next_delay(None);
        tracing::error!(task = %self.name, reason = %reason, restart_in = ?wait, "task failed; restarting");
        self.failing = true;
        self.report(LinkHealth::Failed {
            link: self.name.clone(),
            reason,
            restart_in: wait,
        });
        tokio::select! {
            () = self.stop.cancelled() => false,
            () = tokio::time::sleep(wait) => true,
        }
    }
}

/// The message a panic carried.
fn panic_reason(e: JoinError) -> String {
    let payload = e.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text payload".to_string());
    format!("panicked: {message}")
}

/// The gateway's view of its links' failures: one `link_failure` alarm
/// (major) per failing link, raised at its first failure and cleared at
/// its recovery, and the gateway status reason naming the failing links.
#[derive(Debug, Default)]
pub struct LinkAlarms {
    /// Failing links: raise seq of the alarm, latest reason.
    failing: BTreeMap<String, (u64, String)>,
}

/// The gateway's status reason while every link runs.
pub const RUNNING: &str = "running";

impl LinkAlarms {
    /// The gateway readings `health` calls for: the alarm's raise or clear
    /// (none for a link failing again) and the new status.
    pub fn readings(&mut self, identity: &GatewayIdentity, health: LinkHealth) -> Vec<Reading> {
        let mut readings = Vec::with_capacity(2);
        match health {
            LinkHealth::Failed {
                link,
                reason,
                restart_in,
            } => {
                let detail = format!(
                    "link {link} failed ({reason}); restarting in {:.1} s",
                    restart_in.as_secs_f64()
                );
                match self.failing.get_mut(&link) {
                    Some(known) => known.1 = reason,
                    None => {
                        let (_, seq) = identity.seq.peek();
                        readings.push(link_event(identity, EventState::Raised, seq, &detail));
                        self.failing.insert(link, (seq, reason));
                    }
                }
            }
            LinkHealth::Recovered { link } => {
                let Some((seq, _)) = self.failing.remove(&link) else {
                    return readings;
                };
                let detail = format!("link {link} running again");
                readings.push(link_event(identity, EventState::Cleared, seq, &detail));
            }
        }
        readings.push(identity.reading(Body::Status(StatusBody {
            status: Presence::Online,
            since: crate::clock::now(),
            last_seen: None,
            reason: BoundedText::lossy(&self.reason()),
        })));
        readings
    }

    /// `running`, or which links fail and why.
    pub fn reason(&self) -> String {
        if self.failing.is_empty() {
            return RUNNING.to_string();
        }
        let links: Vec<String> = self
            .failing
            .iter()
            .map(|(link, (_, reason))| format!("{link} ({reason})"))
            .collect();
        format!("link failing, restarting: {}", links.join(", "))
    }
}

fn link_event(identity: &GatewayIdentity, state: EventState, seq: u64, detail: &str) -> Reading {
    identity.event(KnownEvent::LinkFailure, Severity::Major, state, seq, detail)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use retrofit_protocols::reading::EventBody;
    use retrofit_protocols::Id;

    use super::*;
    use crate::clock::SeqClock;

    const LIMIT: Duration = Duration::from_secs(10);

    fn fast() -> RestartPolicy {
        RestartPolicy {
            backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(10)),
            healthy_after: Duration::from_millis(50),
            stop_deadline: Duration::from_millis(100),
        }
    }

    fn link() -> String {
        "ns".to_string()
    }

    async fn next(reports: &mut mpsc::UnboundedReceiver<LinkHealth>) -> LinkHealth {
        tokio::time::timeout(LIMIT, reports.recv())
            .await
            .unwrap()
            .unwrap()
    }

    /// The next report, which must be a failure: (link, reason, restart_in).
    async fn next_failure(
        reports: &mut mpsc::UnboundedReceiver<LinkHealth>,
    ) -> (String, String, Duration) {
        match next(reports).await {
            LinkHealth::Failed {
                link,
                reason,
                restart_in,
            } => (link, reason, restart_in),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    /// Stops the supervisor and waits for it to end.
    async fn stop_and_join(stop: &CancellationToken, supervisor: tokio::task::JoinHandle<()>) {
        stop.cancel();
        tokio::time::timeout(LIMIT, supervisor)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_panicking_link_is_restarted_reported_and_recovers() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let (running_tx, mut running) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (r, s) = (runs.clone(), stop.clone());
        let supervisor = tokio::spawn(supervise(
            link(),
            move || {
                let run = r.fetch_add(1, Ordering::SeqCst);
                let (running, stop) = (running_tx.clone(), s.clone());
                async move {
                    assert!(run > 0, "first run fails");
                    let _ = running.send(run);
                    stop.cancelled().await;
                    Ok(())
                }
            },
            fast(),
            Some(reports_tx),
            stop.clone(),
        ));
        let (failed, reason, _) = next_failure(&mut reports).await;
        assert_eq!(failed, link());
        assert!(reason.contains("first run fails"), "{reason}");
        let run = tokio::time::timeout(LIMIT, running.recv()).await.unwrap();
        assert_eq!(run, Some(1), "restarted once");
        assert_eq!(
            next(&mut reports).await,
            LinkHealth::Recovered { link: link() }
        );
        stop_and_join(&stop, supervisor).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "no restart on stop");
        assert_eq!(reports.recv().await, None, "a stop is no failure");
    }

    #[tokio::test]
    async fn a_link_returning_while_running_is_restarted_with_growing_pauses() {
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let policy = RestartPolicy {
            backoff: Backoff::new(Duration::from_millis(2), Duration::from_millis(8)),
            ..fast()
        };
        let supervisor = tokio::spawn(supervise(
            link(),
            || async { Ok(()) },
            policy,
            Some(reports_tx),
            stop.clone(),
        ));
        let mut pauses = Vec::new();
        for _ in 0..4 {
            let (_, reason, restart_in) = next_failure(&mut reports).await;
            assert_eq!(reason, "returned without being stopped");
            pauses.push(restart_in);
        }
        stop_and_join(&stop, supervisor).await;
        assert!(pauses[0] <= Duration::from_millis(2), "{pauses:?}");
        assert!(pauses[3] >= Duration::from_millis(4), "{pauses:?}");
    }

    #[tokio::test]
    async fn an_erring_task_is_restarted_with_its_error_as_the_reason() {
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let supervisor = tokio::spawn(supervise(
            "influx".to_string(),
            || async { Err("journal database: disk full".to_string()) },
            fast(),
            Some(reports_tx),
            stop.clone(),
        ));
        for _ in 0..2 {
            let (link, reason, _) = next_failure(&mut reports).await;
            assert_eq!(
                (link.as_str(), reason.as_str()),
                ("influx", "journal database: disk full")
            );
        }
        stop_and_join(&stop, supervisor).await;
    }

    #[tokio::test]
    async fn a_link_that_ignores_stop_is_aborted_at_the_deadline() {
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let (dropped_tx, mut dropped) = mpsc::unbounded_channel::<()>();
        let supervisor = tokio::spawn(supervise(
            link(),
            move || {
                let guard = dropped_tx.clone();
                async move {
                    let _guard = guard;
                    std::future::pending::<RunResult>().await
                }
            },
            fast(),
            Some(reports_tx),
            stop.clone(),
        ));
        stop_and_join(&stop, supervisor).await;
        // The aborted run's future was dropped with its sender.
        assert_eq!(
            tokio::time::timeout(LIMIT, dropped.recv()).await.unwrap(),
            None
        );
        assert_eq!(reports.recv().await, None, "nothing reported on stop");
    }

    fn identity() -> GatewayIdentity {
        GatewayIdentity {
            site: Id::parse("site-a").unwrap(),
            gateway: Id::parse("gw").unwrap(),
            seq: SeqClock::default(),
        }
    }

    fn event_of(r: &Reading) -> &EventBody {
        match &r.body {
            Body::Event(e) => e,
            other => panic!("not an event: {other:?}"),
        }
    }

    fn reason_of(r: &Reading) -> String {
        match &r.body {
            Body::Status(s) => s.reason.as_str().to_string(),
            other => panic!("not a status: {other:?}"),
        }
    }

    #[test]
    fn link_alarm_raised_once_per_failure_streak_and_cleared_with_its_id() {
        let id = identity();
        let mut alarms = LinkAlarms::default();
        let failed = |reason: &str| LinkHealth::Failed {
            link: link(),
            reason: reason.to_string(),
            restart_in: Duration::from_secs(1),
        };
        let first = alarms.readings(&id, failed("panicked: boom"));
        assert_eq!(first.len(), 2);
        let raise = event_of(&first[0]);
        assert_eq!(raise.event.as_str(), "link_failure");
        assert_eq!(raise.severity, Severity::Major);
        assert_eq!(raise.state, EventState::Raised);
        assert!(raise.detail.as_str().contains("ns"), "{:?}", raise.detail);
        assert!(reason_of(&first[1]).contains("ns (panicked: boom)"));

        let again = alarms.readings(&id, failed("panicked: bang"));
        assert_eq!(again.len(), 1, "no second raise");
        assert!(reason_of(&again[0]).contains("bang"));

        let back = alarms.readings(&id, LinkHealth::Recovered { link: link() });
        let clear = event_of(&back[0]);
        assert_eq!(clear.state, EventState::Cleared);
        assert_eq!(clear.alarm_id, raise.alarm_id);
        assert_eq!(reason_of(&back[1]), RUNNING);
        assert!(alarms
            .readings(&id, LinkHealth::Recovered { link: link() })
            .is_empty());
    }
}
