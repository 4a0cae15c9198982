//! Linux glue for the drivers: GPIO lines through the character device,
//! ADC channels through IIO sysfs, serial ports as `embedded-io` streams,
//! the rain gauge's edge events on a thread, and the node's monotonic
//! clock. Never parses configuration and never decides anything about
//! readings.

use std::io;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use linux_embedded_hal::gpio_cdev::{Chip, EventRequestFlags, EventType, LineRequestFlags};
use linux_embedded_hal::serialport::{self, TTYPort};
use linux_embedded_hal::CdevPin;
use retrofit_firmware::adc::Adc;
use retrofit_firmware::drivers::a02yyuw::UltrasonicLevel;
use retrofit_firmware::drivers::contact::{Contact, Polarity};
use retrofit_firmware::drivers::level_transmitter::LevelTransmitter;
use retrofit_firmware::drivers::rain_gauge::TipCounter;
use retrofit_firmware::sensor::{LevelGauge, SensorFault};

const CONSUMER: &str = "retrofit-node";

/// Milliseconds since the node started (monotonic).
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn start() -> Self {
        Self(Instant::now())
    }

    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A `std::io` stream as an `embedded-io` one.
#[derive(Debug)]
pub struct StdIo<T>(pub T);

impl<T> embedded_io::ErrorType for StdIo<T> {
    type Error = io::Error;
}

impl<T: io::Read> embedded_io::Read for StdIo<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        self.0.read(buf)
    }
}

impl<T: io::Write> embedded_io::Write for StdIo<T> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> Result<(), io::Error> {
        self.0.flush()
    }
}

/// Opens a serial port, 8N1, with a read timeout.
pub fn serial(path: &str, baud: u32, timeout: Duration) -> io::Result<StdIo<TTYPort>> {
    let port = serialport::new(path, baud)
        .timeout(timeout)
        .open_native()
        .map_err(io::Error::from)?;
    Ok(StdIo(port))
}

/// An ADC channel's `in_voltageN_raw` file.
#[derive(Debug)]
pub struct IioChannel(pub PathBuf);

impl Adc for IioChannel {
    type Error = io::Error;

    fn read_counts(&mut self) -> io::Result<u16> {
        let text = std::fs::read_to_string(&self.0)?;
        text.trim()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// The GPIO chip the node's contacts are on.
pub struct Gpio {
    chip: Chip,
    polarity: Polarity,
    debounce_ms: u32,
}

impl Gpio {
    pub fn open(path: &std::path::Path, active_low: bool, debounce_ms: u32) -> io::Result<Self> {
        let chip = Chip::new(path).map_err(io::Error::other)?;
        let polarity = if active_low {
            Polarity::ActiveLow
        } else {
            Polarity::ActiveHigh
        };
        Ok(Self {
            chip,
            polarity,
            debounce_ms,
        })
    }

    /// A debounced contact on `line`.
    pub fn contact(&mut self, line: u32) -> io::Result<Contact<CdevPin>> {
        let handle = self
            .chip
            .get_line(line)
            .and_then(|l| l.request(LineRequestFlags::INPUT, 0, CONSUMER))
            .map_err(io::Error::other)?;
        let pin = CdevPin::new(handle).map_err(io::Error::other)?;
        Ok(Contact::new(pin, self.polarity, self.debounce_ms))
    }

    /// Counts closures of the switch on `line` into `gauge` from a thread:
    /// the Linux stand-in for the tip interrupt.
    pub fn spawn_tip_counter(
        &mut self,
        line: u32,
        gauge: &'static TipCounter,
        clock: Clock,
    ) -> io::Result<()> {
        let edge = match self.polarity {
            Polarity::ActiveLow => (EventRequestFlags::FALLING_EDGE, EventType::FallingEdge),
            Polarity::ActiveHigh => (EventRequestFlags::RISING_EDGE, EventType::RisingEdge),
        };
        let events = self
            .chip
            .get_line(line)
            .and_then(|l| l.events(LineRequestFlags::INPUT, edge.0, CONSUMER))
            .map_err(io::Error::other)?;
        thread::Builder::new()
            .name("rain-gauge".into())
            .spawn(move || {
                for event in events {
                    match event {
                        Ok(e) if e.event_type() == edge.1 => {
                            gauge.on_tip(clock.now_ms());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            eprintln!(
                                "retrofit-node: rain gauge line failed, no more tips counted: {e}"
                            );
                            return;
                        }
                    }
                }
            })?;
        Ok(())
    }
}

/// The drainage level source chosen by configuration.
pub enum LevelSource {
    Ultrasonic(UltrasonicLevel<StdIo<TTYPort>>),
    Transmitter(LevelTransmitter<IioChannel>),
}

impl LevelGauge for LevelSource {
    fn level_m(&mut self) -> Result<f32, SensorFault> {
        match self {
            Self::Ultrasonic(sensor) => sensor.level_m(),
            Self::Transmitter(sensor) => sensor.level_m(),
        }
    }
}
