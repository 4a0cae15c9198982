//! `retrofit-node`: runs one node application (elevator, parking or
//! drainage) on a Linux edge board, with the drivers on the board's I2C,
//! GPIO, IIO and serial devices and the edge link to the gateway on a
//! serial port.
//!
//! Usage: `retrofit-node -c FILE` (see `firmware/retrofit-node.example.toml`).
//! Settings the gateway sends (Config frames) are applied to the running
//! application and saved beside FILE (`state`), so they win over FILE's
//! values after a restart too. Exits non-zero with a message when the
//! configuration or a device cannot be used, or when the link's port
//! fails; never panics on input.

mod config;
mod hardware;
mod state;
mod toml_file;
mod uplink;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use linux_embedded_hal::I2cdev;
use retrofit_firmware::apps::drainage::{DrainageApp, DrainageBoard};
use retrofit_firmware::apps::elevator::{ElevatorApp, ElevatorBoard};
use retrofit_firmware::apps::parking::{ParkingApp, ParkingBoard};
use retrofit_firmware::apps::settings::{apply_and_save, restore};
use retrofit_firmware::apps::{Configurable, Node, NodeApp, OutputError, SampleSource};
use retrofit_firmware::drivers::a02yyuw::{A02yyuw, UltrasonicLevel};
use retrofit_firmware::drivers::analog_percent::AnalogPercent;
use retrofit_firmware::drivers::level_transmitter::LevelTransmitter;
use retrofit_firmware::drivers::rain_gauge::{TipCounter, DEFAULT_DEBOUNCE_MS};
use retrofit_firmware::drivers::{lis3dh, qmc5883l};
use retrofit_protocols::DeviceKind;

use config::{ConfigFileError, LevelSection, NodeFile};
use hardware::{serial, Clock, Gpio, IioChannel, LevelSource};
use state::StateFile;
use toml_file::FileError;
use uplink::{Uplink, UplinkError};

/// Longest sleep between link services.
const IDLE_MS: u64 = 10;

#[derive(Debug, thiserror::Error)]
enum NodeError {
    #[error("usage: retrofit-node -c FILE")]
    Usage,
    #[error(transparent)]
    Config(#[from] ConfigFileError),
    #[error(transparent)]
    Setting(#[from] retrofit_firmware::error::ConfigError),
    #[error("the configuration has no [{0}] section")]
    Missing(&'static str),
    #[error("{what}: {source}")]
    Device {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Driver(String),
    #[error(transparent)]
    Uplink(#[from] UplinkError),
    #[error("node application: {0}")]
    Output(#[from] OutputError),
    #[error("saved settings: {0}")]
    State(#[from] FileError),
}

fn device(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
    let what = what.into();
    move |source| NodeError::Device { what, source }
}

fn config_path() -> Result<PathBuf, NodeError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, path] if flag == "-c" || flag == "--config" => Ok(PathBuf::from(path)),
        _ => Err(NodeError::Usage),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("retrofit-node: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), NodeError> {
    let path = config_path()?;
    let file = NodeFile::load(&path)?;
    let state = StateFile::beside(&path);
    let clock = Clock::start();
    let node = &file.node;
    let uplink = Uplink::open(
        &file.link.serial,
        file.link.baud,
        node.id,
        node.kind,
        node.heartbeat_interval_s,
        clock.now_ms(),
    )?;
    let poll_ms = node.poll_interval_ms.max(1);
    eprintln!(
        "retrofit-node: node {} ({}) polling every {poll_ms} ms",
        node.id, node.kind
    );
    let serving = Serving {
        uplink,
        state,
        clock,
        poll_ms,
    };
    match node.kind {
        DeviceKind::Elevator => serving.run(elevator(&file)?),
        DeviceKind::Parking => serving.run(parking(&file)?),
        _ => serving.run(drainage(&file, clock)?),
    }
}

/// What the main loop needs besides the node.
struct Serving {
    uplink: Uplink,
    state: StateFile,
    clock: Clock,
    poll_ms: u64,
}

impl Serving {
    /// Applies the saved settings, then polls the node on schedule and
    /// keeps the link serviced in between.
    fn run<S, A>(mut self, mut node: Node<S, A>) -> Result<(), NodeError>
    where
        S: SampleSource,
        A: NodeApp<Sample = S::Sample> + Configurable,
    {
        if let Some(applied) = restore(&mut node.app, &mut self.state)? {
            eprintln!(
                "retrofit-node: saved settings from {}: {applied:?}",
                self.state.path().display()
            );
        }
        let mut next_poll = self.clock.now_ms();
        loop {
            let now = self.clock.now_ms();
            if now >= next_poll {
                let output = node.poll(now)?;
                self.uplink.queue(&output, now)?;
                next_poll = now.saturating_add(self.poll_ms);
            }
            for settings in self.uplink.service(now)? {
                self.apply(&mut node.app, &settings, now);
            }
            let idle = next_poll.saturating_sub(self.clock.now_ms()).min(IDLE_MS);
            std::thread::sleep(Duration::from_millis(idle));
        }
    }

    /// Applies a Config, saves what changed, and reports the values in
    /// effect from the next heartbeat on. A failed save is logged: the
    /// settings still apply until the next restart.
    fn apply<A: Configurable>(
        &mut self,
        app: &mut A,
        settings: &retrofit_protocols::edge::Settings,
        now: u64,
    ) {
        match apply_and_save(app, settings, &mut self.state) {
            Ok(applied) => eprintln!("retrofit-node: settings from the gateway: {applied:?}"),
            Err(e) => eprintln!("retrofit-node: settings applied but not saved: {e}"),
        }
        match app.settings().report() {
            Ok(report) => self.uplink.report_settings(report, now),
            Err(e) => eprintln!("retrofit-node: cannot report settings: {e}"),
        }
    }
}

type Battery = AnalogPercent<IioChannel>;

fn battery(file: &NodeFile) -> Result<Option<Battery>, NodeError> {
    let Some(section) = &file.battery else {
        return Ok(None);
    };
    let gauge = AnalogPercent::new(IioChannel(section.iio.clone()), section.percent_config()?)?;
    Ok(Some(gauge))
}

fn i2c(file: &NodeFile) -> Result<I2cdev, NodeError> {
    let bus = &file.i2c.as_ref().ok_or(NodeError::Missing("i2c"))?.bus;
    I2cdev::new(bus).map_err(|e| NodeError::Device {
        what: bus.display().to_string(),
        source: std::io::Error::other(e),
    })
}

fn gpio(file: &NodeFile) -> Result<Gpio, NodeError> {
    let section = file.gpio.as_ref().ok_or(NodeError::Missing("gpio"))?;
    Gpio::open(&section.chip, section.active_low, section.debounce_ms)
        .map_err(device(section.chip.display().to_string()))
}

type ElevatorNode = Node<
    ElevatorBoard<
        lis3dh::Lis3dh<I2cdev>,
        retrofit_firmware::drivers::contact::Contact<linux_embedded_hal::CdevPin>,
        Battery,
    >,
    ElevatorApp,
>;

fn elevator(file: &NodeFile) -> Result<ElevatorNode, NodeError> {
    let section = file
        .elevator
        .as_ref()
        .ok_or(NodeError::Missing("elevator"))?;
    let accelerometer = lis3dh::Lis3dh::new(
        i2c(file)?,
        section.accelerometer_address,
        lis3dh::Config::default(),
    )
    .map_err(|e| NodeError::Driver(format!("LIS3DH: {e}")))?;
    let mut gpio = gpio(file)?;
    let mut line = |n: u32| gpio.contact(n).map_err(device(format!("GPIO line {n}")));
    let mut mode_keys = heapless::Vec::new();
    for key in &section.mode_keys {
        let entry = (config::parse_mode(&key.mode)?, line(key.line)?);
        mode_keys
            .push(entry)
            .map_err(|_| ConfigFileError::Invalid("elevator.mode_keys: at most 4".into()))?;
    }
    let board = ElevatorBoard {
        accelerometer,
        door_closed: line(section.door_closed_line)?,
        door_open: line(section.door_open_line)?,
        level_upper: line(section.level_upper_line)?,
        level_lower: line(section.level_lower_line)?,
        supply: section.supply_line.map(&mut line).transpose()?,
        occupancy: section.occupancy_line.map(&mut line).transpose()?,
        load: None,
        mode_keys,
    };
    let app = ElevatorApp::new(section.app_config()?)?;
    Ok(Node {
        sensors: board,
        app,
    })
}

fn parking(
    file: &NodeFile,
) -> Result<Node<ParkingBoard<qmc5883l::Qmc5883l<I2cdev>, Battery>, ParkingApp>, NodeError> {
    let section = file.parking.as_ref().ok_or(NodeError::Missing("parking"))?;
    let magnetometer = qmc5883l::Qmc5883l::new(i2c(file)?, qmc5883l::Config::default())
        .map_err(|e| NodeError::Driver(format!("QMC5883L: {e}")))?;
    let board = ParkingBoard {
        magnetometer,
        battery: battery(file)?,
    };
    let app = ParkingApp::new(section.app_config()?)?;
    Ok(Node {
        sensors: board,
        app,
    })
}

fn drainage(
    file: &NodeFile,
    clock: Clock,
) -> Result<Node<DrainageBoard<LevelSource, &'static TipCounter, Battery>, DrainageApp>, NodeError>
{
    let section = file
        .drainage
        .as_ref()
        .ok_or(NodeError::Missing("drainage"))?;
    let level = match &section.level {
        LevelSection::Ultrasonic(u) => {
            // A02YYUW: 9600 8N1, a frame every ~100 ms.
            let port = serial(&u.serial, 9600, Duration::from_millis(500))
                .map_err(device(u.serial.clone()))?;
            LevelSource::Ultrasonic(UltrasonicLevel::new(A02yyuw::new(port), u.mount_height_m)?)
        }
        LevelSection::Transmitter(t) => LevelSource::Transmitter(LevelTransmitter::new(
            IioChannel(t.iio.clone()),
            t.loop_config()?,
        )?),
    };
    // One gauge for the life of the process, shared with its event thread;
    // without a rain line it counts nothing and the app reports no rain.
    let rain: &'static TipCounter = Box::leak(Box::new(TipCounter::new(DEFAULT_DEBOUNCE_MS)));
    if let Some(line) = section.rain_line {
        gpio(file)?
            .spawn_tip_counter(line, rain, clock)
            .map_err(device(format!("GPIO line {line}")))?;
    }
    let board = DrainageBoard {
        level,
        rain,
        battery: battery(file)?,
    };
    let app = DrainageApp::new(section.app_config())?;
    Ok(Node {
        sensors: board,
        app,
    })
}
