//! A steady load of uplinks that survives broker restarts: each message is
//! published with QoS 1 and counted as sent only once the broker has
//! acknowledged it (retried across reconnects otherwise), so a test knows
//! exactly which readings the input side accepted.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// Publishes `messages` in order at about `rate` per second.
pub struct Load {
    acked: Arc<Mutex<Vec<usize>>>,
    progress: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, messages: Vec<(String, Vec<u8>)>, rate: u32) -> Self {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let progress = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (a, p, d) = (acked.clone(), progress.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(run(port, messages, rate, a, p));
            d.store(true, Ordering::SeqCst);
        });
        Self {
            acked,
            progress,
            done,
            thread: Some(thread),
        }
    }

    /// How many messages the broker has acknowledged so far.
    pub fn progress(&self) -> usize {
        self.progress.load(Ordering::SeqCst)
    }

    /// Waits (bounded) until every message was acknowledged; returns their
    /// indexes.
    pub fn finish(mut self, limit: Duration) -> Vec<usize> {
        let done = self.done.clone();
        super::wait_until("load to finish", limit, || done.load(Ordering::SeqCst));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.acked.lock().expect("lock").clone()
    }
}

async fn run(
    port: u16,
    messages: Vec<(String, Vec<u8>)>,
    rate: u32,
    acked: Arc<Mutex<Vec<usize>>>,
    progress: Arc<AtomicUsize>,
) {
    let gap = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut next = tokio::time::Instant::now();
    let mut conn = connect(port);
    for (i, (topic, payload)) in messages.into_iter().enumerate() {
        tokio::time::sleep_until(next).await;
        next += gap;
        // Retry this message until the broker acknowledges it.
        for _attempt in 0..600 {
            if publish_one(&mut conn, &topic, &payload).await {
                acked.lock().expect("lock").push(i);
                progress.fetch_add(1, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            conn = connect(port);
        }
    }
}

fn connect(port: u16) -> (AsyncClient, rumqttc::EventLoop) {
    let mut o = MqttOptions::new(
        format!("load-{}-{port}", std::process::id()),
        "127.0.0.1",
        port,
    );
    o.set_keep_alive(Duration::from_secs(5));
    o.set_max_packet_size(1 << 20, 1 << 20);
    AsyncClient::new(o, 10)
}

/// Publishes and polls until the PUBACK, an error, or 3 s.
async fn publish_one(
    conn: &mut (AsyncClient, rumqttc::EventLoop),
    topic: &str,
    payload: &[u8],
) -> bool {
    let (client, events) = conn;
    if client
        .try_publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
        .is_err()
    {
        return false;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => return true,
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => return false,
        }
    }
}
