//! The MQTT subscription loop shared by the LoRaWAN and direct-MQTT links.
//!
//! Connects with manual acknowledgements, (re)subscribes on every
//! connection, turns each message into a reading or a dead letter through
//! the link's handler, and sends the PUBACK only after the intake has made
//! the record durable. Reconnects with capped backoff. Never acknowledges
//! anything that is not committed, and never stops on bad input.

use std::sync::Arc;

use retrofit_protocols::deadletter::DeadLetter;
use retrofit_protocols::reading::Reading;
use retrofit_protocols::{Id, Source};
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::broker::BrokerConfig;
use crate::clock::now;
use crate::counters::Counters;
use crate::intake::{record_of, Intake, Submission};
use crate::journal::{NewRecord, RecordClass};
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
        match result {
            Ok(reading) => {
                self.counters.accepted(self.source.as_str());
                self.presence.seen(&reading.device, reading.ts);
                record_of(&reading)
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

/// Turns one message (topic, payload) into a reading.
pub trait MessageHandler: Send + 'static {
    fn handle(&self, topic: &str, payload: &[u8]) -> Result<Reading, Rejection>;
}

/// Runs the subscription until `shutdown`.
pub async fn run_subscriber(
    broker: BrokerConfig,
    filters: Vec<String>,
    handler: impl MessageHandler,
    ctx: LinkContext,
    shutdown: CancellationToken,
) {
    let mut options = broker.options(false);
    options.set_manual_acks(true);
    options.set_inflight(1000);
    let (client, mut events) = AsyncClient::new(options, 1024);
    let mut backoff = Backoff::default();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => break,
            event = events.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!(link = %ctx.link, broker = %broker.url, "link connected");
                for filter in &filters {
                    if let Err(e) = client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                        tracing::error!(link = %ctx.link, error = %e, "subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if accept(&client, publish, &handler, &ctx).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                let wait = backoff.next_delay(None);
                tracing::warn!(link = %ctx.link, error = %e, retry_in = ?wait, "link connection lost");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    let _ = client.try_disconnect();
}

async fn accept(
    client: &AsyncClient,
    publish: Publish,
    handler: &impl MessageHandler,
    ctx: &LinkContext,
) -> Result<(), crate::intake::IntakeClosed> {
    let topic = publish.topic.clone();
    let result = handler.handle(&topic, &publish.payload);
    let record = ctx.record(result, &topic, &publish.payload);
    let client = client.clone();
    let ack = Box::new(move || {
        if let Err(e) = client.try_ack(&publish) {
            tracing::warn!(error = %e, "PUBACK not sent; the broker will redeliver");
        }
    });
    ctx.intake
        .submit(Submission::new(vec![record], Some(ack)))
        .await
}
