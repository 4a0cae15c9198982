//! MQTT clients of the benchmark (rumqttc): a connection whose event loop
//! runs in its own task, hands every received message over with the
//! wall-clock time it arrived, and reports whether the connection broke.
//!
//! Connecting waits (bounded) for the CONNACK and every SUBACK. It never
//! reconnects: a broken connection ends the measurement it belongs to,
//! because a bench that silently reconnects would report lost messages as
//! a slow broker.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long to wait for the CONNACK and the SUBACKs.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message either way.
const MAX_PACKET: usize = 64 * 1024;

/// A received message and when it arrived (Unix milliseconds).
pub struct Received {
    pub at_ms: i64,
    pub publish: Publish,
}

/// What the event loop task has seen.
#[derive(Debug, Clone, Default)]
struct State {
    connected: bool,
    subscribed: usize,
    error: Option<String>,
}

/// One client connection.
pub struct Connection {
    pub client: AsyncClient,
    pub incoming: mpsc::UnboundedReceiver<Received>,
    state: watch::Receiver<State>,
    stop: CancellationToken,
}

/// The wall-clock time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Connection {
    /// Connects to 127.0.0.1:`port` with `inflight` unacknowledged QoS 1
    /// publishes at most, subscribes at QoS 1 to `filters` and waits for
    /// every acknowledgement.
    pub async fn open(
        port: u16,
        client_id: &str,
        inflight: u16,
        filters: &[&str],
    ) -> anyhow::Result<Self> {
        let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
        options
            .set_keep_alive(Duration::from_secs(30))
            .set_inflight(inflight)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET)
            .set_clean_session(true);
        let (client, eventloop) = AsyncClient::new(options, usize::from(inflight).max(64));
        let (tx, rx) = mpsc::unbounded_channel();
        let (state_tx, mut state) = watch::channel(State::default());
        let stop = CancellationToken::new();
        tokio::spawn(drive(eventloop, tx, state_tx, stop.clone()));
        for filter in filters {
            client.subscribe(*filter, QoS::AtLeastOnce).await?;
        }
        let ready = |s: &State| s.error.is_some() || (s.connected && s.subscribed == filters.len());
        let waited = tokio::time::timeout(HANDSHAKE_TIMEOUT, state.wait_for(ready)).await;
        let outcome = waited.map(|r| r.map(|s| s.error.clone()));
        match outcome {
            Ok(Ok(None)) => Ok(Self {
                client,
                incoming: rx,
                state,
                stop,
            }),
            Ok(Ok(Some(e))) => {
                stop.cancel();
                bail!("MQTT client {client_id} on port {port}: {e}")
            }
            _ => {
                stop.cancel();
                bail!("MQTT client {client_id} on port {port}: no CONNACK/SUBACK")
            }
        }
    }

    /// Why the connection broke, if it did.
    pub fn error(&self) -> Option<String> {
        self.state.borrow().error.clone()
    }

    /// Publishes one QoS 1 message, waiting for room in the client queue.
    pub async fn publish(&self, topic: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .context("publish")
    }

    /// Disconnects and stops the event loop.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
        self.stop.cancel();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn drive(
    mut eventloop: EventLoop,
    incoming: mpsc::UnboundedSender<Received>,
    state: watch::Sender<State>,
    stop: CancellationToken,
) {
    loop {
        let polled = tokio::select! {
            _ = stop.cancelled() => return,
            polled = eventloop.poll() => polled,
        };
        match polled {
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let _ = incoming.send(Received {
                    at_ms: now_ms(),
                    publish,
                });
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => state.send_modify(|s| s.connected = true),
            Ok(Event::Incoming(Packet::SubAck(_))) => state.send_modify(|s| s.subscribed += 1),
            Ok(_) => {}
            Err(e) => {
                state.send_modify(|s| s.error = Some(e.to_string()));
                return;
            }
        }
    }
}
