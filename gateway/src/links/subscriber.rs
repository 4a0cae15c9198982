//! The MQTT subscription loop shared by the LoRaWAN and direct-MQTT links.
//!
//! Connects with a persistent session, (re)subscribes on every
//! connection, turns each message into a reading or a dead letter through
//! the link's handler, and sends the PUBACK only after the intake has made
//! the record durable. Works in batches: every message one socket read
//! brings is one intake submission, and the PUBACKs of a commit leave in
//! one write; the socket is read again once that submission is committed,
//! so a busy link hands the intake one batch per commit. Reconnects with capped backoff. Never acknowledges anything
//! that is not committed, and never stops on bad input.

use std::sync::Arc;

use retrofit_protocols::deadletter::DeadLetter;
use retrofit_protocols::reading::Reading;
use retrofit_protocols::{Id, Source};
use rumqttc::{Packet, QoS, SubAck, Subscribe, SubscribeFilter, SubscribeReasonCode};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::broker::BrokerConfig;
use crate::clock::now;
use crate::counters::Counters;
use crate::intake::{record_of, Ack, Intake, Submission};
use crate::journal::{NewRecord, RecordClass};
use crate::links::sequence::SequenceWatch;
use crate::mqtt_session::{MqttSession, SessionError, SessionOptions};
use crate::normalize::Rejection;
use crate::presence::PresenceFeed;

/// What every link needs to hand over its input.
#[derive(Clone)]
pub struct LinkContext {
    pub intake: Intake,
    pub link: Id,
    pub source: Source,
    pub counters: Arc<Counters>,
    pub presence: PresenceFeed,
}

impl LinkContext {
    /// The journal record for `result`: the reading, or a dead letter.
    pub fn record(
        &self,
        result: Result<Reading, Rejection>,
        origin: &str,
        input: &[u8],
    ) -> NewRecord {
        match result.and_then(crate::upkeep::rules::in_range) {
            Ok(reading) => {
                self.counters
                    .accepted(self.source.as_str(), self.link.as_str());
                let record = record_of(&reading);
                self.presence.accepted(reading);
                record
            }
            Err(rejection) => {
                self.counters
                    .rejected(self.source.as_str(), rejection.reason);
                tracing::debug!(link = %self.link, reason = rejection.reason, detail = %rejection.detail, "input rejected");
                self.dead_letter(&rejection, origin, input)
            }
        }
    }

    fn dead_letter(&self, rejection: &Rejection, origin: &str, input: &[u8]) -> NewRecord {
        let id = self.intake.identity();
        let reason = Id::parse(rejection.reason).unwrap_or_else(|_| self.link.clone());
        let letter = DeadLetter::new(
            id.site.clone(),
            id.gateway.clone(),
            now(),
            self.source,
            self.link.clone(),
            reason,
            &rejection.detail,
            origin,
            input,
        );
        NewRecord {
            class: RecordClass::DeadLetter,
            payload: letter.to_json(),
        }
    }
}

/// Turns one message (topic, payload) into what it means.
pub trait MessageHandler: Send + 'static {
    fn handle(&self, topic: &str, payload: &[u8]) -> Result<Handled, Rejection>;
}

/// What one accepted message means.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned and consumed at once, never stored: boxing would cost an allocation per message"
)]
pub enum Handled {
    /// A reading to record; `frame_counter` when its `seq` is the device's
    /// own frame counter, so that gaps in it are readings lost before they
    /// reached the gateway.
    Reading {
        reading: Reading,
        frame_counter: bool,
        left_out: LeftOut,
    },
    /// The device restarted its frame counter (a LoRaWAN rejoin): nothing
    /// is recorded; its next counter starts a new run. Acknowledged with
    /// the rest of its batch (at once when the batch records nothing).
    CounterReset(Id),
    /// Nothing to record (a network server's informational log about a
    /// device); acknowledged like a counter reset.
    Nothing,
}

/// What a codec map left out of a reading: metrics whose value could not
/// be converted (each dead-lettered with its reason) and vendor keys no
/// entry reads (counted for the device).
#[derive(Debug, Default)]
pub struct LeftOut {
    pub failed: Vec<Rejection>,
    pub ignored_keys: u64,
}

impl From<Reading> for Handled {
    /// A reading whose `seq` is no frame counter.
    fn from(reading: Reading) -> Self {
        Self::Reading {
            reading,
            frame_counter: false,
            left_out: LeftOut::default(),
        }
    }
}

/// Runs the subscription until `shutdown`, reconnecting with capped
/// backoff.
pub async fn run_subscriber(
    broker: BrokerConfig,
    filters: Vec<String>,
    handler: impl MessageHandler,
    ctx: LinkContext,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::default();
    let mut sequences = SequenceWatch::default();
    while !shutdown.is_cancelled() {
        let options = SessionOptions {
            clean_session: false,
            last_will: None,
        };
        let connected = tokio::select! {
            () = shutdown.cancelled() => break,
            c = MqttSession::connect(&broker, options) => c,
        };
        let error = match connected {
            Ok((session, _)) => {
                backoff.reset();
                tracing::info!(link = %ctx.link, broker = %broker.url, "link connected");
                ctx.presence.link(&ctx.link, true);
                let mut link = Subscription {
                    session,
                    handler: &handler,
                    ctx: &ctx,
                    sequences: &mut sequences,
                };
                match link.run(&filters, &shutdown).await {
                    Ok(()) => break,
                    Err(LinkStop::IntakeClosed) => break,
                    Err(LinkStop::Session(e)) => e,
                }
            }
            Err(e) => e,
        };
        ctx.presence.link(&ctx.link, false);
        let wait = backoff.next_delay(None);
        tracing::warn!(link = %ctx.link, error = %error, retry_in = ?wait, "link connection lost");
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Why a connected subscription stopped.
#[derive(Debug, thiserror::Error)]
enum LinkStop {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("the intake is closed")]
    IntakeClosed,
}

/// One connection's subscription loop.
struct Subscription<'a, H> {
    session: MqttSession,
    handler: &'a H,
    ctx: &'a LinkContext,
    /// Kept across connections: a reconnect is no reset of the devices.
    sequences: &'a mut SequenceWatch,
}

impl<H: MessageHandler> Subscription<'_, H> {
    /// Subscribes, then hands every batch of messages the socket delivers
    /// to the intake as one submission and writes the PUBACKs of each
    /// committed submission together. `Ok` on shutdown.
    async fn run(
        &mut self,
        filters: &[String],
        shutdown: &CancellationToken,
    ) -> Result<(), LinkStop> {
        self.subscribe(filters)?;
        self.session.flush().await?;
        // PUBACKs to send, by packet id; this connection's only (a new
        // connection makes a new channel, so ids never cross sessions).
        let (acks_tx, mut acks) = mpsc::unbounded_channel::<Vec<u16>>();
        let mut packets = Vec::new();
        // One submission at a time awaits its commit; meanwhile messages
        // gather in the socket and the next read takes them all.
        let mut committing = false;
        loop {
            let ping_due = self.session.ping_due();
            tokio::select! {
                () = shutdown.cancelled() => break,
                read = self.session.read(&mut packets), if !committing => {
                    read?;
                    committing = self.accept(std::mem::take(&mut packets), &acks_tx).await?;
                }
                Some(pkids) = acks.recv() => {
                    self.queue_acks(&pkids)?;
                    while let Ok(pkids) = acks.try_recv() {
                        self.queue_acks(&pkids)?;
                    }
                    committing = false;
                }
                () = tokio::time::sleep_until(ping_due), if committing => {
                    self.session.queue_ping()?;
                }
            }
            self.session.flush().await?;
        }
        while let Ok(pkids) = acks.try_recv() {
            self.queue_acks(&pkids)?;
        }
        self.session.flush().await?;
        Ok(())
    }

    fn subscribe(&mut self, filters: &[String]) -> Result<(), SessionError> {
        let filters = filters
            .iter()
            .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce));
        let mut subscribe = Subscribe::new_many(filters);
        subscribe.pkid = self.session.take_pkid();
        self.session.queue(&Packet::Subscribe(subscribe))
    }

    fn queue_acks(&mut self, pkids: &[u16]) -> Result<(), SessionError> {
        pkids.iter().try_for_each(|&pkid| self.session.ack(pkid))
    }

    /// Normalizes every message of one read into one submission; its
    /// PUBACKs go out once it is durable, in the order received. Returns
    /// whether PUBACKs now wait for that commit.
    async fn accept(
        &mut self,
        packets: Vec<Packet>,
        acks: &mpsc::UnboundedSender<Vec<u16>>,
    ) -> Result<bool, LinkStop> {
        let mut records = Vec::with_capacity(packets.len());
        let mut pkids = Vec::with_capacity(packets.len());
        for packet in packets {
            match packet {
                Packet::Publish(publish) => {
                    let handled = self.handler.handle(&publish.topic, &publish.payload);
                    let (topic, payload) = (&publish.topic, &publish.payload[..]);
                    if let Some(result) = self.reading_of(handled, &mut records, topic, payload) {
                        records.push(self.ctx.record(result, topic, payload));
                    }
                    if publish.qos != QoS::AtMostOnce {
                        pkids.push(publish.pkid);
                    }
                }
                Packet::SubAck(ack) => self.check_suback(&ack),
                _ => {}
            }
        }
        if records.is_empty() {
            // Nothing to make durable (counter resets only): ack at once.
            self.queue_acks(&pkids)?;
            return Ok(false);
        }
        let awaits_commit = !pkids.is_empty();
        let acks = acks.clone();
        let ack: Option<Ack> = awaits_commit.then(|| {
            Box::new(move || {
                // The connection may be gone; the broker then redelivers.
                let _ = acks.send(pkids);
            }) as Ack
        });
        self.ctx
            .intake
            .submit(Submission::new(records, ack))
            .await
            .map_err(|_| LinkStop::IntakeClosed)?;
        Ok(awaits_commit)
    }

    /// Applies what a message means to the frame counters, and records
    /// what a codec map left out; the result to record, if any (a counter
    /// reset records nothing).
    fn reading_of(
        &mut self,
        handled: Result<Handled, Rejection>,
        records: &mut Vec<NewRecord>,
        topic: &str,
        payload: &[u8],
    ) -> Option<Result<Reading, Rejection>> {
        match handled {
            Ok(Handled::Reading {
                reading,
                frame_counter,
                left_out,
            }) => {
                if frame_counter {
                    self.watch_sequence(&reading);
                }
                self.ctx
                    .counters
                    .ignored_keys(reading.device.as_str(), left_out.ignored_keys);
                for failed in left_out.failed {
                    records.push(self.ctx.record(Err(failed), topic, payload));
                }
                Some(Ok(reading))
            }
            Ok(Handled::Nothing) => None,
            Ok(Handled::CounterReset(device)) => {
                self.sequences.reset(&device);
                tracing::debug!(link = %self.ctx.link, %device, "frame counter restarts (rejoin)");
                None
            }
            Err(rejection) => Some(Err(rejection)),
        }
    }

    /// Counts the readings a gap in the device's frame counter shows lost.
    fn watch_sequence(&mut self, reading: &Reading) {
        let lost = self.sequences.observe(&reading.device, reading.seq);
        if lost > 0 {
            self.ctx.counters.lost(self.ctx.source.as_str(), lost);
            tracing::debug!(link = %self.ctx.link, device = %reading.device, lost, "gap in the device's frame counter");
        }
    }

    fn check_suback(&self, ack: &SubAck) {
        let refused = ack
            .return_codes
            .iter()
            .any(|c| matches!(c, SubscribeReasonCode::Failure));
        if refused {
            tracing::error!(link = %self.ctx.link, "the broker refused a subscription");
        }
    }
}
