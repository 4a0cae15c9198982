//! `retrofit-sim demo`: one command, no outside services or binaries.
//! Opens a pseudo-terminal pair in-process for the edge-node bus
//! ([`crate::pty`]) and starts an embedded MQTT broker,
//! runs the gateway in-process with a config of synthetic LoRaWAN sensors
//! plus the serial bus of `config/demo.toml` (its port = the gateway end of
//! the pair), drives the LoRaWAN sensors with the load generator and the
//! serial bus with simulated edge nodes (physics under the real firmware,
//! running a scenario), serves the Modbus RTU devices of the demo config's
//! `modbus` bus on a second pair ([`crate::modbus`]: a well that fills
//! with rain, a rain gauge, a charger's energy meter), runs the demo's
//! charging piles as simulated OCPP 1.6J charge points ([`crate::ocpp`]),
//! and prints what arrives on `retrofit/v1/#` every couple of seconds until
//! Ctrl-C or `--duration`. The gateway serves the dashboard
//! ([`crate::demo_dashboard`]); the banner says where.
//!
//! When it stops, the load generator's last uplinks are acknowledged
//! first, then the demo waits (bounded by [`OUTPUT_DRAIN_TIMEOUT`]) until
//! every acknowledged LoRaWAN uplink has come out on `retrofit/v1/#`, and
//! says how many did: on one machine with its own broker none may be lost.
//!
//! Every wait is bounded. The demo leaves nothing behind: the journal's
//! directory and the pseudo-terminals are removed on exit.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use retrofit_protocols::Id;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::demo_dashboard::DemoDashboard;
use crate::demo_stats::DemoStats;
use crate::demo_upkeep::UpkeepView;
use crate::embedded_broker::start_embedded_broker;
use crate::fleet::FleetSpec;
use crate::load::{run_load, LoadOptions, LoadReport, StopAfter};
use crate::modbus::demo_bus::demo_modbus;
use crate::modbus::ModbusSite;
use crate::nodes::{serial_buses, start_bus, BusStatus, EdgeBus, RunPlan, Scenario, SerialBus};
use crate::pty::PtyPair;
use crate::site_config::{load_target, LoadTarget};
use retrofit_gateway::broker::BrokerUrl;

/// The demo community (spec §2).
pub const DEMO_SITE: &str = "kangfu-garden";
/// The reference config whose serial bus the demo simulates.
const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");
/// How often the summary is printed.
const SUMMARY_EVERY: Duration = Duration::from_secs(2);
/// How long the gateway may take to drain and stop.
const GATEWAY_STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the gateway may take to take in a first uplink.
const GATEWAY_READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one first uplink may take to come out before it is sent again.
const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long the acknowledged uplinks may take to come out once the load
/// generator stopped.
pub const OUTPUT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub devices: u32,
    /// Uplinks per second across the fleet.
    pub rate: f64,
    pub duration: Option<Duration>,
    pub seed: u64,
    /// What happens to the serial edge nodes.
    pub scenario: Scenario,
    /// Simulated seconds per real second for the edge nodes.
    pub speed: f64,
}

/// What the demo saw, for the closing lines and for tests.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub load: LoadReport,
    pub telemetry: u64,
    pub events: u64,
    pub devices_seen: usize,
    pub dead_letters: u64,
    /// Distinct LoRaWAN uplinks that came out as telemetry.
    pub lorawan_uplinks: u64,
    /// The edge nodes' own account when they stopped.
    pub serial: BusStatus,
}

type SharedStats = Arc<Mutex<DemoStats>>;

/// What the output watcher shares: the counters, and the distinct LoRaWAN
/// uplinks seen so far for whoever awaits them.
#[derive(Clone)]
struct Watched {
    stats: SharedStats,
    uplinks: Arc<watch::Sender<u64>>,
}

fn with_stats<T>(stats: &SharedStats, f: impl FnOnce(&mut DemoStats) -> T) -> T {
    f(&mut stats.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Subscribes to the normalized topics and feeds `watched` until `stop`.
fn watch_output(broker: &BrokerUrl, watched: Watched, stop: CancellationToken) -> JoinHandle<()> {
    let mut options = MqttOptions::new(
        format!("retrofit-sim-demo-{}", std::process::id()),
        broker.host.clone(),
        broker.port,
    );
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    let (client, eventloop) = AsyncClient::new(options, 64);
    tokio::spawn(async move {
        if client
            .subscribe("retrofit/v1/#", QoS::AtLeastOnce)
            .await
            .is_ok()
        {
            observe(eventloop, watched, stop).await;
        }
    })
}

async fn observe(mut eventloop: EventLoop, watched: Watched, stop: CancellationToken) {
    // The embedded broker announces no readiness: failing to reach it
    // before the first CONNACK is expected, losing it afterwards is not.
    let mut connected = false;
    loop {
        let polled = tokio::select! {
            _ = stop.cancelled() => return,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let uplinks = with_stats(&watched.stats, |s| {
                    s.observe(&p.topic, &p.payload);
                    s.lorawan_uplinks
                });
                watched.uplinks.send_replace(uplinks);
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => connected = true,
            Ok(_) => {}
            Err(e) if connected => {
                tracing::warn!(error = %e, "demo subscriber lost the broker");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                tracing::debug!(error = %e, "embedded broker not listening yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// The serial bus of `config/demo.toml`, its port moved to `gateway_end`.
fn demo_bus(gateway_end: &std::path::Path) -> anyhow::Result<SerialBus> {
    let mut bus = serial_buses(DEMO_CONFIG)
        .context("config/demo.toml")?
        .into_iter()
        .next()
        .context("config/demo.toml has no serial bus")?;
    bus.port = gateway_end.to_path_buf();
    Ok(bus)
}

fn describe(bus: &SerialBus, opts: &DemoOptions) -> String {
    let nodes: Vec<String> = bus
        .nodes
        .iter()
        .map(|n| format!("{} ({}, node {})", n.device, n.kind, n.address))
        .collect();
    format!(
        "serial bus {} on a pseudo-terminal pair: {}; scenario {} at {}x",
        bus.link,
        nodes.join(", "),
        opts.scenario,
        opts.speed
    )
}

/// Runs the demo until `cancel` fires or the duration passes.
pub async fn run_demo(opts: DemoOptions, cancel: CancellationToken) -> anyhow::Result<DemoOutcome> {
    let pty = PtyPair::start("edge-bus-1")?;
    let bus = demo_bus(&pty.gateway_end)?;
    let modbus_pty = PtyPair::start("well-bus")?;
    let modbus = demo_modbus(DEMO_CONFIG, &modbus_pty.gateway_end)?;
    let broker = start_embedded_broker()?;
    println!("embedded MQTT broker on {broker}; normalized output on retrofit/v1/#");
    println!("{}", describe(&bus, &opts));
    println!(
        "modbus bus {} on a pseudo-terminal pair: {}",
        modbus.link,
        modbus.devices.join(", ")
    );
    let data_dir = tempfile::Builder::new()
        .prefix("retrofit-demo-")
        .tempdir()?;
    let fleet = FleetSpec {
        devices: opts.devices,
        site: Id::parse(DEMO_SITE)?,
        broker: broker.clone(),
        influx: None,
        data_dir: data_dir.path().to_path_buf(),
        http: None,
    }
    .render()?;
    let dashboard = DemoDashboard::prepare(data_dir.path())?;
    let piles = crate::ocpp::site::site_piles(DEMO_CONFIG, data_dir.path())?;
    let pile_entries = piles.as_ref().map(|p| p.toml.clone()).unwrap_or_default();
    let text = format!(
        "{fleet}\n{}\n{}\n{}\n{pile_entries}",
        dashboard.to_toml(data_dir.path()),
        bus.to_toml()?,
        modbus.toml
    );
    let config = retrofit_gateway::config::Config::parse(&text, "demo config")
        .map_err(|e| anyhow!("the generated config is invalid:\n{e}"))?;
    let target = load_target(&text)?;

    let stats = SharedStats::default();
    let (uplinks, mut uplinks_seen) = watch::channel(0);
    let watched = Watched {
        stats: stats.clone(),
        uplinks: Arc::new(uplinks),
    };
    let watcher_stop = CancellationToken::new();
    let watcher = watch_output(&broker, watched, watcher_stop.clone());
    let gateway_stop = CancellationToken::new();
    let upkeep_config = config.clone();
    let mut gateway = tokio::spawn(retrofit_gateway::daemon::run(config, gateway_stop.clone()));
    let plan = RunPlan {
        scenario: opts.scenario,
        seed: opts.seed,
        speed: opts.speed,
    };
    let nodes = start_bus(&bus, pty.node_end.clone(), plan)?;
    println!("{}", dashboard.banner());
    let modbus_site = ModbusSite::start(modbus_pty.node_end.clone(), modbus.baud, opts.speed);
    println!(
        "gateway started: {} LoRaWAN sensors at {} uplinks/s and {} serial nodes; Ctrl-C to stop",
        opts.devices,
        opts.rate,
        bus.nodes.len()
    );

    let load_opts = LoadOptions {
        rate: opts.rate,
        stop: StopAfter::Cancelled,
        seed: opts.seed,
        object_ratio: 0.5,
        object_shape: Default::default(),
        show_progress: false,
    };
    let intake = Intake {
        target: &target,
        seen: &mut uplinks_seen,
        gateway: &gateway,
        cancel: &cancel,
    };
    intake.await_first_uplink(&load_opts).await?;
    // The gateway is up (its links listen): the piles connect at once.
    let piles_stop = CancellationToken::new();
    let mut pile_tasks = piles.as_ref().map(|p| {
        println!("{}", p.describe());
        p.start(opts.speed, opts.seed, &piles_stop)
    });
    let load_stop = CancellationToken::new();
    let load = {
        let stop = load_stop.clone();
        tokio::spawn(async move { run_load(&target, &load_opts, stop).await })
    };
    let started = Instant::now();
    let upkeep = open_upkeep(&upkeep_config);
    let running = Running {
        stats: &stats,
        load: &load,
        nodes: &nodes,
        started,
        upkeep: upkeep.clone(),
    };
    let gateway_ended = running.print_until_done(&opts, &cancel, &mut gateway).await;

    load_stop.cancel();
    let report = load.await.context("load task failed")??;
    if gateway_ended.is_none() {
        await_uplinks(&mut uplinks_seen, report.acknowledged).await;
    }
    let serial = nodes.stop().context("the edge nodes failed")?;
    modbus_site.stop().await;
    piles_stop.cancel();
    if let Some(tasks) = pile_tasks.as_mut() {
        while tasks.join_next().await.is_some() {}
    }
    match gateway_ended {
        Some(ended) => {
            ended
                .context("gateway task failed")?
                .context("the gateway stopped")?;
            bail!("the gateway stopped on its own");
        }
        None => stop_gateway(gateway, gateway_stop).await?,
    }
    watcher_stop.cancel();
    let _ = watcher.await;
    print!(
        "{}",
        with_stats(&stats, |s| s.render(started.elapsed().as_secs()))
    );
    print!("{}", upkeep_lines(upkeep).await);
    println!(
        "{}",
        with_stats(&stats, |s| uplinks_line(s, report.acknowledged))
    );
    let outcome = with_stats(&stats, |s| DemoOutcome {
        load: report,
        telemetry: s.telemetry,
        events: s.events,
        devices_seen: s.devices_seen(),
        dead_letters: s.dead_letters,
        lorawan_uplinks: s.lorawan_uplinks,
        serial,
    });
    Ok(outcome)
}

/// What waiting for the gateway's intake watches.
struct Intake<'a> {
    target: &'a LoadTarget,
    seen: &'a mut watch::Receiver<u64>,
    gateway: &'a GatewayTask,
    cancel: &'a CancellationToken,
}

impl Intake<'_> {
    /// Sends the load's first uplink (its first device's `fCnt` 0) until
    /// it comes out on `retrofit/v1/#`, so that the gateway's LoRaWAN link
    /// has subscribed (and the demo's watcher too) before the load starts:
    /// an uplink the broker acknowledges while nobody subscribes is gone.
    /// The load then sends that uplink once more, a repeat the counts
    /// recognise. Returns early when the demo is cancelled or the gateway
    /// stopped (the caller reports why).
    async fn await_first_uplink(self, load: &LoadOptions) -> anyhow::Result<()> {
        let probe = LoadOptions {
            stop: StopAfter::Count(1),
            ..load.clone()
        };
        let deadline = tokio::time::Instant::now() + GATEWAY_READY_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            if self.cancel.is_cancelled() || self.gateway.is_finished() {
                return Ok(());
            }
            run_load(self.target, &probe, self.cancel.clone()).await?;
            let out = self.seen.wait_for(|n| *n >= 1);
            match tokio::time::timeout(PROBE_EVERY, out).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(_)) => bail!("the demo's output watcher stopped"),
                Err(_) => {}
            }
        }
        bail!("no uplink came out of the gateway within {GATEWAY_READY_TIMEOUT:?}")
    }
}

/// Waits until `acknowledged` distinct LoRaWAN uplinks came out, at most
/// [`OUTPUT_DRAIN_TIMEOUT`]; the closing lines say if some did not.
async fn await_uplinks(seen: &mut watch::Receiver<u64>, acknowledged: u64) {
    let all_out = seen.wait_for(|n| *n >= acknowledged);
    // An error inside: the watcher stopped, and nothing more will come.
    let done = tokio::time::timeout(OUTPUT_DRAIN_TIMEOUT, all_out).await;
    if !matches!(done, Ok(Ok(_))) {
        tracing::warn!("not every acknowledged uplink came out within {OUTPUT_DRAIN_TIMEOUT:?}");
    }
}

/// `LoRaWAN uplinks out: N of M acknowledged (R repeated)`.
fn uplinks_line(stats: &DemoStats, acknowledged: u64) -> String {
    format!(
        "LoRaWAN uplinks out: {} of {acknowledged} acknowledged ({} repeated)",
        stats.lorawan_uplinks, stats.lorawan_repeats
    )
}

/// The view of the demo gateway's kept history, from now on.
fn open_upkeep(config: &retrofit_gateway::config::Config) -> Option<Arc<UpkeepView>> {
    let now = retrofit_gateway::clock::now();
    match UpkeepView::open(config, now) {
        Ok(view) => Some(Arc::new(view)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the gateway's history; no upkeep lines");
            None
        }
    }
}

/// The open alarms and month's availability (SQLite reads, off the
/// runtime); nothing without a history.
async fn upkeep_lines(view: Option<Arc<UpkeepView>>) -> String {
    let Some(view) = view else {
        return String::new();
    };
    tokio::task::spawn_blocking(move || view.summary(retrofit_gateway::clock::now()))
        .await
        .unwrap_or_default()
}

/// Asks the gateway to drain and stop, within a bound.
async fn stop_gateway(
    gateway: JoinHandle<anyhow::Result<()>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    stop.cancel();
    match tokio::time::timeout(GATEWAY_STOP_TIMEOUT, gateway).await {
        Ok(ended) => ended.context("gateway task failed")?,
        Err(_) => {
            tracing::warn!("the gateway did not stop within {GATEWAY_STOP_TIMEOUT:?}");
            Ok(())
        }
    }
}

type GatewayTask = JoinHandle<anyhow::Result<()>>;

/// What the summary loop watches.
struct Running<'a> {
    stats: &'a SharedStats,
    load: &'a JoinHandle<anyhow::Result<LoadReport>>,
    nodes: &'a EdgeBus,
    started: Instant,
    upkeep: Option<Arc<UpkeepView>>,
}

impl Running<'_> {
    /// Prints the summary every couple of seconds until the demo should
    /// end. Returns the gateway's result if it stopped on its own.
    async fn print_until_done(
        &self,
        opts: &DemoOptions,
        cancel: &CancellationToken,
        gateway: &mut GatewayTask,
    ) -> Option<Result<anyhow::Result<()>, tokio::task::JoinError>> {
        let end = opts.duration.map(|d| tokio::time::Instant::now() + d);
        let mut tick = tokio::time::interval(SUMMARY_EVERY);
        tick.tick().await;
        loop {
            let until_end = crate::duration_arg::sleep_until_end(end);
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = until_end => return None,
                ended = &mut *gateway => return Some(ended),
                _ = tick.tick() => {}
            }
            if self.load.is_finished() || self.nodes.has_ended() {
                return None;
            }
            print!(
                "{}",
                with_stats(self.stats, |s| s.render(self.started.elapsed().as_secs()))
            );
            print!("{}", upkeep_lines(self.upkeep.clone()).await);
        }
    }
}
