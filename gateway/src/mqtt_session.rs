//! One MQTT 3.1.1 connection, driven by the task that owns it: the links
//! that subscribe and the normalized-MQTT sink that publishes.
//!
//! Packets are encoded and decoded by `rumqttc`'s codec (`mqttbytes`); only
//! the session loop is ours. It is hand-written because `rumqttc`'s event
//! loop writes and flushes each request on its own (one `write` per PUBACK
//! and per PUBLISH) and hands every event across a channel: measured end to
//! end (docs/BENCHMARKS.md, issue 9) that cost more CPU than everything
//! else per reading. Here the owner queues any number of packets and
//! writes them with one `flush`, and one `read` returns every packet the
//! socket had ready.
//!
//! The session never interprets what it carries (acks and their order are
//! the owner's business) and never blocks on anything but its own socket;
//! every wait is bounded by the keep-alive or the caller's deadline.

use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes;
use rumqttc::{ConnectReturnCode, LastWill, Login, Packet, PubAck, Publish, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::broker::BrokerConfig;

/// How long the TCP connect and the CONNACK may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Keep-alive announced to the broker; a PINGREQ goes out when nothing was
/// written for this long.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// Largest packet accepted or sent.
pub const MAX_PACKET_BYTES: usize = 256 * 1024;
/// Bytes read per `read` call at most.
const READ_CHUNK: usize = 64 * 1024;

/// Why a session ended or could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("broker connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("broker sent a malformed packet: {0}")]
    Malformed(String),
    #[error("broker refused the connection: {0:?}")]
    Refused(ConnectReturnCode),
    #[error("broker did not answer {0} in time")]
    Timeout(&'static str),
    #[error("broker closed the connection")]
    Closed,
    #[error("packet not sent: {0}")]
    Encode(String),
}

/// What to connect with, besides the broker's address and credentials.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Start a new session (`true`) or resume the broker's stored one.
    pub clean_session: bool,
    pub last_will: Option<LastWill>,
}

/// A connected session.
pub struct MqttSession {
    stream: TcpStream,
    read_buf: BytesMut,
    write_buf: BytesMut,
    last_write: Instant,
    last_read: Instant,
    next_pkid: u16,
    /// Packets that arrived with the CONNACK (a resumed session's
    /// redeliveries), returned by the first `read`.
    early: Vec<Packet>,
}

impl MqttSession {
    /// Connects and waits for a successful CONNACK; returns the session and
    /// whether the broker resumed a stored session.
    pub async fn connect(
        broker: &BrokerConfig,
        options: SessionOptions,
    ) -> Result<(Self, bool), SessionError> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::handshake(broker, options))
            .await
            .map_err(|_| SessionError::Timeout("the connection"))?
    }

    async fn handshake(
        broker: &BrokerConfig,
        options: SessionOptions,
    ) -> Result<(Self, bool), SessionError> {
        let stream = TcpStream::connect((broker.url.host.as_str(), broker.url.port)).await?;
        stream.set_nodelay(true)?;
        let now = Instant::now();
        let mut session = Self {
            stream,
            read_buf: BytesMut::with_capacity(READ_CHUNK),
            write_buf: BytesMut::with_capacity(READ_CHUNK),
            last_write: now,
            last_read: now,
            next_pkid: 0,
            early: Vec::new(),
        };
        let mut connect = rumqttc::Connect::new(broker.client_id.as_str());
        connect.keep_alive = KEEP_ALIVE.as_secs() as u16;
        connect.clean_session = options.clean_session;
        connect.last_will = options.last_will;
        connect.login = broker.username.as_ref().map(|user| {
            let pass = broker.password.as_ref().map_or("", |p| p.expose());
            Login::new(user.as_str(), pass)
        });
        session.queue(&Packet::Connect(connect))?;
        session.flush().await?;
        let mut packets = Vec::new();
        while packets.is_empty() {
            session.read(&mut packets).await?;
        }
        let mut packets = packets.into_iter();
        match packets.next() {
            Some(Packet::ConnAck(ack)) if ack.code == ConnectReturnCode::Success => {
                session.early = packets.collect();
                Ok((session, ack.session_present))
            }
            Some(Packet::ConnAck(ack)) => Err(SessionError::Refused(ack.code)),
            other => Err(SessionError::Malformed(format!(
                "expected CONNACK, got {other:?}"
            ))),
        }
    }

    /// Encodes `packet` into the write buffer (sent by the next `flush`).
    pub fn queue(&mut self, packet: &Packet) -> Result<(), SessionError> {
        packet
            .write(&mut self.write_buf, MAX_PACKET_BYTES)
            .map(drop)
            .map_err(|e| SessionError::Encode(e.to_string()))
    }

    /// Queues a QoS 1 PUBLISH and returns its packet id.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
    ) -> Result<u16, SessionError> {
        let pkid = self.take_pkid();
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, payload);
        publish.retain = retain;
        publish.pkid = pkid;
        self.queue(&Packet::Publish(publish))?;
        Ok(pkid)
    }

    /// Queues the PUBACK of an incoming QoS 1 publish.
    pub fn ack(&mut self, pkid: u16) -> Result<(), SessionError> {
        self.queue(&Packet::PubAck(PubAck::new(pkid)))
    }

    /// A fresh packet id (1..=65535, never 0).
    pub fn take_pkid(&mut self) -> u16 {
        self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
        self.next_pkid
    }

    /// Writes everything queued, in one write when the socket takes it.
    /// Not cancel-safe: call it outside `select!`.
    pub async fn flush(&mut self) -> Result<(), SessionError> {
        if !self.write_buf.is_empty() {
            self.stream.write_all(&self.write_buf).await?;
            self.write_buf.clear();
            self.last_write = Instant::now();
        }
        Ok(())
    }

    /// Waits until at least one packet has arrived and appends every
    /// complete packet received so far to `out`, or until a PINGREQ is due
    /// (then queues it and returns with `out` unchanged: flush next).
    /// Cancel-safe: nothing read is lost if the future is dropped.
    pub async fn read(&mut self, out: &mut Vec<Packet>) -> Result<(), SessionError> {
        if !self.early.is_empty() {
            out.append(&mut self.early);
            return Ok(());
        }
        loop {
            let before = out.len();
            self.decode_into(out)?;
            if out.len() > before {
                self.last_read = Instant::now();
                return Ok(());
            }
            if self.last_read.elapsed() > 2 * KEEP_ALIVE {
                return Err(SessionError::Timeout("a keep-alive ping"));
            }
            let ping_at = self.ping_due();
            self.read_buf.reserve(READ_CHUNK);
            tokio::select! {
                n = self.stream.read_buf(&mut self.read_buf) => {
                    if n? == 0 {
                        return Err(SessionError::Closed);
                    }
                    self.ack_segments_at_once();
                }
                () = tokio::time::sleep_until(ping_at) => {
                    self.queue(&Packet::PingReq)?;
                    return Ok(());
                }
            }
        }
    }

    /// Asks the kernel to acknowledge received TCP segments at once rather
    /// than after its delayed-ACK timer (40 ms on Linux). A broker that
    /// leaves Nagle's algorithm on (Mosquitto's default) holds back the
    /// rest of a burst of small packets (our PUBACKs, the next PUBLISHes)
    /// until its first segment is acknowledged: measured end to end, every
    /// batch waited 40 ms for it. The mode is not sticky, hence after each
    /// read. Best effort: a failure only costs latency.
    fn ack_segments_at_once(&self) {
        #[cfg(target_os = "linux")]
        {
            let _ = socket2::SockRef::from(&self.stream).set_tcp_quickack(true);
        }
    }

    /// When a PINGREQ is due if nothing else is written.
    pub fn ping_due(&self) -> Instant {
        self.last_write + KEEP_ALIVE
    }

    /// Queues a PINGREQ (for owners not reading while they wait).
    pub fn queue_ping(&mut self) -> Result<(), SessionError> {
        self.queue(&Packet::PingReq)
    }

    /// Decodes every complete packet in the read buffer.
    fn decode_into(&mut self, out: &mut Vec<Packet>) -> Result<(), SessionError> {
        loop {
            match Packet::read(&mut self.read_buf, MAX_PACKET_BYTES) {
                Ok(packet) => out.push(packet),
                Err(mqttbytes::Error::InsufficientBytes(_)) => return Ok(()),
                Err(e) => return Err(SessionError::Malformed(e.to_string())),
            }
        }
    }

    /// Sends DISCONNECT (the broker then discards the last will) and closes.
    pub async fn disconnect(mut self) {
        if self.queue(&Packet::Disconnect).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), self.flush()).await;
            let _ = self.stream.shutdown().await;
        }
    }
}
