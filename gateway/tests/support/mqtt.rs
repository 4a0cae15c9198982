//! MQTT test peers: a collector that records everything published under a
//! filter, and a publisher that sends QoS 1 messages and counts PUBACKs.
//! Each runs its own runtime on a thread, so plain `#[test]`s can use them.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// One received message.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Message {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("payload is JSON")
    }
}

/// Records every message under `filter`, across broker restarts.
pub struct Collector {
    messages: Arc<Mutex<Vec<Message>>>,
    stop: tokio_util::sync::CancellationToken,
    thread: Option<JoinHandle<()>>,
}

fn options(id: &str, port: u16) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_max_packet_size(1 << 20, 1 << 20);
    o.set_inflight(1000);
    o
}

impl Collector {
    /// Subscribes and returns once the subscription is acknowledged.
    pub fn start(port: u16, filter: &str) -> Self {
        let messages = Arc::new(Mutex::new(Vec::new()));
        let stop = tokio_util::sync::CancellationToken::new();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (m, s, filter) = (messages.clone(), stop.clone(), filter.to_string());
        let id = unique_client_id("collector");
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut o = options(&id, port);
                o.set_clean_session(false);
                let (client, mut events) = AsyncClient::new(o, 1000);
                loop {
                    let ev =
                        tokio::select! { _ = s.cancelled() => return, ev = events.poll() => ev };
                    match ev {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            let _ = client.subscribe(filter.clone(), QoS::AtLeastOnce).await;
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            let _ = ready_tx.send(());
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            m.lock().expect("lock").push(Message {
                                topic: p.topic.clone(),
                                payload: p.payload.to_vec(),
                                retain: p.retain,
                            })
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            });
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("collector subscribed");
        Self {
            messages,
            stop,
            thread: Some(thread),
        }
    }

    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().expect("lock").clone()
    }

    /// Messages whose topic ends with `suffix`.
    pub fn on(&self, suffix: &str) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|m| m.topic.ends_with(suffix))
            .collect()
    }

    /// Waits until `pred(messages)` holds (bounded).
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&[Message]) -> bool) {
        super::wait_until(what, limit, || pred(&self.messages.lock().expect("lock")));
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A client ID no other client of this test run uses: the process, a
/// per-process counter and the start time of the process's first call
/// (so two runs with a recycled process id on one broker differ too).
/// Persistent sessions are keyed by it, so a collision would hand one
/// test's queued messages to another.
fn unique_client_id(role: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::{SystemTime, UNIX_EPOCH};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static STARTED: OnceLock<u128> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{role}-{}-{started:x}-{n}", std::process::id())
}

/// Publishes every (topic, payload) with QoS 1 and returns how many PUBACKs
/// came back (bounded wait).
pub fn publish_all(port: u16, messages: Vec<(String, Vec<u8>)>) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let id = unique_client_id("publisher");
        let (client, mut events) = AsyncClient::new(options(&id, port), 1000);
        let total = messages.len();
        let sender = tokio::spawn(async move {
            for (topic, payload) in messages {
                if client
                    .publish(topic, QoS::AtLeastOnce, false, payload)
                    .await
                    .is_err()
                {
                    break;
                }
            }
            client
        });
        let mut acked = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while acked < total {
            match tokio::time::timeout_at(deadline, events.poll()).await {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        let _ = sender.await;
        acked
    })
}
