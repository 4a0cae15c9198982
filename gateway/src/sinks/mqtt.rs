//! The normalized MQTT output (spec §5): every reading on
//! `retrofit/v1/{site}/{kind}/{device}/{channel}` with QoS 1 (status
//! retained), dead letters on the gateway's `deadletter` topic, and the
//! gateway's retained status with an `offline` last will.
//!
//! A batch counts as delivered when the broker has acknowledged every
//! publish of it. On any connection problem the connection is thrown away
//! (no stale in-flight state can acknowledge a later batch) and the batch
//! is retried whole; consumers drop replays by `seq`.

use std::time::Duration;

use retrofit_protocols::reading::{Body, BoundedText, Reading, StatusBody};
use retrofit_protocols::topic::{Channel, Topic};
use retrofit_protocols::Presence;
use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::broker::BrokerConfig;
use crate::forwarder::{Output, OutputError};
use crate::intake::GatewayIdentity;
use crate::journal::{Entry, RecordClass};

/// How long a batch may wait for the broker's acknowledgements.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// Publishes in flight on one connection.
const INFLIGHT: u16 = 1000;

/// Publishes journal entries to the output broker.
pub struct MqttSink {
    broker: BrokerConfig,
    identity: std::sync::Arc<GatewayIdentity>,
    conn: Option<Connection>,
}

struct Connection {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<ConnEvent>,
    task: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum ConnEvent {
    Connected,
    PubAck,
    Lost(String),
}

impl MqttSink {
    pub fn new(broker: BrokerConfig, identity: std::sync::Arc<GatewayIdentity>) -> Self {
        Self {
            broker,
            identity,
            conn: None,
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
        let mut options = self.broker.options(true);
        options.set_inflight(INFLIGHT);
        options.set_last_will(LastWill::new(
            &status_topic,
            will.to_json(),
            QoS::AtLeastOnce,
            true,
        ));
        let (client, mut eventloop) = AsyncClient::new(options, usize::from(INFLIGHT));
        let (tx, mut events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let event = match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => ConnEvent::Connected,
                    Ok(Event::Incoming(Packet::PubAck(_))) => ConnEvent::PubAck,
                    Ok(_) => continue,
                    Err(e) => {
                        let _ = tx.send(ConnEvent::Lost(e.to_string()));
                        return;
                    }
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        });
        match tokio::time::timeout(ACK_TIMEOUT, events.recv()).await {
            Ok(Some(ConnEvent::Connected)) => {}
            Ok(Some(ConnEvent::Lost(e))) => return Err(retry(format!("output broker: {e}"))),
            _ => return Err(retry("output broker did not answer".into())),
        }
        tracing::info!(broker = %self.broker.url, "output broker connected");
        self.conn = Some(Connection {
            client,
            events,
            task,
        });
        let online = self.gateway_status(Presence::Online, "running");
        self.publish_all(&[(status_topic, online.to_json(), true)])
            .await
    }

    /// Publishes and waits for every acknowledgement.
    async fn publish_all(
        &mut self,
        messages: &[(String, Vec<u8>, bool)],
    ) -> Result<(), OutputError> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| retry("not connected".into()))?;
        let mut pending = 0usize;
        let mut sent = 0usize;
        let deadline = tokio::time::Instant::now() + ACK_TIMEOUT;
        while sent < messages.len() || pending > 0 {
            // Publish while there is room; the client's queue applies back-pressure.
            if sent < messages.len() && pending < usize::from(INFLIGHT) {
                let (topic, payload, retain) = &messages[sent];
                tokio::select! {
                    res = conn.client.publish(topic.as_str(), QoS::AtLeastOnce, *retain, payload.clone()) => {
                        res.map_err(|e| retry(format!("publish: {e}")))?;
                        sent += 1;
                        pending += 1;
                        continue;
                    }
                    event = conn.events.recv() => pending = on_event(event, pending)?,
                }
            } else {
                let event = tokio::time::timeout_at(deadline, conn.events.recv())
                    .await
                    .map_err(|_| retry("output broker did not acknowledge in time".into()))?;
                pending = on_event(event, pending)?;
            }
        }
        Ok(())
    }

    fn message(&self, entry: &Entry) -> Option<(String, Vec<u8>, bool)> {
        if entry.class == RecordClass::DeadLetter {
            return Some((
                self.gateway_topic(Channel::Deadletter),
                entry.payload.clone(),
                false,
            ));
        }
        match Reading::from_json(&entry.payload) {
            Ok(r) => Some((
                r.topic().to_string(),
                entry.payload.clone(),
                r.channel().retained(),
            )),
            Err(e) => {
                tracing::error!(pos = entry.pos, error = %e, "journal entry is not a reading; skipped");
                None
            }
        }
    }
}

fn on_event(event: Option<ConnEvent>, pending: usize) -> Result<usize, OutputError> {
    match event {
        Some(ConnEvent::PubAck) => Ok(pending.saturating_sub(1)),
        Some(ConnEvent::Connected) => Err(retry("output broker reconnected mid-batch".into())),
        Some(ConnEvent::Lost(e)) => Err(retry(format!("output broker: {e}"))),
        None => Err(retry("output connection closed".into())),
    }
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
        if self.conn.is_none() {
            self.connect().await.inspect_err(|_| self.conn = None)?;
        }
        let messages: Vec<_> = batch.iter().filter_map(|e| self.message(e)).collect();
        let res = self.publish_all(&messages).await;
        if res.is_err() {
            self.conn = None;
        }
        res
    }

    /// Disconnects cleanly so the broker keeps the last published status
    /// instead of firing the `connection lost` will.
    async fn close(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if conn.client.disconnect().await.is_ok() {
            // The event loop ends once the DISCONNECT is written.
            let wait = async { while conn.events.recv().await.is_some() {} };
            let _ = tokio::time::timeout(Duration::from_secs(2), wait).await;
        }
    }
}
