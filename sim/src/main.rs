//! `retrofit-sim`: the technicians' simulator (spec §10). Parses the
//! command line, sets up logging to stderr, and hands each subcommand to
//! the library. Results go to stdout; it never prints a secret.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use retrofit_gateway::broker::BrokerUrl;
use retrofit_protocols::Id;
use retrofit_sim::bench::{run_bench, BenchOptions};
use retrofit_sim::demo::{run_demo, DemoOptions};
use retrofit_sim::duration_arg::parse_duration;
use retrofit_sim::fleet::FleetSpec;
use retrofit_sim::load::{run_load, LoadOptions, StopAfter};
use retrofit_sim::nodes::report::closing_line;
use retrofit_sim::nodes::{RunPlan, Scenario, MAX_SPEED};
use retrofit_sim::nodes_command::{run_nodes, NodesOptions};
use retrofit_sim::ocpp::bench::{run_ocpp_bench, OcppBenchOptions};
use retrofit_sim::site_config::load_target;
use retrofit_sim::vendor_object::ObjectShape;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "retrofit-sim",
    version,
    about = "Simulator for retrofit gateways"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a gateway config for N synthetic LoRaWAN sensors.
    Fleet(FleetArgs),
    /// Publish ChirpStack uplinks for the LoRaWAN devices of a config.
    Load(LoadArgs),
    /// Run broker, gateway and a simulated community in one process.
    Demo(DemoArgs),
    /// Run the simulated edge nodes of a config's serial link against a gateway.
    Nodes(NodesArgs),
    /// List the scenarios of the simulated edge nodes.
    Scenarios,
    /// End-to-end benchmark of a gateway binary with its own broker and store.
    Bench(BenchArgs),
    /// Modbus RTU requests per second on a paced pseudo-terminal bus.
    ModbusBench(ModbusBenchArgs),
    /// Benchmark of a gateway's ocpp link: many simulated piles at once.
    OcppBench(OcppBenchArgs),
}

#[derive(Args)]
struct ModbusBenchArgs {
    /// Line speeds to emulate [default: 9600,115200].
    #[arg(long, value_delimiter = ',')]
    bauds: Option<Vec<u32>>,
    /// Holding registers per read.
    #[arg(long, default_value_t = 10)]
    registers: u16,
    /// How long to run each line speed.
    #[arg(long, value_parser = parse_duration, default_value = "20s")]
    duration: Duration,
}

#[derive(Args)]
struct OcppBenchArgs {
    /// The gateway binary under test (a release build).
    #[arg(long, default_value = "target/release/retrofit-gateway")]
    gateway: PathBuf,
    /// Simulated piles connected at once.
    #[arg(long, default_value_t = 500)]
    charge_points: u32,
    /// Time between two MeterValues of one pile.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    interval: Duration,
    /// Time for every pile to connect, boot and start charging.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    warmup: Duration,
    /// The measured window.
    #[arg(long, value_parser = parse_duration, default_value = "120s")]
    window: Duration,
}

#[derive(Args)]
struct FleetArgs {
    /// Number of sensors: half parking spaces, half drainage wells.
    #[arg(long)]
    devices: u32,
    /// Site ID of the generated gateway.
    #[arg(long, default_value = "sim-site")]
    site: Id,
    /// Broker of both the LoRaWAN link and the normalized output.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    broker: BrokerUrl,
    /// InfluxDB-compatible write endpoint; no [influx] table without it.
    #[arg(long)]
    influx: Option<String>,
    /// HTTP API listen address of the generated gateway.
    #[arg(long, default_value = "127.0.0.1:8080")]
    http: SocketAddr,
}

#[derive(Args)]
struct LoadArgs {
    /// Gateway config whose LoRaWAN devices to simulate.
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// Uplinks per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Stop after this long (e.g. 60s, 5m).
    #[arg(long, value_parser = parse_duration, conflicts_with = "count")]
    duration: Option<Duration>,
    /// Stop after this many uplinks.
    #[arg(long)]
    count: Option<u64>,
    /// Seed of the simulated values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of uplinks carrying a decoded `object` (the rest only `data`).
    #[arg(long, default_value_t = 0.5)]
    object_ratio: f64,
    /// Which codec writes `object`: the model's names, or the sensor
    /// vendor's own codec (to test a [[codec_map]] before going on site).
    #[arg(long, value_enum, default_value_t = ObjectShape::Normalized)]
    object_shape: ObjectShape,
}

#[derive(Args)]
struct DemoArgs {
    /// Simulated sensors: half parking spaces, half drainage wells.
    #[arg(long, default_value_t = 20)]
    devices: u32,
    /// Uplinks per second across the community.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Seed of the simulated values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// What happens to the serial edge nodes (see `retrofit-sim scenarios`).
    #[arg(long, default_value = "incidents")]
    scenario: Scenario,
    /// Simulated seconds per real second for the serial edge nodes.
    #[arg(long, default_value_t = 30.0, value_parser = parse_speed)]
    speed: f64,
}

#[derive(Args)]
struct NodesArgs {
    /// Gateway config whose serial link to simulate.
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// The serial link (needed when the config has several).
    #[arg(long)]
    link: Option<Id>,
    /// An existing serial device for the nodes (default: a pseudo-terminal
    /// pair whose gateway end is created at the link's port).
    #[arg(long)]
    port: Option<PathBuf>,
    /// What happens (see `retrofit-sim scenarios`).
    #[arg(long, default_value = "normal")]
    scenario: Scenario,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    speed: f64,
    /// Seed of the simulated world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
}

async fn modbus_bench(args: ModbusBenchArgs) -> anyhow::Result<()> {
    let bauds = args.bauds.unwrap_or_else(|| vec![9_600, 115_200]);
    for baud in bauds {
        let report =
            retrofit_sim::modbus::bench::run_modbus_bench(baud, args.registers, args.duration)
                .await?;
        println!("{}", report.line());
    }
    Ok(())
}

#[derive(Args)]
struct BenchArgs {
    /// The gateway binary under test (a release build).
    #[arg(long, default_value = "target/release/retrofit-gateway")]
    gateway: PathBuf,
    /// Offered rates in uplinks per second [default: 2000,5000,10000].
    #[arg(long, value_delimiter = ',')]
    rates: Option<Vec<f64>>,
    /// Uplinks per rate [default: 100000].
    #[arg(long)]
    count: Option<u64>,
    /// Uplinks per offer of the highest-rate search; 0 skips the search
    /// [default: 50000].
    #[arg(long)]
    search_count: Option<u64>,
    /// Messages per broker ceiling measurement [default: 100000].
    #[arg(long)]
    ceiling_count: Option<u64>,
    /// LoRaWAN devices of the fleet.
    #[arg(long, default_value_t = 2000)]
    devices: u32,
    /// Seed of the simulated values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// No new search run starts past this much bench time.
    #[arg(long, value_parser = parse_duration, default_value = "6m")]
    budget: Duration,
    /// Smoke run: 500 uplinks at 500/s, a small ceiling, no search
    /// (explicit options still win).
    #[arg(long)]
    quick: bool,
}

impl BenchArgs {
    fn options(self) -> BenchOptions {
        let quick = self.quick;
        let pick = |given: Option<u64>, quick_value: u64, full: u64| {
            given.unwrap_or(if quick { quick_value } else { full })
        };
        let default_rates = if quick {
            vec![500.0]
        } else {
            vec![2000.0, 5000.0, 10000.0]
        };
        BenchOptions {
            gateway: self.gateway,
            rates: self.rates.unwrap_or(default_rates),
            count: pick(self.count, 500, 100_000),
            search_count: pick(self.search_count, 0, 50_000),
            ceiling_count: pick(self.ceiling_count, 1_000, 100_000),
            devices: self.devices,
            seed: self.seed,
            budget: self.budget,
        }
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let speed: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if speed > 0.0 && speed <= MAX_SPEED {
        Ok(speed)
    } else {
        Err(format!("speed must be more than 0 and at most {MAX_SPEED}"))
    }
}

/// Log lines on stderr, coloured only when it is a terminal.
fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rumqttd=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn fleet(args: FleetArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.influx {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--influx must be an http:// or https:// URL"
        );
    }
    let spec = FleetSpec {
        devices: args.devices,
        data_dir: std::env::temp_dir().join(format!("retrofit-fleet-{}", args.site)),
        site: args.site,
        broker: args.broker,
        influx: args.influx,
        http: Some(args.http),
    };
    print!("{}", spec.render()?);
    Ok(())
}

/// Stops on Ctrl-C.
fn cancel_on_ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let on_signal = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    token
}

async fn load(args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.object_ratio),
        "--object-ratio must be between 0 and 1"
    );
    let origin = args.config.display();
    let text = std::fs::read_to_string(&args.config).with_context(|| format!("{origin}"))?;
    let target = load_target(&text).with_context(|| format!("{origin}"))?;
    let stop = match (args.count, args.duration) {
        (Some(n), _) => StopAfter::Count(n),
        (None, Some(d)) => StopAfter::Duration(d),
        (None, None) => StopAfter::Cancelled,
    };
    let opts = LoadOptions {
        rate: args.rate,
        stop,
        seed: args.seed,
        object_ratio: args.object_ratio,
        object_shape: args.object_shape,
        show_progress: true,
    };
    let report = run_load(&target, &opts, cancel_on_ctrl_c()).await?;
    println!("{report}");
    Ok(())
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let opts = DemoOptions {
        devices: args.devices,
        rate: args.rate,
        duration: args.duration,
        seed: args.seed,
        scenario: args.scenario,
        speed: args.speed,
    };
    let outcome = run_demo(opts, cancel_on_ctrl_c()).await?;
    println!(
        "demo stopped: {} telemetry readings from {} devices, {} events, {} dead letters; load {}",
        outcome.telemetry, outcome.devices_seen, outcome.events, outcome.dead_letters, outcome.load
    );
    println!("{}", closing_line(&outcome.serial));
    Ok(())
}

async fn nodes(args: NodesArgs) -> anyhow::Result<()> {
    let origin = args.config.display();
    let config = std::fs::read_to_string(&args.config).with_context(|| format!("{origin}"))?;
    let opts = NodesOptions {
        config,
        link: args.link,
        port: args.port,
        plan: RunPlan {
            scenario: args.scenario,
            seed: args.seed,
            speed: args.speed,
        },
        duration: args.duration,
    };
    let status = run_nodes(opts, cancel_on_ctrl_c())
        .await
        .with_context(|| format!("{origin}"))?;
    println!("{}", closing_line(&status));
    Ok(())
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let opts = args.options();
    let report = run_bench(&opts).await?;
    print!("{}", report.render(&opts));
    Ok(())
}

async fn ocpp_bench(args: OcppBenchArgs) -> anyhow::Result<()> {
    let opts = OcppBenchOptions {
        gateway: args.gateway,
        charge_points: args.charge_points,
        interval: args.interval,
        warmup: args.warmup,
        window: args.window,
    };
    let report = run_ocpp_bench(&opts).await?;
    print!("{}", report.render(&opts));
    Ok(())
}

fn scenarios() {
    for scenario in Scenario::ALL {
        println!("{:<12} {}", scenario.name(), scenario.description());
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Fleet(args) => fleet(args),
        Command::Load(args) => load(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Nodes(args) => nodes(args).await,
        Command::Bench(args) => bench(args).await,
        Command::ModbusBench(args) => modbus_bench(args).await,
        Command::OcppBench(args) => ocpp_bench(args).await,
        Command::Scenarios => {
            scenarios();
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("retrofit-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}
