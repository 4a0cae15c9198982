//! The serial port's I/O loop: opens the port (retrying with capped
//! backoff while it is missing), reads frames into the [`Receiver`],
//! submits their records to the intake, writes the Acks that commits
//! release and the Config frames the receiver has due (at once after the
//! frame that started a node's session, resends on their own timer), and
//! broadcasts a TimeSync when the port opens and every
//! [`TIME_SYNC_PERIOD`].
//!
//! A read error or end of file (a USB adapter unplugged, a pseudo-terminal
//! closed) closes the port and reopens it with backoff; nothing the node
//! holds is lost, it resends whatever was not acknowledged. Commits that
//! complete while the port is closed still update the node's session and
//! are acknowledged on the next resend. Stops on the link's cancellation
//! token; never acknowledges anything that is not durable.

use std::time::{Duration, Instant};

use retrofit_protocols::edge::{encode, Frame, MAX_WIRE_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_serial::{SerialPortBuilderExt, SerialStream};
use tokio_util::sync::CancellationToken;

use super::frames::FrameReader;
use super::receiver::{Action, Commit, Receiver};
use super::SerialLinkConfig;
use crate::backoff::Backoff;
use crate::clock::now;
use crate::intake::Submission;
use crate::links::subscriber::LinkContext;

/// How often every node's clock is set again.
pub const TIME_SYNC_PERIOD: Duration = Duration::from_secs(600);
/// Longest a write may take before the frame is given up (the line is
/// stuck, e.g. flow control never releases).
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why serving an open port ended.
enum Ended {
    Stopped,
    Lost(String),
}

/// Runs the link until `stop` is cancelled.
pub async fn run_serial_link(
    config: std::sync::Arc<SerialLinkConfig>,
    ctx: LinkContext,
    stop: CancellationToken,
) {
    let (commits_tx, mut commits) = mpsc::unbounded_channel::<Commit>();
    let mut receiver = Receiver::new(config.clone());
    let mut backoff = Backoff::default();
    let port_name = config.port.display().to_string();
    loop {
        let wait = match open(&config) {
            Ok(port) => {
                backoff.reset();
                tracing::info!(link = %ctx.link, port = %port_name, baud = config.baud, "serial port open");
                ctx.presence.link(&ctx.link, true);
                let mut link = OpenPort {
                    port,
                    receiver: &mut receiver,
                    ctx: &ctx,
                    commits_tx: &commits_tx,
                };
                match link.serve(&mut commits, &stop).await {
                    Ended::Stopped => return,
                    Ended::Lost(why) => {
                        ctx.presence.link(&ctx.link, false);
                        let wait = backoff.next_delay(None);
                        tracing::warn!(link = %ctx.link, port = %port_name, error = %why, retry_in = ?wait, "serial port lost");
                        wait
                    }
                }
            }
            Err(e) => {
                ctx.presence.link(&ctx.link, false);
                let wait = backoff.next_delay(None);
                tracing::warn!(link = %ctx.link, port = %port_name, error = %e, retry_in = ?wait, "cannot open serial port");
                wait
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn open(config: &SerialLinkConfig) -> Result<SerialStream, tokio_serial::Error> {
    tokio_serial::new(config.port.to_string_lossy(), config.baud).open_native_async()
}

/// One opened port and what serving it needs.
struct OpenPort<'a> {
    port: SerialStream,
    receiver: &'a mut Receiver,
    ctx: &'a LinkContext,
    commits_tx: &'a mpsc::UnboundedSender<Commit>,
}

impl OpenPort<'_> {
    async fn serve(
        &mut self,
        commits: &mut mpsc::UnboundedReceiver<Commit>,
        stop: &CancellationToken,
    ) -> Ended {
        let mut reader = FrameReader::new();
        let mut buf = [0u8; 1024];
        let mut time_sync = tokio::time::interval(TIME_SYNC_PERIOD);
        loop {
            let config_due = self.receiver.next_config_due();
            let step = tokio::select! {
                biased;
                _ = stop.cancelled() => return Ended::Stopped,
                Some(first) = commits.recv() => self.acknowledge(first, commits).await,
                read = self.port.read(&mut buf) => match read {
                    Ok(0) => Err(Ended::Lost("end of file".into())),
                    Ok(n) => self.received(&mut reader, &buf[..n]).await,
                    Err(e) => Err(Ended::Lost(e.to_string())),
                },
                _ = time_sync.tick() => self.send(&Receiver::time_sync(now())).await,
                () = sleep_until(config_due) => self.send_configs().await,
            };
            if let Err(ended) = step {
                return ended;
            }
        }
    }

    /// Sends the Acks released by `first` and every other commit waiting.
    async fn acknowledge(
        &mut self,
        first: Commit,
        commits: &mut mpsc::UnboundedReceiver<Commit>,
    ) -> Result<(), Ended> {
        let mut batch = vec![first];
        while let Ok(more) = commits.try_recv() {
            batch.push(more);
        }
        for ack in self.receiver.committed(batch) {
            self.send(&ack).await?;
        }
        Ok(())
    }

    /// Handles every frame completed by `chunk`, in order.
    async fn received(&mut self, reader: &mut FrameReader, chunk: &[u8]) -> Result<(), Ended> {
        let mut actions = Vec::new();
        let at = now();
        reader.feed(chunk, |received| {
            actions.extend(self.receiver.receive(self.ctx, received, at));
        });
        for action in actions {
            match action {
                Action::Send(frame) => self.send(&frame).await?,
                Action::Submit(records, commit) => self.submit(records, commit).await?,
            }
        }
        self.send_configs().await
    }

    /// Writes the Config frames due now.
    async fn send_configs(&mut self) -> Result<(), Ended> {
        for frame in self.receiver.due_configs(Instant::now()) {
            self.send(&frame).await?;
        }
        Ok(())
    }

    async fn submit(
        &self,
        records: Vec<crate::journal::NewRecord>,
        commit: Option<Commit>,
    ) -> Result<(), Ended> {
        let ack = commit.map(|commit| {
            let tx = self.commits_tx.clone();
            Box::new(move || {
                // The link may have stopped: then nobody waits for the Ack.
                let _ = tx.send(commit);
            }) as crate::intake::Ack
        });
        self.ctx
            .intake
            .submit(Submission::new(records, ack))
            .await
            .map_err(|_| Ended::Stopped)
    }

    /// Writes one frame; a write that cannot complete in time is given up
    /// (the node resends what stays unacknowledged).
    async fn send(&mut self, frame: &Frame) -> Result<(), Ended> {
        let mut wire = [0u8; MAX_WIRE_LEN];
        let len = match encode(frame, &mut wire) {
            Ok(len) => len,
            Err(e) => {
                tracing::error!(link = %self.ctx.link, error = %e, "cannot encode a frame to send");
                return Ok(());
            }
        };
        match tokio::time::timeout(WRITE_TIMEOUT, self.port.write_all(&wire[..len])).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Ended::Lost(e.to_string())),
            Err(_) => {
                tracing::warn!(link = %self.ctx.link, "serial write timed out; frame dropped");
                Ok(())
            }
        }
    }
}

/// Sleeps until `at`; forever without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
