//! The daemon (`retrofit-gateway run`, spec §10): wires the journal, the
//! intake, one forwarder per output and every link, then on shutdown stops
//! intake first, commits the gateway's offline status, lets the outputs
//! flush within a deadline and persists their cursors.
//!
//! Nothing here transforms data; it only starts and stops components in
//! the order that keeps the delivery guarantees.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use retrofit_protocols::reading::{Body, BoundedText, StatusBody};
use retrofit_protocols::Presence;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::SeqClock;
use crate::config::Config;
use crate::counters::Counters;
use crate::forwarder::{run_forwarder, ForwarderConfig};
use crate::intake::{record_of, GatewayIdentity, Intake, Submission};
use crate::journal::Journal;
use crate::links::subscriber::{run_subscriber, LinkContext};
use crate::links::LinkSpec;
use crate::presence::{self, PresenceBook, PresenceFeed};
use crate::sinks::influx::InfluxSink;
use crate::sinks::mqtt::MqttSink;

/// How long outputs may keep flushing after intake has stopped.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(10);

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
    let data_dir = &config.gateway.data_dir;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data_dir {}", data_dir.display()))?;
    let _lock = lock_data_dir(data_dir)?;
    let outputs: Vec<&str> = match config.influx {
        Some(_) => vec!["mqtt", "influx"],
        None => vec!["mqtt"],
    };
    let journal = Journal::open(data_dir, &config.journal, &outputs)
        .with_context(|| format!("cannot open the journal in {}", data_dir.display()))?;
    let identity = Arc::new(GatewayIdentity {
        site: config.gateway.site.clone(),
        gateway: config.gateway.id.clone(),
        seq: SeqClock::default(),
    });
    let (intake, writer) = Intake::start(journal.clone(), identity.clone());
    announce(&intake, &identity, Presence::Online, "running").await;

    let outputs_stop = CancellationToken::new();
    let forwarders = start_outputs(&config, &journal, &identity, &outputs_stop);
    let presence_stop = CancellationToken::new();
    let book = PresenceBook::new(
        config.gateway.site.clone(),
        &config.devices,
        crate::clock::now(),
    );
    let (feed, presence_task) = presence::start(book, intake.clone(), presence_stop.clone());
    let links_stop = CancellationToken::new();
    let mut links = start_links(&config, &intake, &counters, &feed, &links_stop);
    links.spawn(crate::self_report::run_self_report(
        intake.clone(),
        counters.clone(),
        crate::self_report::REPORT_INTERVAL,
        links_stop.clone(),
    ));
    tracing::info!(gateway = %config.gateway.id, site = %config.gateway.site, "gateway running");

    shutdown.cancelled().await;
    tracing::info!("stopping: intake first, then outputs flush");
    links_stop.cancel();
    while links.join_next().await.is_some() {}
    presence_stop.cancel();
    let _ = presence_task.await;
    let offline = identity.reading(Body::Status(StatusBody {
        status: Presence::Offline,
        since: crate::clock::now(),
        last_seen: None,
        reason: BoundedText::lossy("stopped"),
    }));
    let _ = intake
        .submit(Submission::new(vec![record_of(&offline)], None))
        .await;
    drop(intake);
    writer.await.context("intake writer failed")?;
    outputs_stop.cancel();
    join_outputs(forwarders).await;
    journal.sync().context("cannot persist the journal")?;
    tracing::info!("gateway stopped");
    Ok(())
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

fn start_outputs(
    config: &Config,
    journal: &Journal,
    identity: &Arc<GatewayIdentity>,
    stop: &CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let base = ForwarderConfig {
        drain_rate: config.journal.drain_rate,
        shutdown_deadline: FLUSH_DEADLINE,
        ..ForwarderConfig::default()
    };
    let mqtt = MqttSink::new(config.mqtt.clone(), identity.clone());
    set.spawn(forward(journal.clone(), mqtt, base.clone(), stop.clone()));
    if let Some(influx) = &config.influx {
        let sink = InfluxSink::new(influx, journal.clone(), identity.clone());
        let cfg = ForwarderConfig {
            batch_max: influx.batch_size.max(1),
            flush_interval: Duration::from_millis(influx.flush_interval_ms),
            ..base
        };
        set.spawn(forward(journal.clone(), sink, cfg, stop.clone()));
    }
    set
}

async fn forward<O: crate::forwarder::Output + 'static>(
    journal: Journal,
    output: O,
    cfg: ForwarderConfig,
    stop: CancellationToken,
) {
    let name = output.name().to_string();
    if let Err(e) = run_forwarder(journal, output, cfg, stop).await {
        tracing::error!(output = %name, error = %e, "output stopped with an error");
    }
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
        match spec {
            LinkSpec::Lorawan(c) => {
                let c = Arc::new(c.clone());
                let filters = vec![c.filter()];
                set.spawn(run_subscriber(
                    c.broker.clone(),
                    filters,
                    c,
                    ctx,
                    stop.clone(),
                ));
            }
            LinkSpec::Mqtt(c) => {
                let c = Arc::new(c.clone());
                let filters = c.filters();
                set.spawn(run_subscriber(
                    c.broker.clone(),
                    filters,
                    c,
                    ctx,
                    stop.clone(),
                ));
            }
            LinkSpec::Serial(c) => {
                let c = Arc::new(c.clone());
                set.spawn(crate::links::serial::run_serial_link(c, ctx, stop.clone()));
            }
        }
    }
    set
}
