//! `retrofit-sim`: the technicians' simulator (spec §10). Parses the
//! command line, sets up logging to stderr, and hands each subcommand to
//! the library. Results go to stdout; it never prints a secret.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use retrofit_protocols::Id;
use retrofit_sim::broker_url::BrokerUrl;
use retrofit_sim::demo::{run_demo, DemoOptions};
use retrofit_sim::duration_arg::parse_duration;
use retrofit_sim::fleet::FleetSpec;
use retrofit_sim::load::{run_load, LoadOptions, StopAfter};
use retrofit_sim::site_config::load_target;
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
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rumqttd=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
    };
    let outcome = run_demo(opts, cancel_on_ctrl_c()).await?;
    println!(
        "demo stopped: {} telemetry readings from {} devices, {} dead letters; load {}",
        outcome.telemetry, outcome.devices_seen, outcome.dead_letters, outcome.load
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Fleet(args) => fleet(args),
        Command::Load(args) => load(args).await,
        Command::Demo(args) => demo(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("retrofit-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}
