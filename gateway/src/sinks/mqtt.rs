//! The normalized MQTT output (spec §5): every reading on
//! `retrofit/v1/{site}/{kind}/{device}/{channel}` with QoS 1 (status
//! retained), dead letters on the gateway's `deadletter` topic, and the
//! gateway's retained status with an `offline` last will.
//!
//! A batch counts as delivered when the broker has acknowledged every
//! publish of it; its publishes go out many per write (up to 1,000 in
//! flight) and their PUBACKs are read many per read. On any connection problem the connection is thrown away
//! (no stale in-flight state can acknowledge a later batch) and the batch
//! is retried whole; consumers drop replays by `seq`.

use std::time::Duration;

use retrofit_protocols::reading::{Body, BoundedText, Reading, StatusBody};
use retrofit_protocols::topic::{Channel, Topic};
use retrofit_protocols::Presence;
use rumqttc::{LastWill, Packet, QoS};

use crate::broker::BrokerConfig;
use crate::forwarder::{Output, OutputError};
use crate::intake::GatewayIdentity;
use crate::journal::{Entry, RecordClass};
use crate::mqtt_session::{MqttSession, SessionError, SessionOptions};

/// How long a batch may wait for the broker's acknowledgements.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// Publishes in flight on one connection.
const INFLIGHT: usize = 1000;

/// Publishes journal entries to the output broker.
pub struct MqttSink {
    broker: BrokerConfig,
    identity: std::sync::Arc<GatewayIdentity>,
    session: Option<MqttSession>,
}

/// One message to publish.
struct Message<'a> {
    topic: String,
    payload: &'a [u8],
    retain: bool,
}

impl MqttSink {
    pub fn new(broker: BrokerConfig, identity: std::sync::Arc<GatewayIdentity>) -> Self {
        Self {
            broker,
            identity,
            session: None,
        }
    }

    /// The gateway's status reading (also the last will when offline).
    fn gateway_status(&self, status: Presence, reason: &str) -> Reading {
        let (ts, _) = self.identity.seq.peek();
        self.identity.reading(Body::Status(StatusBody {
            status,
            since: ts,
            last_seen: None,
            reason: BoundedText::lossy(reason),
        }))
    }

    fn gateway_topic(&self, channel: Channel) -> String {
        Topic::new(
            self.identity.site.clone(),
            retrofit_protocols::DeviceKind::Gateway,
            self.identity.gateway.clone(),
            channel,
        )
        .to_string()
    }

    /// Connects, waits for the CONNACK, and publishes the online status.
    async fn connect(&mut self) -> Result<(), OutputError> {
        let will = self.gateway_status(Presence::Offline, "connection lost");
        let status_topic = self.gateway_topic(Channel::Status);
        let options = SessionOptions {
            clean_session: true,
            last_will: Some(LastWill::new(
                &status_topic,
                will.to_json(),
                QoS::AtLeastOnce,
                true,
            )),
        };
        let (session, _) = MqttSession::connect(&self.broker, options)
            .await
            .map_err(|e| retry(format!("output broker: {e}")))?;
        tracing::info!(broker = %self.broker.url, "output broker connected");
        self.session = Some(session);
        let online = self.gateway_status(Presence::Online, "running").to_json();
        let message = Message {
            topic: status_topic,
            payload: &online,
            retain: true,
        };
        self.publish_all(&[message]).await
    }

    /// Publishes with up to [`INFLIGHT`] unacknowledged, many per write,
    /// and waits for every acknowledgement.
    async fn publish_all(&mut self, messages: &[Message<'_>]) -> Result<(), OutputError> {
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| retry("not connected".into()))?;
        let deadline = tokio::time::Instant::now() + ACK_TIMEOUT;
        let (mut sent, mut pending) = (0usize, 0usize);
        let mut packets = Vec::new();
        while sent < messages.len() || pending > 0 {
            while sent < messages.len() && pending < INFLIGHT {
                let m = &messages[sent];
                session
                    .publish(&m.topic, m.payload, m.retain)
                    .map_err(lost)?;
                sent += 1;
                pending += 1;
            }
            session.flush().await.map_err(lost)?;
            tokio::time::timeout_at(deadline, session.read(&mut packets))
                .await
                .map_err(|_| retry("output broker did not acknowledge in time".into()))?
                .map_err(lost)?;
            for packet in packets.drain(..) {
                if matches!(packet, Packet::PubAck(_)) {
                    pending = pending.saturating_sub(1);
                }
            }
        }
        session.flush().await.map_err(lost)
    }

    fn message<'a>(&self, entry: &'a Entry) -> Option<Message<'a>> {
        if entry.class == RecordClass::DeadLetter {
            return Some(Message {
                topic: self.gateway_topic(Channel::Deadletter),
                payload: &entry.payload,
                retain: false,
            });
        }
        match entry.reading() {
            Ok(r) => Some(Message {
                topic: r.topic().to_string(),
                payload: &entry.payload,
                retain: r.channel().retained(),
            }),
            Err(e) => {
                tracing::error!(pos = entry.pos, error = %e, "journal entry is not a reading; skipped");
                None
            }
        }
    }
}

fn lost(e: SessionError) -> OutputError {
    retry(format!("output broker: {e}"))
}

fn retry(reason: String) -> OutputError {
    OutputError::Retry {
        reason,
        after: None,
    }
}

impl Output for MqttSink {
    fn name(&self) -> &str {
        "mqtt"
    }

    async fn deliver(&mut self, batch: &[Entry]) -> Result<(), OutputError> {
        if self.session.is_none() {
            self.connect().await.inspect_err(|_| self.session = None)?;
        }
        let messages: Vec<_> = batch.iter().filter_map(|e| self.message(e)).collect();
        let res = self.publish_all(&messages).await;
        if res.is_err() {
            self.session = None;
        }
        res
    }

    /// Disconnects cleanly so the broker keeps the last published status
    /// instead of firing the `connection lost` will.
    async fn close(&mut self) {
        if let Some(session) = self.session.take() {
            session.disconnect().await;
        }
    }
}
