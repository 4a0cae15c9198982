//! The bus owner (`ModbusPoller`): one task per bus, the only one that
//! talks on it, so requests are serialised and never fight over the port.
//! It opens the bus (again, with capped backoff, after it is lost), polls
//! the slave that is due next, counts the outcome of every request per
//! device, submits each poll's reading to the intake (a poll counts as
//! delivered once its reading is committed), and tells presence when a
//! slave dies, with the reason. Beside it, the bus's [`TotalsKeeper`]
//! saves the counter totals each committed reading carried.
//!
//! A slave that does not answer ends its poll at its first silent request,
//! so it costs the bus one timeout per poll, and a dead one only at its
//! backoff rate. No input (exception, CRC error, short or garbled frame,
//! timeout) ends or wedges the loop; it stops only on the link's
//! cancellation token.

use std::sync::Arc;
use std::time::Duration;

use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::Source;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::bus::{Answer, Bus, Values};
use super::config::{ModbusLinkConfig, Slave};
use super::counter_store::SavedTotal;
use super::keeper::TotalsKeeper;
use super::schedule::{Change, Schedule};
use super::tap::Failure;
use super::totals::SlaveTotals;
use super::values::{metrics, raw_values};
use crate::backoff::Backoff;
use crate::clock::SeqClock;
use crate::intake::Submission;
use crate::journal::RecordClass;
use crate::links::subscriber::LinkContext;

/// Longest a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A slave and what the poller keeps about it.
struct Polled {
    slave: Slave,
    schedule: Schedule,
    totals: SlaveTotals,
}

/// What one poll got.
struct PollOutcome {
    answers: Vec<Option<Values>>,
    answered: bool,
    lost: Option<String>,
}

/// Runs the link until `stop` is cancelled, then saves its counter totals.
pub async fn run_modbus_link(
    config: Arc<ModbusLinkConfig>,
    ctx: LinkContext,
    stop: CancellationToken,
) {
    let (keeper, saved) = TotalsKeeper::open(&ctx.link, &config.data_dir, &ctx.counters).await;
    let poller = ModbusPoller {
        config: &config,
        ctx: &ctx,
        keeper: &keeper,
        seq: SeqClock::default(),
    };
    tokio::join!(
        poller.run(polled(&config, &saved), &stop),
        keeper.keep(&stop)
    );
    keeper.finish().await;
}

/// The slaves of the bus, their totals resumed from `saved`.
fn polled(config: &ModbusLinkConfig, saved: &[SavedTotal]) -> Vec<Polled> {
    let now = Instant::now();
    config
        .slaves
        .iter()
        .map(|s| Polled {
            slave: s.clone(),
            schedule: Schedule::new(
                s.poll_interval,
                config.dead_after,
                config.dead_backoff_max,
                now,
            ),
            totals: SlaveTotals::new(s, saved),
        })
        .collect()
}

struct ModbusPoller<'a> {
    config: &'a ModbusLinkConfig,
    ctx: &'a LinkContext,
    keeper: &'a TotalsKeeper,
    seq: SeqClock,
}

impl ModbusPoller<'_> {
    /// Opens the bus (again, with capped backoff, after it is lost) and
    /// polls `slaves` until `stop`.
    async fn run(mut self, mut slaves: Vec<Polled>, stop: &CancellationToken) {
        let (config, ctx) = (self.config, self.ctx);
        let link = &ctx.link;
        let mut backoff = Backoff::default();
        loop {
            let wait = match Bus::open(&config.transport, config.inter_frame, CONNECT_TIMEOUT).await
            {
                Ok(mut bus) => {
                    backoff.reset();
                    tracing::info!(%link, bus = ?config.transport, "modbus bus open");
                    match self.serve(&mut bus, &mut slaves, stop).await {
                        None => return,
                        Some(why) => {
                            let wait = backoff.next_delay(None);
                            tracing::warn!(%link, error = %why, retry_in = ?wait, "modbus bus lost");
                            wait
                        }
                    }
                }
                Err(e) => {
                    let wait = backoff.next_delay(None);
                    tracing::warn!(%link, error = %e, retry_in = ?wait, "cannot open modbus bus");
                    wait
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Polls until stopped (`None`) or the bus is lost (why).
    async fn serve(
        &mut self,
        bus: &mut Bus,
        slaves: &mut [Polled],
        stop: &CancellationToken,
    ) -> Option<String> {
        loop {
            let Some(next) = slaves.iter_mut().min_by_key(|s| s.schedule.next_due()) else {
                stop.cancelled().await;
                return None;
            };
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = tokio::time::sleep_until(next.schedule.next_due()) => {}
            }
            let poll = tokio::select! {
                _ = stop.cancelled() => return None,
                poll = self.poll(bus, &next.slave) => poll,
            };
            let change = next.schedule.polled(poll.answered, Instant::now());
            self.report(next, change);
            if poll.answered {
                self.submit(next, &poll.answers).await?;
            }
            if let Some(why) = poll.lost {
                return Some(why);
            }
            if bus.is_broken() {
                return Some("garbage on the bus".into());
            }
        }
    }

    /// Reads every block of `slave`; stops at the first request that got
    /// no answer.
    async fn poll(&self, bus: &mut Bus, slave: &Slave) -> PollOutcome {
        let mut poll = PollOutcome {
            answers: Vec::with_capacity(slave.blocks.len()),
            answered: false,
            lost: None,
        };
        let device = slave.device.id.as_str();
        for block in &slave.blocks {
            let outcome = match bus.read(slave.slave_id, block, slave.timeout).await {
                Answer::Values(values) => {
                    poll.answers.push(Some(values));
                    poll.answered = true;
                    "ok"
                }
                Answer::Exception(code) => {
                    tracing::debug!(link = %self.ctx.link, device, ?code, address = block.address, "modbus exception");
                    poll.answers.push(None);
                    poll.answered = true;
                    "exception"
                }
                Answer::Failed(failure) => {
                    self.ctx.counters.request(device, failure_name(failure));
                    return poll;
                }
                Answer::Lost(why) => {
                    poll.lost = Some(why);
                    return poll;
                }
            };
            self.ctx.counters.request(device, outcome);
        }
        poll
    }

    fn report(&self, polled: &Polled, change: Change) {
        let device = &polled.slave.device.id;
        match change {
            Change::Died => {
                let reason = format!(
                    "modbus timeout: no answer from slave {} in {} polls",
                    polled.slave.slave_id, self.config.dead_after
                );
                tracing::warn!(link = %self.ctx.link, %device, "{reason}");
                self.ctx.presence.unreachable(device, &reason);
            }
            Change::Revived => {
                tracing::info!(link = %self.ctx.link, %device, "modbus slave answers again")
            }
            Change::None => {}
        }
    }

    /// Submits the poll's reading (or its dead letter); `None` when the
    /// intake has stopped.
    async fn submit(&mut self, polled: &mut Polled, answers: &[Option<Values>]) -> Option<()> {
        let slave = &polled.slave;
        let raw = raw_values(slave, answers);
        let (ts, seq) = self.seq.next();
        let result = metrics(slave, &raw, &mut polled.totals).map(|m| Reading {
            site: self.config.site.clone(),
            kind: slave.device.kind,
            device: slave.device.id.clone(),
            connector: None,
            ts,
            seq,
            source: Source::Modbus,
            body: Body::Telemetry(m),
        });
        if matches!(&result, Ok(r) if matches!(&r.body, Body::Telemetry(m) if m.is_empty())) {
            return Some(());
        }
        let record = self.ctx.record(result, slave.device.id.as_str(), &[]);
        let totals = (record.class == RecordClass::Telemetry)
            .then(|| self.keeper.pending(polled.totals.snapshot(&raw)))
            .flatten();
        let counters = self.ctx.counters.clone();
        let device = slave.device.id.to_string();
        let delivered = Box::new(move || {
            counters.request(&device, "delivered");
            if let Some(totals) = totals {
                totals.committed();
            }
        }) as crate::intake::Ack;
        self.ctx
            .intake
            .submit(Submission::new(vec![record], Some(delivered)))
            .await
            .ok()
    }
}

fn failure_name(f: Failure) -> &'static str {
    match f {
        Failure::Timeout => "timeout",
        Failure::Crc => "crc_error",
        Failure::Short => "short_frame",
        Failure::Garbled => "garbled",
    }
}
