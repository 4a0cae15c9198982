//! The edge link's frames and messages as Rust values (spec §7): what a
//! node and the gateway say to each other, independent of the bytes.
//!
//! Every type here is valid by construction where the wire can express
//! nonsense (node 0, duplicate metrics, more than [`MAX_METRICS`]); this
//! module must never hold heap data or know about byte layout.

use core::fmt;

use super::settings::Settings;
use crate::id::IdError;
use crate::metric::{validated_name, NAME_MAX_LEN};
use crate::{DeviceKind, EventName, EventState, MetricName, Severity, Timestamp, Value};

/// Most metrics one Telemetry frame carries.
pub const MAX_METRICS: usize = 12;

/// A node's address on the link: `1..=0xFFFE`, mapped by the gateway config
/// to a device (`[[device]]` `address`). [`NodeId::BROADCAST`] addresses
/// every node and only appears in gateway-to-node frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u16);

/// 0 is not a node address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node id 0 is reserved")]
pub struct ReservedNodeId;

impl NodeId {
    /// Every node at once (gateway to node only).
    pub const BROADCAST: NodeId = NodeId(0xFFFF);

    /// A node address; 0 is refused, `0xFFFF` is [`NodeId::BROADCAST`].
    pub const fn new(raw: u16) -> Result<Self, ReservedNodeId> {
        match raw {
            0 => Err(ReservedNodeId),
            _ => Ok(Self(raw)),
        }
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    pub const fn is_broadcast(self) -> bool {
        self.0 == Self::BROADCAST.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One frame: who it is about, its place in the sender's sequence, and what
/// it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Node to gateway: the sender. Gateway to node: the addressee.
    pub node: NodeId,
    /// The sender's sequence number for this frame (see [`Frame::reliable`]).
    pub seq: u32,
    /// The sender keeps this frame and resends it until it is acknowledged.
    pub ack_requested: bool,
    pub message: Message,
}

impl Frame {
    /// A frame kept for resend until acknowledged; `seq` is the sender's next
    /// sequence number (1, 2, 3... per boot, 0 never used).
    pub fn reliable(node: NodeId, seq: u32, message: impl Into<Message>) -> Self {
        Self {
            node,
            seq,
            ack_requested: true,
            message: message.into(),
        }
    }

    /// A frame sent once and never acknowledged (Heartbeat, Ack, TimeSync);
    /// `seq` is informational (the sender's last assigned sequence number).
    pub fn unsequenced(node: NodeId, seq: u32, message: impl Into<Message>) -> Self {
        Self {
            node,
            seq,
            ack_requested: false,
            message: message.into(),
        }
    }
}

/// Everything a frame can say.
///
/// Telemetry dominates its size (about 1.25 KiB); without a heap there is
/// nothing to box it into, and a frame is built and consumed in place.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Hello(Hello),
    Telemetry(Telemetry),
    Event(Event),
    Heartbeat(Heartbeat),
    Ack(Ack),
    TimeSync(TimeSync),
    Config(Config),
}

/// The message type byte of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Hello = 0x01,
    Telemetry = 0x02,
    Event = 0x03,
    Heartbeat = 0x04,
    Ack = 0x10,
    TimeSync = 0x11,
    Config = 0x12,
}

impl MessageType {
    pub const ALL: [MessageType; 7] = [
        Self::Hello,
        Self::Telemetry,
        Self::Event,
        Self::Heartbeat,
        Self::Ack,
        Self::TimeSync,
        Self::Config,
    ];

    pub const fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// Only a node sends it, so its node id names the sender and may not be
    /// [`NodeId::BROADCAST`].
    pub const fn is_from_node(self) -> bool {
        matches!(
            self,
            Self::Hello | Self::Telemetry | Self::Event | Self::Heartbeat
        )
    }
}

impl Message {
    pub const fn message_type(&self) -> MessageType {
        match self {
            Self::Hello(_) => MessageType::Hello,
            Self::Telemetry(_) => MessageType::Telemetry,
            Self::Event(_) => MessageType::Event,
            Self::Heartbeat(_) => MessageType::Heartbeat,
            Self::Ack(_) => MessageType::Ack,
            Self::TimeSync(_) => MessageType::TimeSync,
            Self::Config(_) => MessageType::Config,
        }
    }
}

macro_rules! message_from {
    ($($variant:ident),+) => {
        $(impl From<$variant> for Message {
            fn from(m: $variant) -> Self {
                Self::$variant(m)
            }
        })+
    };
}
message_from!(Hello, Telemetry, Event, Heartbeat, Ack, TimeSync, Config);

/// When a measurement or event happened, by the node's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Milliseconds since the node booted: the node has no TimeSync yet; the
    /// gateway converts with its own receive time.
    Uptime(u64),
    /// Unix time in milliseconds, from a clock set by TimeSync.
    Unix(Timestamp),
}

/// Firmware version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FirmwareVersion {
    pub major: u8,
    pub minor: u8,
    pub patch: u16,
}

/// What a node can do, as bits; bits unknown to this version are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(pub u16);

impl Capabilities {
    /// Sets its clock from TimeSync and then stamps with Unix time.
    pub const TIME_SYNC: Capabilities = Capabilities(1 << 0);
    /// Applies Config frames.
    pub const CONFIG: Capabilities = Capabilities(1 << 1);
    /// Runs on battery: Heartbeat's battery level is meaningful.
    pub const BATTERY: Capabilities = Capabilities(1 << 2);

    pub const fn contains(self, other: Capabilities) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn union(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 | other.0)
    }
}

/// First frame after boot: who the node is. Its sequence number starts the
/// node's new sequence space; the gateway resets its state for the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub firmware: FirmwareVersion,
    /// Never [`DeviceKind::Gateway`].
    pub kind: DeviceKind,
    pub capabilities: Capabilities,
}

/// One reading: up to [`MAX_METRICS`] distinct metrics measured together.
#[derive(Debug, Clone, PartialEq)]
pub struct Telemetry {
    pub stamp: Stamp,
    metrics: heapless::Vec<(MetricName, Value), MAX_METRICS>,
}

/// Why a metric could not be added to a [`Telemetry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("more than {MAX_METRICS} metrics")]
    TooMany,
    #[error("metric appears twice")]
    Duplicate,
}

impl Telemetry {
    /// A reading without metrics yet; add them with [`Telemetry::push`].
    pub const fn new(stamp: Stamp) -> Self {
        Self {
            stamp,
            metrics: heapless::Vec::new(),
        }
    }

    /// Adds a metric; a name already present or a full list is refused.
    pub fn push(&mut self, name: MetricName, value: Value) -> Result<(), MetricsError> {
        if self.metrics.iter().any(|(n, _)| *n == name) {
            return Err(MetricsError::Duplicate);
        }
        self.metrics
            .push((name, value))
            .map_err(|_| MetricsError::TooMany)
    }

    pub fn metrics(&self) -> &[(MetricName, Value)] {
        &self.metrics
    }
}

/// An alarm or notable happening. `detail` is a per-event argument (for
/// `charger_fault`, the OCPP error code's index; for `high_water`, the level
/// in mm); 0 when unused.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub stamp: Stamp,
    pub name: EventName,
    pub severity: Severity,
    pub state: EventState,
    pub detail: u32,
}

/// Liveness and link health, sent unsequenced every few seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub uptime_ms: u64,
    /// Unacknowledged frames the node has dropped since boot (ring overflow).
    pub dropped_frames: u32,
    /// The lowest sequence number the node still holds for resend (its next
    /// number when it holds none): every lower one is acknowledged or lost
    /// for good, so the gateway stops waiting for it.
    pub pending_from: u32,
    /// Battery level 0..=100 %, `None` when mains powered.
    pub battery_pct: Option<u8>,
    /// The settings the node runs with (EDGE_LINK.md §5, Heartbeat
    /// extensions); empty when the node reports none. A node reports them
    /// only once it has received a Config since boot, so a gateway that
    /// never sends one never sees the extension.
    pub settings: Settings,
}

/// Acknowledges every sequence number `<= up_to` (cumulative) and, through
/// `selective`, later ones: bit `i` acknowledges `up_to + 1 + i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    pub up_to: u32,
    pub selective: u32,
}

impl Ack {
    /// A plain cumulative acknowledgement.
    pub const fn cumulative(up_to: u32) -> Self {
        Self {
            up_to,
            selective: 0,
        }
    }

    /// Whether this acknowledges sequence number `seq`.
    pub const fn acknowledges(&self, seq: u32) -> bool {
        if seq <= self.up_to {
            return true;
        }
        match seq - self.up_to - 1 {
            bit @ 0..=31 => self.selective & (1 << bit) != 0,
            _ => false,
        }
    }
}

/// The gateway's Unix time, for the node to set its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSync {
    pub unix_ms: Timestamp,
}

validated_name!(
    /// A validated configuration key such as `report_interval_s`; follows
    /// the metric-name rule.
    ConfigKey, NAME_MAX_LEN, crate::metric::name_start, crate::metric::name_rest, "a config key"
);

/// Settings for a node (gateway to node, acknowledged by the node): one or
/// more distinct keys with their values; the node applies what it knows
/// and reports what it runs with in its next Heartbeat.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub settings: Settings,
}
