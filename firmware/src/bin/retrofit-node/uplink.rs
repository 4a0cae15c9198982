//! The node's side of the edge link on a serial port: queues each poll's
//! telemetry and alarm transitions in the `NodeLink` resend ring, sends
//! and resends them, sends heartbeats (with the settings report once the
//! gateway has sent a Config), and handles what the gateway sends back
//! (acks, time sync; Config frames are acknowledged and handed to the
//! caller to apply). Never blocks longer than the port's read timeout.

use std::io;
use std::time::Duration;

use linux_embedded_hal::serialport::{SerialPort, TTYPort};
use retrofit_firmware::apps::NodeOutput;
use retrofit_firmware::link::{Backoff, NodeLink, QueueError, SendError};
use retrofit_protocols::edge::{Capabilities, FrameDecoder, MetricsError, NodeId, Settings};
use retrofit_protocols::{DeviceKind, IdError};

use super::hardware::{serial, StdIo};

/// Unacknowledged frames kept for resending.
pub const RESEND_RING: usize = 8;

/// What can go wrong on the link.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    #[error("serial port: {0}")]
    Io(#[from] io::Error),
    #[error("cannot queue a frame: {0}")]
    Queue(#[from] QueueError),
    #[error("cannot send a frame: {0}")]
    Send(#[from] SendError<io::Error>),
    #[error("telemetry does not fit a frame: {0}")]
    Metrics(#[from] MetricsError),
    #[error("event name: {0}")]
    EventName(#[from] IdError),
    #[error("node id 0 is reserved")]
    NodeId,
}

/// The link and its port.
pub struct Uplink {
    link: NodeLink<RESEND_RING>,
    port: StdIo<TTYPort>,
    decoder: FrameDecoder,
    heartbeat_ms: u64,
    next_heartbeat_ms: u64,
    battery_pct: Option<u8>,
    /// The settings in effect, reported in heartbeats once set.
    report: Option<Settings>,
}

impl Uplink {
    /// Opens the port and queues the Hello (with the `CONFIG` capability:
    /// this node applies Config frames).
    pub fn open(
        path: &str,
        baud: u32,
        node: u16,
        kind: DeviceKind,
        heartbeat_s: u64,
        now_ms: u64,
    ) -> Result<Self, UplinkError> {
        let node = NodeId::new(node).map_err(|_| UplinkError::NodeId)?;
        let mut link = NodeLink::new(node, Backoff::DEFAULT);
        let mut hello = retrofit_firmware::hello(kind);
        hello.capabilities = hello.capabilities.union(Capabilities::CONFIG);
        link.queue(hello, now_ms)?;
        Ok(Self {
            link,
            port: serial(path, baud, Duration::from_millis(10))?,
            decoder: FrameDecoder::new(),
            heartbeat_ms: heartbeat_s.saturating_mul(1000),
            next_heartbeat_ms: now_ms,
            battery_pct: None,
            report: None,
        })
    }

    /// From now on every heartbeat reports `settings`, and the next one
    /// goes out at once.
    pub fn report_settings(&mut self, settings: Settings, now_ms: u64) {
        self.report = Some(settings);
        self.next_heartbeat_ms = now_ms;
    }

    /// Queues a poll's output, stamped with the link's clock.
    pub fn queue(&mut self, output: &NodeOutput, now_ms: u64) -> Result<(), UplinkError> {
        let stamp = self.link.stamp(now_ms);
        if let Some(telemetry) = &output.telemetry {
            self.battery_pct = telemetry.battery_pct().or(self.battery_pct);
            self.link.queue(telemetry.to_edge(stamp)?, now_ms)?;
        }
        for transition in &output.events {
            self.link.queue(transition.to_edge(stamp)?, now_ms)?;
        }
        Ok(())
    }

    /// Sends what is due, a heartbeat when due, and handles incoming
    /// frames; returns the settings of the Config frames received (already
    /// acknowledged), for the caller to apply.
    pub fn service(&mut self, now_ms: u64) -> Result<Vec<Settings>, UplinkError> {
        self.link.poll(now_ms, &mut self.port)?;
        if now_ms >= self.next_heartbeat_ms {
            let report = self.report.clone().unwrap_or_default();
            self.link
                .heartbeat_reporting(now_ms, self.battery_pct, &report, &mut self.port)?;
            self.next_heartbeat_ms = now_ms.saturating_add(self.heartbeat_ms);
        }
        self.receive(now_ms)
    }

    fn receive(&mut self, now_ms: u64) -> Result<Vec<Settings>, UplinkError> {
        let mut configs = Vec::new();
        let waiting = self.port.0.bytes_to_read().map_err(io::Error::from)?;
        if waiting == 0 {
            return Ok(configs);
        }
        let mut buf = [0u8; 256];
        let n = embedded_io::Read::read(&mut self.port, &mut buf)?;
        let frames: Vec<_> = self.decoder.feed(&buf[..n]).collect();
        for frame in frames {
            match frame {
                Ok(frame) => {
                    if let Some(config) = self.link.receive(&frame, now_ms, &mut self.port)? {
                        configs.push(config.settings);
                    }
                }
                Err(e) => eprintln!("retrofit-node: bad frame from the gateway: {e}"),
            }
        }
        Ok(configs)
    }
}
