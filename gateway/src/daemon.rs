//! The daemon (`retrofit-gateway run`, spec §10): wires the journal, the
//! intake, one forwarder per output and every link, then on shutdown stops
//! intake first, commits the gateway's offline status, lets the outputs
//! flush within a deadline and persists their cursors.
//!
//! Links and outputs run under [`crate::supervisor`]: one that panics or
//! ends unexpectedly is restarted with backoff and jitter; a failing link
//! raises the gateway's `link_failure` alarm and names itself in the
//! gateway's status reason until it has run again for a while. Every wait
//! of the shutdown is bounded ([`STOP_DEADLINE`], [`FLUSH_DEADLINE`]), so a
//! journal that cannot commit delays the exit but never hangs it. Journal
//! calls that block (open, the final sync) run on the blocking pool.
//!
//! Nothing here transforms data; it only starts, restarts and stops
//! components in the order that keeps the delivery guarantees.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use retrofit_protocols::reading::{Body, BoundedText, StatusBody};
use retrofit_protocols::Presence;
use tokio::sync::{broadcast, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::clock::SeqClock;
use crate::config::Config;
use crate::counters::Counters;
use crate::forwarder::{run_forwarder, ForwarderConfig, Output};
use crate::http::auth::Tokens;
use crate::http::ApiState;
use crate::intake::{record_of, GatewayIdentity, Intake, Submission};
use crate::journal::Journal;
use crate::links::lorawan::LorawanConfig;
use crate::links::modbus::{run_modbus_link, ModbusLinkConfig};
use crate::links::mqtt::MqttLinkConfig;
use crate::links::ocpp::{run_ocpp_link, OcppLinkConfig};
use crate::links::serial::{run_serial_link, SerialLinkConfig};
use crate::links::subscriber::{run_subscriber, LinkContext};
use crate::links::LinkSpec;
use crate::live_view::{LiveView, COMMITTED_BACKLOG};
use crate::output_health::{OutputHealth, Watched};
use crate::presence::{self, PresenceBook, PresenceFeed};
use crate::sinks::influx::InfluxSink;
use crate::sinks::mqtt::MqttSink;
use crate::supervisor::{self, LinkAlarms, LinkHealth, RestartPolicy};
use crate::upkeep::output::{HistoryOutput, OUTPUT_NAME};
use crate::upkeep::store::HistoryStore;

/// How long outputs may keep flushing after intake has stopped.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

/// How long a stopping component (a link blocked on a stopped intake, the
/// self-report, presence) may take before it is aborted.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// Runs the gateway until `shutdown` is cancelled, then drains and returns.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_with_counters(config, shutdown, Arc::new(Counters::default())).await
}

/// [`run`], sharing the input counters with the caller.
pub async fn run_with_counters(
    config: Config,
    shutdown: CancellationToken,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    let mut outputs: Vec<&'static str> = match config.influx {
        Some(_) => vec!["mqtt", "influx"],
        None => vec!["mqtt"],
    };
    let history = open_history(&config).await;
    if history.is_some() {
        outputs.push(OUTPUT_NAME);
    }
    let (journal, _lock) = open_journal(&config, outputs).await?;
    let identity = Arc::new(GatewayIdentity {
        site: config.gateway.site.clone(),
        gateway: config.gateway.id.clone(),
        seq: SeqClock::default(),
    });
    let view = config
        .http
        .as_ref()
        .map(|_| Arc::new(LiveView::new(config.devices.len())));
    let (intake, writer) = start_intake(&journal, &identity, view.as_ref());
    announce(&intake, &identity, Presence::Online, supervisor::RUNNING).await;

    let outputs_stop = CancellationToken::new();
    let health = OutputHealth::default();
    let forwarders = start_outputs(
        &config,
        &journal,
        &identity,
        history.as_ref(),
        &health,
        &outputs_stop,
    );
    let sla_points_stop = CancellationToken::new();
    let sla_points =
        crate::upkeep::store_points::start(&config, history.as_ref(), sla_points_stop.clone());
    let http_stop = CancellationToken::new();
    let http = view.map(|view| {
        let state = ApiState {
            tokens: Arc::new(Tokens::default()),
            devices: Arc::new(config.devices.clone()),
            view,
            outputs: health.clone(),
            journal: journal.clone(),
            journal_health: intake.journal_health_changes(),
            counters: counters.clone(),
            history: history.clone(),
            config: Arc::new(config.clone()),
        };
        start_http(&config, state, &http_stop)
    });
    let presence_stop = CancellationToken::new();
    let (book, rule_book) = watch_books(&config, history.clone()).await?;
    let (rules, rules_task) =
        crate::upkeep::rules::task::start(rule_book, intake.clone(), presence_stop.clone());
    let (feed, presence_task) =
        presence::start(book, intake.clone(), Some(rules), presence_stop.clone());
    let links_stop = CancellationToken::new();
    let (health_tx, health) = mpsc::unbounded_channel();
    let reporter = tokio::spawn(report_link_health(health, intake.clone()));
    let links = start_links(&config, &intake, &counters, &feed, &health_tx, &links_stop);
    drop(health_tx);
    let self_report = tokio::spawn(crate::self_report::run_self_report(
        intake.clone(),
        counters.clone(),
        crate::self_report::REPORT_INTERVAL,
        links_stop.clone(),
    ));
    tracing::info!(gateway = %config.gateway.id, site = %config.gateway.site, "gateway running");

    shutdown.cancelled().await;
    Running {
        links_stop,
        links,
        self_report,
        reporter,
        sla_points_stop,
        sla_points,
        presence_stop,
        presence_task,
        rules_task,
        intake,
        identity,
        writer,
        outputs_stop,
        forwarders,
        http_stop,
        http,
        journal,
    }
    .stop()
    .await
}

/// Everything the daemon started, with the tokens that stop it.
struct Running {
    links_stop: CancellationToken,
    links: JoinSet<()>,
    self_report: JoinHandle<()>,
    reporter: JoinHandle<()>,
    sla_points_stop: CancellationToken,
    sla_points: Option<JoinHandle<()>>,
    presence_stop: CancellationToken,
    presence_task: JoinHandle<()>,
    rules_task: JoinHandle<()>,
    intake: Intake,
    identity: Arc<GatewayIdentity>,
    writer: crate::intake::WriterHandle,
    outputs_stop: CancellationToken,
    forwarders: JoinSet<()>,
    http_stop: CancellationToken,
    http: Option<JoinHandle<()>>,
    journal: Journal,
}

impl Running {
    /// Stops intake first (links, then what submits on its own), commits
    /// the gateway's offline status, lets the outputs flush, then stops
    /// the API and persists the journal.
    async fn stop(mut self) -> anyhow::Result<()> {
        tracing::info!("stopping: intake first, then outputs flush");
        self.links_stop.cancel();
        self.sla_points_stop.cancel();
        if let Some(task) = self.sla_points {
            stop_within(task, "sla points").await;
        }
        while self.links.join_next().await.is_some() {}
        stop_within(self.self_report, "self-report").await;
        stop_within(self.reporter, "link health report").await;
        self.presence_stop.cancel();
        stop_within(self.presence_task, "presence").await;
        stop_within(self.rules_task, "rules").await;
        announce_offline(&self.intake, &self.identity).await;
        drop(self.intake);
        let written = self.writer.await.context("intake writer failed")?;
        self.outputs_stop.cancel();
        join_outputs(self.forwarders).await;
        self.http_stop.cancel();
        if let Some(http) = self.http {
            stop_within(http, "HTTP API").await;
        }
        let journal = self.journal;
        tokio::task::spawn_blocking(move || journal.sync())
            .await
            .context("journal sync failed")?
            .context("cannot persist the journal")?;
        written.context("intake stopped with uncommitted input")?;
        tracing::info!("gateway stopped");
        Ok(())
    }
}

/// Starts the intake; with a live view, the view follows its commits.
fn start_intake(
    journal: &Journal,
    identity: &Arc<GatewayIdentity>,
    view: Option<&Arc<LiveView>>,
) -> (Intake, crate::intake::WriterHandle) {
    let Some(view) = view else {
        return Intake::start(journal.clone(), identity.clone());
    };
    let (committed, follow) = broadcast::channel(COMMITTED_BACKLOG);
    tokio::spawn(view.clone().follow(follow));
    Intake::start_observed(journal.clone(), identity.clone(), committed)
}

/// Serves the HTTP API, with the tokens of the config and the process
/// environment.
fn start_http(config: &Config, mut state: ApiState, stop: &CancellationToken) -> JoinHandle<()> {
    let Some(http) = config.http.clone() else {
        return tokio::spawn(async {});
    };
    for warning in http.warnings() {
        tracing::warn!("{warning}");
    }
    state.tokens = Arc::new(http.tokens_from_process_env());
    tokio::spawn(crate::http::serve(http, state, stop.clone()))
}

/// Creates and locks the data directory and opens the journal in it, on
/// the blocking pool (it reads and may recover the SQLite file).
async fn open_journal(
    config: &Config,
    outputs: Vec<&'static str>,
) -> anyhow::Result<(Journal, std::fs::File)> {
    let data_dir = config.gateway.data_dir.clone();
    let journal_config = config.journal.clone();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create data_dir {}", data_dir.display()))?;
        let lock = lock_data_dir(&data_dir)?;
        let journal = Journal::open(&data_dir, &journal_config, &outputs)
            .with_context(|| format!("cannot open the journal in {}", data_dir.display()))?;
        Ok((journal, lock))
    })
    .await
    .context("opening the journal failed")?
}

/// Opens the kept history on the blocking pool; without it the gateway
/// still runs (and says so), the journal does not wait for a history
/// output that is not there.
async fn open_history(config: &Config) -> Option<HistoryStore> {
    let config = config.clone();
    match tokio::task::spawn_blocking(move || crate::upkeep::open_store(&config)).await {
        Ok(Ok(store)) => Some(store),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot open the history; it is not kept");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "opening the history failed");
            None
        }
    }
}

/// The presence and rule books, with their state from before a restart
/// taken back from the kept history (on the blocking pool: SQLite reads).
async fn watch_books(
    config: &Config,
    history: Option<HistoryStore>,
) -> anyhow::Result<(PresenceBook, crate::upkeep::rules::RuleBook)> {
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let mut book = PresenceBook::new(
            config.gateway.site.clone(),
            &config.devices,
            crate::clock::now(),
        );
        if let Some(store) = &history {
            crate::upkeep::restore_presence(&mut book, store);
        }
        let rules = crate::upkeep::rules::task::book_for(&config, history.as_ref());
        (book, rules)
    })
    .await
    .context("taking back presence and alarms failed")
}

/// Waits up to [`STOP_DEADLINE`] for a stopping task, then aborts it.
async fn stop_within(mut task: JoinHandle<()>, what: &str) {
    match tokio::time::timeout(STOP_DEADLINE, &mut task).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(task = what, error = %e, "task failed"),
        Err(_) => {
            tracing::warn!(task = what, deadline = ?STOP_DEADLINE, "task did not stop in time; aborted");
            task.abort();
        }
    }
}

/// Commits the gateway's offline status, unless the intake stays stopped
/// (a failing journal) beyond [`STOP_DEADLINE`].
async fn announce_offline(intake: &Intake, identity: &GatewayIdentity) {
    let announced = tokio::time::timeout(
        STOP_DEADLINE,
        announce(intake, identity, Presence::Offline, "stopped"),
    )
    .await;
    if announced.is_err() {
        tracing::warn!("the intake took no offline status in time");
    }
}

/// Commits the gateway readings each link failure or recovery calls for
/// (`link_failure` alarm, status reason); ends with the last link.
async fn report_link_health(mut health: mpsc::UnboundedReceiver<LinkHealth>, intake: Intake) {
    let mut alarms = LinkAlarms::default();
    while let Some(h) = health.recv().await {
        let records = alarms
            .readings(intake.identity(), h)
            .iter()
            .map(record_of)
            .collect();
        if intake.submit(Submission::new(records, None)).await.is_err() {
            return;
        }
    }
}

/// Holds an exclusive lock on the data directory for the daemon's life, so
/// that two daemons never write one journal.
fn lock_data_dir(dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join("gateway.lock");
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!("another gateway is running with data_dir {}", dir.display())
    })?;
    Ok(file)
}

/// Commits the gateway's own status, so the outputs announce it at once.
async fn announce(intake: &Intake, identity: &GatewayIdentity, status: Presence, reason: &str) {
    let reading = identity.reading(Body::Status(StatusBody {
        status,
        since: crate::clock::now(),
        last_seen: None,
        reason: BoundedText::lossy(reason),
    }));
    let _ = intake
        .submit(Submission::new(vec![record_of(&reading)], None))
        .await;
}

/// The forwarders of the normalized MQTT output, the store (when
/// configured) and the kept history (when open).
fn start_outputs(
    config: &Config,
    journal: &Journal,
    identity: &Arc<GatewayIdentity>,
    history: Option<&HistoryStore>,
    health: &OutputHealth,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let base = ForwarderConfig {
        drain_rate: config.journal.drain_rate,
        shutdown_deadline: FLUSH_DEADLINE,
        ..ForwarderConfig::default()
    };
    let (mqtt, id, h) = (config.mqtt.clone(), identity.clone(), health.clone());
    let sink = move || Watched::new(MqttSink::new(mqtt.clone(), id.clone()), h.clone());
    set.spawn(supervise_output("mqtt", sink, journal, base.clone(), stop));
    if let Some(influx) = &config.influx {
        let cfg = ForwarderConfig {
            batch_max: influx.batch_size.max(1),
            flush_interval: Duration::from_millis(influx.flush_interval_ms),
            ..base
        };
        let (influx, j, id, h) = (
            influx.clone(),
            journal.clone(),
            identity.clone(),
            health.clone(),
        );
        let sink = move || Watched::new(InfluxSink::new(&influx, j.clone(), id.clone()), h.clone());
        set.spawn(supervise_output("influx", sink, journal, cfg, stop));
    }
    if let Some(store) = history.cloned() {
        let h = health.clone();
        let sink = move || Watched::new(HistoryOutput::new(store.clone()), h.clone());
        let cfg = ForwarderConfig {
            shutdown_deadline: FLUSH_DEADLINE,
            ..ForwarderConfig::default()
        };
        set.spawn(supervise_output(OUTPUT_NAME, sink, journal, cfg, stop));
    }
    set
}

/// An output's forwarder, restarted with a fresh sink from its durable
/// cursor (what was not acknowledged is delivered again) whenever it stops
/// with an error, e.g. a cursor ack the full disk refused.
fn supervise_output<O: Output + Send + Sync + 'static>(
    name: &str,
    sink: impl Fn() -> O + Send + 'static,
    journal: &Journal,
    cfg: ForwarderConfig,
    stop: &CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let (journal, run_stop) = (journal.clone(), stop.clone());
    let policy = RestartPolicy {
        backoff: Backoff::default(),
        stop_deadline: FLUSH_DEADLINE + STOP_DEADLINE,
        ..RestartPolicy::default()
    };
    let start = move || {
        let run = run_forwarder(journal.clone(), sink(), cfg.clone(), run_stop.clone());
        async move { run.await.map(drop).map_err(|e| e.to_string()) }
    };
    supervisor::supervise(name.to_string(), start, policy, None, stop.clone())
}

async fn join_outputs(mut set: JoinSet<()>) {
    while let Some(res) = set.join_next().await {
        if let Err(e) = res {
            tracing::error!(error = %e, "output task failed");
        }
    }
}

fn start_links(
    config: &Config,
    intake: &Intake,
    counters: &Arc<Counters>,
    presence: &PresenceFeed,
    health: &mpsc::UnboundedSender<LinkHealth>,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for spec in &config.links {
        let ctx = LinkContext {
            intake: intake.clone(),
            link: spec.id().clone(),
            source: spec.source(),
            counters: counters.clone(),
            presence: presence.clone(),
        };
        let runner = LinkRunner::new(spec, &config.gateway.data_dir);
        let link_stop = stop.clone();
        let start = move || {
            let run = runner.run(ctx.clone(), link_stop.clone());
            async move {
                run.await;
                Ok(())
            }
        };
        set.spawn(supervisor::supervise(
            spec.id().to_string(),
            start,
            RestartPolicy::default(),
            Some(health.clone()),
            stop.clone(),
        ));
    }
    set
}

/// One run of a link, from scratch.
type LinkRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A link's config, shared by its runs.
enum LinkRunner {
    Lorawan(Arc<LorawanConfig>),
    Mqtt(Arc<MqttLinkConfig>),
    Serial(Arc<SerialLinkConfig>),
    Modbus(Arc<ModbusLinkConfig>),
    Ocpp(Arc<OcppLinkConfig>),
}

impl LinkRunner {
    fn new(spec: &LinkSpec, data_dir: &std::path::Path) -> Self {
        match spec {
            LinkSpec::Lorawan(c) => Self::Lorawan(Arc::new(c.clone())),
            LinkSpec::Mqtt(c) => Self::Mqtt(Arc::new(c.clone())),
            LinkSpec::Serial(c) => Self::Serial(Arc::new(c.clone())),
            LinkSpec::Modbus(c) => Self::Modbus(Arc::new(ModbusLinkConfig {
                data_dir: data_dir.to_path_buf(),
                ..c.clone()
            })),
            LinkSpec::Ocpp(c) => Self::Ocpp(Arc::new(OcppLinkConfig {
                data_dir: data_dir.to_path_buf(),
                ..c.clone()
            })),
        }
    }

    fn run(&self, ctx: LinkContext, stop: CancellationToken) -> LinkRun {
        match self {
            Self::Lorawan(c) => {
                let filters = c.filters();
                Box::pin(run_subscriber(
                    c.broker.clone(),
                    filters,
                    c.clone(),
                    ctx,
                    stop,
                ))
            }
            Self::Mqtt(c) => {
                let filters = c.filters();
                Box::pin(run_subscriber(
                    c.broker.clone(),
                    filters,
                    c.clone(),
                    ctx,
                    stop,
                ))
            }
            Self::Serial(c) => Box::pin(run_serial_link(c.clone(), ctx, stop)),
            Self::Modbus(c) => Box::pin(run_modbus_link(c.clone(), ctx, stop)),
            Self::Ocpp(c) => Box::pin(run_ocpp_link(c.clone(), ctx, stop)),
        }
    }
}
