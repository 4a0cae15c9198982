//! The `[[link]] type = "modbus"` entry and its devices (spec §7, §9): the
//! bus (an RTU serial port with its speed and parity, or a Modbus TCP
//! server), the silence between frames, the dead-slave policy, and per
//! device its slave id (unique on the bus), register map, poll interval
//! and request timeout.
//!
//! Every problem is reported at its place in the file; a config that loads
//! is complete. This module never opens the bus.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::Id;
use tokio_serial::Parity;

use super::map::{Maps, RegisterMap};
use super::plan::Block;
use crate::config::error::Problems;
use crate::devices::{Device, DeviceEntry};
use crate::links::LinkEntry;

/// Line speed of an RTU bus when `baud` is not given.
pub const DEFAULT_BAUD: u32 = 9_600;
const DEFAULT_DEAD_AFTER: u32 = 3;
const DEFAULT_DEAD_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Bits per character on the line: start, 8 data, parity or a second
/// stop bit, stop (Modbus over serial line §2.5.1).
pub const BITS_PER_CHAR: f64 = 11.0;

/// Where the bus is.
#[derive(Debug, Clone, PartialEq)]
pub enum Transport {
    Rtu {
        port: String,
        baud: u32,
        parity: Parity,
    },
    Tcp(SocketAddr),
}

/// A validated `modbus` link.
#[derive(Debug, Clone)]
pub struct ModbusLinkConfig {
    pub id: Id,
    pub site: Id,
    pub transport: Transport,
    /// Silence kept between the end of one frame and the next request.
    pub inter_frame: Duration,
    /// Consecutive timeouts after which a slave is dead.
    pub dead_after: u32,
    pub dead_backoff_max: Duration,
    pub slaves: Vec<Slave>,
    /// Where counter totals are kept across restarts (set by the daemon).
    pub data_dir: PathBuf,
}

/// A device on the bus.
#[derive(Debug, Clone)]
pub struct Slave {
    pub device: Arc<Device>,
    pub slave_id: u8,
    pub map: Arc<RegisterMap>,
    pub blocks: Vec<Block>,
    pub poll_interval: Duration,
    pub timeout: Duration,
    pub mount_height_m: Option<f64>,
}

/// 3.5 character times at `baud`, and at least 1.75 ms (the fixed value
/// the serial-line spec gives above 19,200 baud).
pub fn minimum_inter_frame(baud: u32) -> Duration {
    let char_s = BITS_PER_CHAR / f64::from(baud.max(1));
    Duration::from_secs_f64((3.5 * char_s).max(0.001_75))
}

impl ModbusLinkConfig {
    pub fn from_entry(
        entry: LinkEntry,
        site: &Id,
        devices: &[(&DeviceEntry, &Arc<Device>)],
        maps: &Maps,
        problems: &mut Problems<'_>,
    ) -> Option<Self> {
        entry.refuse_keys(
            &[
                "port",
                "baud",
                "parity",
                "tcp",
                "inter_frame_ms",
                "dead_after",
                "dead_backoff_max_s",
            ],
            problems,
        );
        if entry.url.is_some() || entry.client_id.is_some() || entry.username.is_some() {
            problems.at(entry.id.span(), "MQTT keys do not apply to a modbus link");
        }
        let transport = transport(&entry, problems);
        let baud = match &transport {
            Some(Transport::Rtu { baud, .. }) => Some(*baud),
            _ => None,
        };
        let inter_frame = inter_frame(&entry, baud, problems);
        let dead_after = entry
            .dead_after
            .as_ref()
            .map_or(DEFAULT_DEAD_AFTER, |d| *d.get_ref());
        if dead_after == 0 {
            problems.at(span(&entry.dead_after), "dead_after must be at least 1");
        }
        let dead_backoff_max = entry
            .dead_backoff_max_s
            .as_ref()
            .map_or(DEFAULT_DEAD_BACKOFF_MAX, |s| {
                Duration::from_secs(u64::from(*s.get_ref()).max(1))
            });
        let tcp = matches!(transport, Some(Transport::Tcp(_)));
        let slaves = super::slaves::slaves(devices, maps, tcp, problems);
        Some(Self {
            id: entry.id.into_inner(),
            site: site.clone(),
            transport: transport?,
            inter_frame,
            dead_after: dead_after.max(1),
            dead_backoff_max,
            slaves,
            data_dir: PathBuf::new(),
        })
    }
}

fn span<T>(v: &Option<toml::Spanned<T>>) -> std::ops::Range<usize> {
    v.as_ref().map_or(0..0, toml::Spanned::span)
}

fn transport(entry: &LinkEntry, problems: &mut Problems<'_>) -> Option<Transport> {
    match (&entry.port, &entry.tcp) {
        (Some(port), None) if !port.get_ref().trim().is_empty() => {
            let baud = entry.baud.as_ref().map_or(DEFAULT_BAUD, |b| *b.get_ref());
            if !(300..=4_000_000).contains(&baud) {
                problems.at(span(&entry.baud), "baud must be between 300 and 4000000");
            }
            let parity = match entry.parity.as_ref().map(|p| p.get_ref().as_str()) {
                None | Some("none") => Parity::None,
                Some("even") => Parity::Even,
                Some("odd") => Parity::Odd,
                Some(_) => {
                    problems.at(span(&entry.parity), "parity must be none, even or odd");
                    Parity::None
                }
            };
            Some(Transport::Rtu {
                port: port.get_ref().clone(),
                baud,
                parity,
            })
        }
        (None, Some(tcp)) => {
            for (key, s) in [("baud", span(&entry.baud)), ("parity", span(&entry.parity))] {
                if s != (0..0) {
                    problems.at(s, format!("key {key} does not apply to Modbus TCP"));
                }
            }
            match tcp.get_ref().parse::<SocketAddr>() {
                Ok(addr) => Some(Transport::Tcp(addr)),
                Err(_) => {
                    problems.at(tcp.span(), "tcp must be an address such as 192.0.2.10:502");
                    None
                }
            }
        }
        (Some(port), None) => {
            problems.at(port.span(), "port must be a serial device path");
            None
        }
        (Some(_), Some(tcp)) => {
            problems.at(
                tcp.span(),
                "a modbus link has either a port (RTU) or tcp, not both",
            );
            None
        }
        (None, None) => {
            problems.at(
                entry.id.span(),
                format!("link {} needs a port (RTU) or tcp", entry.id.get_ref()),
            );
            None
        }
    }
}

fn inter_frame(entry: &LinkEntry, baud: Option<u32>, problems: &mut Problems<'_>) -> Duration {
    let minimum = baud.map_or(Duration::ZERO, minimum_inter_frame);
    let Some(ms) = &entry.inter_frame_ms else {
        return minimum;
    };
    let wanted = *ms.get_ref();
    if !(wanted.is_finite() && (0.0..=10_000.0).contains(&wanted)) {
        problems.at(ms.span(), "inter_frame_ms must be between 0 and 10000");
        return minimum;
    }
    let wanted = Duration::from_secs_f64(wanted / 1000.0);
    if wanted < minimum {
        problems.at(
            ms.span(),
            format!(
                "inter_frame_ms must be at least 3.5 character times ({:.3} ms at this baud)",
                minimum.as_secs_f64() * 1000.0
            ),
        );
        return minimum;
    }
    wanted
}
