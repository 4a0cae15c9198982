//! The upkeep subcommands of the binary (spec §10): `sla`, `report`,
//! `history export` and `alarm ack|arrive`. The binary
//! edge: it reads files, prints, and turns errors into messages; every
//! figure comes from the `upkeep` library.

use std::io::{BufReader, Write as _};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use retrofit_gateway::config::Config;
use retrofit_gateway::devices::Device;
use retrofit_gateway::upkeep::history::History;
use retrofit_gateway::upkeep::store::{Action, FILE_NAME};
use retrofit_gateway::upkeep::{jsonl, render, report, sla};
use retrofit_protocols::reading::AlarmId;
use retrofit_protocols::{DeviceKind, Id, Timestamp};

/// How `sla` prints its figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
}

/// `retrofit-gateway sla` options.
#[derive(clap::Args)]
pub struct SlaArgs {
    #[arg(short, long)]
    pub config: PathBuf,
    /// Window start, RFC 3339 (inclusive).
    #[arg(long)]
    from: Timestamp,
    /// Window end, RFC 3339 (exclusive).
    #[arg(long)]
    to: Timestamp,
    /// Only devices of this kind.
    #[arg(long)]
    kind: Option<DeviceKind>,
    /// Only this device.
    #[arg(long)]
    device: Option<Id>,
    /// A history in JSON lines (docs/UPKEEP.md) instead of the gateway's own.
    #[arg(long)]
    history: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
}

/// The configured devices the options select.
fn selected(
    config: &Config,
    kind: Option<DeviceKind>,
    device: Option<&Id>,
) -> anyhow::Result<Vec<Arc<Device>>> {
    if let Some(d) = device {
        if !config.devices.iter().any(|x| x.id == *d) {
            bail!("no [[device]] has id {d}");
        }
    }
    Ok(config
        .devices
        .iter()
        .filter(|d| kind.is_none_or(|k| d.kind == k))
        .filter(|d| device.is_none_or(|id| d.id == *id))
        .cloned()
        .collect())
}

/// Reads a JSON-lines history file.
fn read_history(path: &PathBuf) -> anyhow::Result<History> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    jsonl::read(BufReader::new(file)).with_context(|| format!("{}", path.display()))
}

/// The gateway's own history for the window (and its context).
fn kept_history(config: &Config, from: Timestamp, to: Timestamp) -> anyhow::Result<History> {
    let dir = &config.gateway.data_dir;
    if !dir.join(FILE_NAME).is_file() {
        bail!("no history in {} (has the gateway run?)", dir.display());
    }
    let store = retrofit_gateway::upkeep::open_store(config)
        .with_context(|| format!("cannot open the history in {}", dir.display()))?;
    Ok(store.load(&config.gateway.site, from, to)?)
}

/// `retrofit-gateway history export` options.
#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(short, long)]
    pub config: PathBuf,
    /// Window start, RFC 3339 (inclusive).
    #[arg(long)]
    from: Timestamp,
    /// Window end, RFC 3339 (exclusive).
    #[arg(long)]
    to: Timestamp,
}

/// `history export`: the window and its context as JSON lines on stdout.
pub fn export(config: &Config, args: &ExportArgs) -> anyhow::Result<()> {
    if args.to <= args.from {
        bail!("--to must be after --from");
    }
    let history = kept_history(config, args.from, args.to)?;
    jsonl::write(&history, std::io::BufWriter::new(std::io::stdout().lock()))?;
    Ok(())
}

/// The service levels of `devices` over the window, from a history file
/// or the kept history.
fn compute(
    config: &Config,
    devices: &[Arc<Device>],
    (from, to): (Timestamp, Timestamp),
    history: Option<&PathBuf>,
) -> anyhow::Result<sla::SlaReport> {
    let history = match history {
        Some(path) => read_history(path)?,
        None => kept_history(config, from, to)?,
    };
    Ok(retrofit_gateway::upkeep::service_levels(
        config,
        devices,
        (from, to),
        &history,
    )?)
}

/// `sla`: the service levels of the selected devices over the window.
pub fn sla(config: &Config, args: &SlaArgs) -> anyhow::Result<()> {
    let devices = selected(config, args.kind, args.device.as_ref())?;
    let report = compute(
        config,
        &devices,
        (args.from, args.to),
        args.history.as_ref(),
    )?;
    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Table => out.write_all(render::table(&report).as_bytes())?,
        ReportFormat::Json => {
            render::json(&report, &mut out)?;
            writeln!(out)?;
        }
        ReportFormat::Csv => render::csv(&report, &mut out)?,
    }
    Ok(())
}

/// How `report` writes the month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MonthFormat {
    Html,
    Csv,
}

/// `retrofit-gateway report` options.
#[derive(clap::Args)]
pub struct ReportArgs {
    #[arg(short, long)]
    pub config: PathBuf,
    /// The month, YYYY-MM (UTC).
    #[arg(long)]
    month: String,
    #[arg(long, value_enum, default_value_t = MonthFormat::Html)]
    format: MonthFormat,
    /// A history in JSON lines instead of the gateway's own.
    #[arg(long)]
    history: Option<PathBuf>,
}

/// `report`: the monthly upkeep report on stdout.
pub fn report(config: &Config, args: &ReportArgs) -> anyhow::Result<()> {
    let window = report::month_window(&args.month)?;
    let mut r = compute(config, &config.devices, window, args.history.as_ref())?;
    let mut out = std::io::stdout().lock();
    match args.format {
        MonthFormat::Html => out.write_all(report::html(&r, &args.month).as_bytes())?,
        MonthFormat::Csv => {
            r.devices = report::worst_first(&r).into_iter().cloned().collect();
            render::csv(&r, &mut out)?;
        }
    }
    Ok(())
}

/// `retrofit-gateway alarm ack|arrive` options.
#[derive(clap::Args)]
pub struct MarkArgs {
    #[arg(short, long)]
    pub config: PathBuf,
    /// The alarm, as in the event's `alarm_id`.
    #[arg(value_parser = parse_alarm_id)]
    alarm_id: AlarmId,
    /// Who acknowledges or arrives.
    #[arg(long)]
    by: String,
    /// When (RFC 3339); now by default.
    #[arg(long)]
    at: Option<Timestamp>,
}

fn parse_alarm_id(s: &str) -> Result<AlarmId, String> {
    AlarmId::parse(s).map_err(|e| e.to_string())
}

/// `alarm ack` / `alarm arrive`: records the mark and prints the alarm.
pub fn mark(config: &Config, action: Action, args: &MarkArgs) -> anyhow::Result<()> {
    if args.by.trim().is_empty() {
        bail!("--by must name someone");
    }
    let store = retrofit_gateway::upkeep::open_store(config).with_context(|| {
        format!(
            "cannot open the history in {}",
            config.gateway.data_dir.display()
        )
    })?;
    let at = args.at.unwrap_or_else(retrofit_gateway::clock::now);
    let alarm = store.mark(action, &args.alarm_id, &args.by, at)?;
    println!("{}", serde_json::to_string(&alarm)?);
    Ok(())
}
