//! The broker's own ceiling, measured in the same run as the gateway:
//! one hop (a QoS 1 publisher to a QoS 1 subscriber) and two hops
//! (publisher -> relay that republishes QoS 1 on another topic ->
//! subscriber), N messages of the uplinks' size, as fast as the clients
//! go. Rate = messages received / (last arrival - first publish).
//!
//! It only measures; a slow or lossy broker is a figure, never an error.
//! Every wait is bounded by a stall limit.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::mqtt::{Connection, Received};

/// Unacknowledged publishes per client (Mosquitto's `max_inflight_messages`).
const INFLIGHT: u16 = 1000;
/// A receiver that gets nothing for this long has seen the last message.
const STALL: Duration = Duration::from_secs(5);
const FIRST_HOP: &str = "retrofit-bench/ceiling/in";
const LAST_HOP: &str = "retrofit-bench/ceiling/out";

/// What one ceiling measurement achieved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceiling {
    pub sent: u64,
    pub received: u64,
    pub elapsed: Duration,
}

impl Ceiling {
    /// Messages received per second.
    pub fn rate(&self) -> f64 {
        per_second(self.received, self.elapsed)
    }
}

/// `n` per `elapsed`, 0 for an empty interval.
pub fn per_second(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Publisher straight to subscriber.
pub async fn one_hop(port: u16, count: u64, bytes: usize) -> anyhow::Result<Ceiling> {
    let sink = Connection::open(port, "retrofit-bench-sink-1", INFLIGHT, &[LAST_HOP]).await?;
    let source = Connection::open(port, "retrofit-bench-source-1", INFLIGHT, &[]).await?;
    let ceiling = measure(&source, LAST_HOP, sink, count, bytes).await;
    source.close().await;
    ceiling
}

/// Publisher to relay to subscriber.
pub async fn two_hops(port: u16, count: u64, bytes: usize) -> anyhow::Result<Ceiling> {
    let sink = Connection::open(port, "retrofit-bench-sink-2", INFLIGHT, &[LAST_HOP]).await?;
    let relay = Connection::open(port, "retrofit-bench-relay", INFLIGHT, &[FIRST_HOP]).await?;
    let relaying = tokio::spawn(relay_all(relay));
    let source = Connection::open(port, "retrofit-bench-source-2", INFLIGHT, &[]).await?;
    let ceiling = measure(&source, FIRST_HOP, sink, count, bytes).await;
    source.close().await;
    relaying.abort();
    ceiling
}

/// Republishes everything the relay receives on the last hop's topic.
async fn relay_all(mut relay: Connection) {
    while let Some(message) = relay.incoming.recv().await {
        let payload = message.publish.payload.to_vec();
        if relay.publish(LAST_HOP, payload).await.is_err() {
            return;
        }
    }
}

/// Publishes `count` messages of `bytes` on `topic` while `sink` counts
/// arrivals.
async fn measure(
    source: &Connection,
    topic: &str,
    mut sink: Connection,
    count: u64,
    bytes: usize,
) -> anyhow::Result<Ceiling> {
    let started = Instant::now();
    let receiving = receive(&mut sink.incoming, count);
    let sending = async {
        let mut sent = 0u64;
        while sent < count {
            if source.publish(topic, vec![b'x'; bytes]).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    };
    let (sent, (received, last)) = tokio::join!(sending, receiving);
    sink.close().await;
    if let Some(e) = source.error() {
        tracing::warn!("ceiling publisher broke: {e}");
    }
    Ok(Ceiling {
        sent,
        received,
        elapsed: last.map_or(Duration::ZERO, |t| t - started),
    })
}

/// Receives until `count` arrived or nothing came for [`STALL`]; returns
/// how many and when the last one arrived.
async fn receive(
    incoming: &mut mpsc::UnboundedReceiver<Received>,
    count: u64,
) -> (u64, Option<Instant>) {
    let mut received = 0u64;
    let mut last = None;
    while received < count {
        match tokio::time::timeout(STALL, incoming.recv()).await {
            Ok(Some(_)) => {
                received += 1;
                last = Some(Instant::now());
            }
            _ => break,
        }
    }
    (received, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_per_second_and_zero_when_nothing_was_timed() {
        let c = Ceiling {
            sent: 10,
            received: 10,
            elapsed: Duration::from_millis(500),
        };
        assert_eq!(c.rate(), 20.0);
        assert_eq!(per_second(5, Duration::ZERO), 0.0);
    }
}
