//! `retrofit-gateway`: the command line of the site gateway (spec §10).
//!
//! `run` starts the daemon (SIGTERM/SIGINT drain and exit cleanly),
//! `check` validates a config, `journal stats` reports the journal, `sla`
//! `history export` and `alarm ack|arrive` serve the kept history (see
//! `upkeep_cmd`). This is
//! the binary edge: errors become messages and exit codes here, nowhere
//! else.
//!
//! The daemon logs to stderr: text lines, coloured only when stderr is a
//! terminal (never escape codes in a file or the journal), or one JSON
//! object per line with `--log-format json` (`RETROFIT_LOG_FORMAT=json`)
//! for log shippers. `RUST_LOG` filters, `info` by default.
//!
//! The async work runs on one runtime worker thread unless
//! `TOKIO_WORKER_THREADS` asks for more: SQLite and other blocking work
//! already has threads of its own, and with a second worker every wake-up
//! also woke the idle worker to look for work to steal (measured end to end
//! in docs/BENCHMARKS.md: 15–20 % less CPU per reading at 10,000/s, within
//! run-to-run noise at 5,000/s, no lower highest rate held).

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use retrofit_gateway::config::Config;
use retrofit_gateway::journal::{ClassCounts, Journal, Lane, RecordClass};
use retrofit_gateway::upkeep::store::Action;
use tokio_util::sync::CancellationToken;

mod upkeep_cmd;

#[derive(Parser)]
#[command(name = "retrofit-gateway", version, about = "Retrofit site gateway")]
struct Cli {
    /// How the daemon's log lines on stderr look.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "RETROFIT_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// The daemon's log format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines, coloured only on a terminal.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway daemon.
    Run {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Validate a config file.
    Check {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Inspect the durable journal.
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Service levels (availability, failures, MTBF/MTTR, entrapments).
    Sla(upkeep_cmd::SlaArgs),
    /// The monthly upkeep report (HTML or CSV).
    Report(upkeep_cmd::ReportArgs),
    /// The kept history.
    History {
        #[command(subcommand)]
        command: HistoryCommand,
    },
    /// A technician's acknowledgement of, or arrival at, an alarm.
    Alarm {
        #[command(subcommand)]
        command: AlarmCommand,
    },
}

#[derive(Subcommand)]
enum AlarmCommand {
    /// Acknowledge an alarm.
    Ack(upkeep_cmd::MarkArgs),
    /// A technician arrived on site for an alarm.
    Arrive(upkeep_cmd::MarkArgs),
}

#[derive(Subcommand)]
enum HistoryCommand {
    /// The history of a window as JSON lines (docs/UPKEEP.md).
    Export(upkeep_cmd::ExportArgs),
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Depth per output, oldest undelivered age, size on disk, drops.
    Stats {
        #[arg(short, long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config_path = match &cli.command {
        Command::Run { config } | Command::Check { config } => config,
        Command::Journal {
            command: JournalCommand::Stats { config },
        } => config,
        Command::Sla(args) => &args.config,
        Command::Report(args) => &args.config,
        Command::History {
            command: HistoryCommand::Export(args),
        } => &args.config,
        Command::Alarm {
            command: AlarmCommand::Ack(args) | AlarmCommand::Arrive(args),
        } => &args.config,
    };
    let config = match Config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Check { .. } => {
            for warning in config.http.iter().flat_map(|h| h.warnings()) {
                eprintln!("warning: {warning}");
            }
            println!("{}", config.summary());
            Ok(())
        }
        Command::Run { .. } => run(config, cli.log_format),
        Command::Journal { .. } => journal_stats(&config),
        Command::Sla(args) => upkeep_cmd::sla(&config, &args),
        Command::Report(args) => upkeep_cmd::report(&config, &args),
        Command::History {
            command: HistoryCommand::Export(args),
        } => upkeep_cmd::export(&config, &args),
        Command::Alarm { command } => match command {
            AlarmCommand::Ack(args) => upkeep_cmd::mark(&config, Action::Acknowledge, &args),
            AlarmCommand::Arrive(args) => upkeep_cmd::mark(&config, Action::Arrive, &args),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sends the daemon's log to stderr in `format`.
fn init_logging(format: LogFormat) -> anyhow::Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.with_ansi(false).json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}

fn run(config: Config, log_format: LogFormat) -> anyhow::Result<()> {
    init_logging(log_format)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        runtime.worker_threads(1);
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signals.cancel();
        });
        retrofit_gateway::daemon::run(config, shutdown).await
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = int.recv() => tracing::info!("SIGINT"),
    }
}

fn journal_stats(config: &Config) -> anyhow::Result<()> {
    let journal = Journal::open_read_only(&config.gateway.data_dir).with_context(|| {
        format!(
            "cannot open the journal in {}",
            config.gateway.data_dir.display()
        )
    })?;
    let stats = journal.stats().context("cannot read journal stats")?;
    println!("journal: {} bytes on disk", stats.file_bytes);
    for lane in &stats.lanes {
        println!(
            "lane {}: {} records, {} bytes, {} appended in all",
            lane.lane.as_str(),
            lane.records,
            lane.bytes,
            lane.last_pos
        );
    }
    for out in &stats.outputs {
        for lane in [Lane::Urgent, Lane::Bulk] {
            let l = out.lane(lane);
            let age = l
                .oldest_undelivered_age
                .map_or("-".to_string(), |a| format!("{:.1}s", a.as_secs_f64()));
            println!(
                "output {} {}: depth {}, oldest undelivered {age}",
                out.output,
                lane.as_str(),
                l.depth
            );
        }
    }
    println!("drops: {}", drop_counts(&stats.drops));
    for out in &stats.outputs {
        println!("output {} drops: {}", out.output, drop_counts(&out.drops));
    }
    Ok(())
}

/// `telemetry N, event N, status N, dead_letter N`.
fn drop_counts(counts: &ClassCounts) -> String {
    let parts: Vec<String> = RecordClass::ALL
        .iter()
        .map(|c| format!("{} {}", c.as_str(), counts.get(*c)))
        .collect();
    parts.join(", ")
}
