//! The time-series output (spec §6): InfluxDB line protocol over the v2
//! write API through the `influxdb2` crate; works with InfluxDB 2.x/3.x and
//! VictoriaMetrics.
//!
//! One point per reading (encoded by `retrofit_protocols::line_protocol`),
//! millisecond precision, so a replay rewrites the same point. Connection
//! errors, 5xx and 429 are retried by the forwarder with backoff; a 400 or
//! 413 splits the batch in halves until the refused points are isolated,
//! which are dead-lettered while the rest lands. One poison point never
//! stalls the pipeline; dead letters never reach the store. Its write API
//! ([`StoreClient`]) also carries the upkeep's `sla` points.

use std::sync::Arc;
use std::time::Duration;

use influxdb2::api::write::TimestampPrecision;
use influxdb2::RequestError;
use retrofit_protocols::deadletter::DeadLetter;
use retrofit_protocols::line_protocol::write_reading;
use retrofit_protocols::{Id, Source};
use serde::Deserialize;

use crate::config::secret::SecretFile;
use crate::forwarder::{Output, OutputError};
use crate::intake::GatewayIdentity;
use crate::journal::{Entry, Journal, NewRecord, RecordClass};

/// `[influx]`: the time-series store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfluxConfig {
    /// `http://host:port` of the store.
    pub url: String,
    pub org: String,
    pub bucket: String,
    pub token_file: Option<SecretFile>,
    /// Most points per write request.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest wait for a shallow batch to fill (default 0: a batch goes
    /// as soon as nothing more is waiting; under load batches fill while
    /// the previous write is in flight).
    #[serde(default)]
    pub flush_interval_ms: u64,
}

fn default_batch_size() -> usize {
    5000
}

/// Delay asked of the forwarder after a 429 (the `influxdb2` crate does not
/// expose the `Retry-After` header; see docs/DEVIATIONS.md).
const TOO_MANY_REQUESTS_WAIT: Duration = Duration::from_secs(5);

/// Writes journal entries to the store.
pub struct InfluxSink {
    store: StoreClient,
    journal: Journal,
    identity: Arc<GatewayIdentity>,
}

/// The write API of the store: the one HTTP client of every point the
/// gateway writes (readings here, `sla` points from the upkeep).
pub struct StoreClient {
    client: influxdb2::Client,
    org: String,
    bucket: String,
}

/// The outcome of one write request.
pub enum Write {
    Done,
    /// The store refused the content (400/413): split to find the culprit.
    Refused(String),
}

impl StoreClient {
    pub fn new(cfg: &InfluxConfig) -> Self {
        let token = cfg.token_file.as_ref().map_or("", |t| t.expose());
        Self {
            client: influxdb2::Client::new(cfg.url.trim_end_matches('/'), &cfg.org, token),
            org: cfg.org.clone(),
            bucket: cfg.bucket.clone(),
        }
    }

    /// Writes `lines` (each ending in a newline) in one request; a refusal
    /// is an outcome, anything worth retrying is an error.
    pub async fn write(&self, lines: &[String]) -> Result<Write, OutputError> {
        let body = lines.concat();
        let res = self
            .client
            .write_line_protocol_with_precision(
                &self.org,
                &self.bucket,
                body,
                TimestampPrecision::Milliseconds,
            )
            .await;
        match res {
            Ok(()) => Ok(Write::Done),
            Err(RequestError::Http { status, text }) => match status.as_u16() {
                400 | 413 => Ok(Write::Refused(text)),
                429 => Err(OutputError::Retry {
                    reason: format!("store busy (429): {text}"),
                    after: Some(TOO_MANY_REQUESTS_WAIT),
                }),
                code => Err(OutputError::Retry {
                    reason: format!("store answered {code}: {text}"),
                    after: None,
                }),
            },
            Err(e) => Err(OutputError::Retry {
                reason: format!("store unreachable: {e}"),
                after: None,
            }),
        }
    }
}

impl InfluxSink {
    pub fn new(cfg: &InfluxConfig, journal: Journal, identity: Arc<GatewayIdentity>) -> Self {
        Self {
            store: StoreClient::new(cfg),
            journal,
            identity,
        }
    }

    /// Writes `lines`, splitting refused batches down to single lines;
    /// returns the refused lines with the store's reason.
    async fn write_isolating(
        &self,
        lines: &[String],
    ) -> Result<Vec<(String, String)>, OutputError> {
        let mut refused = Vec::new();
        let mut stack = vec![lines];
        while let Some(part) = stack.pop() {
            if part.is_empty() {
                continue;
            }
            match self.store.write(part).await? {
                Write::Done => {}
                Write::Refused(reason) if part.len() == 1 => {
                    refused.push((part[0].clone(), reason))
                }
                Write::Refused(_) => {
                    let (a, b) = part.split_at(part.len() / 2);
                    stack.push(b);
                    stack.push(a);
                }
            }
        }
        Ok(refused)
    }

    fn dead_letter(&self, line: &str, reason: &str) -> NewRecord {
        let link = Id::parse("influx").unwrap_or_else(|_| self.identity.gateway.clone());
        let why = Id::parse("store_rejected").unwrap_or_else(|_| link.clone());
        let letter = DeadLetter::new(
            self.identity.site.clone(),
            self.identity.gateway.clone(),
            crate::clock::now(),
            Source::Gateway,
            link,
            why,
            reason,
            "influx",
            line.as_bytes(),
        );
        NewRecord {
            class: RecordClass::DeadLetter,
            payload: letter.to_json(),
        }
    }
}

/// The line of one entry; dead letters and undecodable entries have none.
fn line_of(entry: &Entry) -> Option<String> {
    if entry.class == RecordClass::DeadLetter {
        return None;
    }
    let reading = entry
        .reading()
        .inspect_err(|e| tracing::error!(pos = entry.pos, error = %e, "journal entry is not a reading; skipped"))
        .ok()?;
    let mut line = String::with_capacity(160);
    write_reading(&mut line, &reading)
        .inspect_err(|e| tracing::error!(pos = entry.pos, error = %e, "reading has no line protocol form; skipped"))
        .ok()?;
    Some(line)
}

impl Output for InfluxSink {
    fn name(&self) -> &str {
        "influx"
    }

    async fn deliver(&mut self, batch: &[Entry]) -> Result<(), OutputError> {
        let lines: Vec<String> = batch.iter().filter_map(line_of).collect();
        let refused = self.write_isolating(&lines).await?;
        if refused.is_empty() {
            return Ok(());
        }
        tracing::warn!(count = refused.len(), "store refused points; dead-lettered");
        let letters: Vec<NewRecord> = refused
            .iter()
            .map(|(l, r)| self.dead_letter(l, r))
            .collect();
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || journal.append(&letters))
            .await
            .map_err(|e| OutputError::Retry {
                reason: e.to_string(),
                after: None,
            })?
            .map_err(|e| OutputError::Retry {
                reason: e.to_string(),
                after: None,
            })?;
        Ok(())
    }
}
