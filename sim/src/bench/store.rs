//! Counting a run's points in the bench's VictoriaMetrics: after
//! `/internal/force_flush`, `/api/v1/export` of the `rssi_dbm` field of
//! both measurements (every LoRaWAN telemetry point has it) for the run's
//! own site, summing the samples. Each run uses a site of its own, so
//! earlier runs never count; deduplication (`-dedup.minScrapeInterval`)
//! means a replayed point counts once. Read-only apart from the flush.

use std::time::Duration;

use anyhow::ensure;
use retrofit_protocols::Id;
use serde::Deserialize;

use super::http;

/// The series every telemetry point of the fleet writes one sample to.
const FIELD_SERIES: &str = "(parking|drainage)_rssi_dbm";

#[derive(Deserialize)]
struct ExportLine {
    values: Vec<serde::de::IgnoredAny>,
}

/// The bench's store.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    pub port: u16,
}

impl Store {
    /// Points of `site` the store holds now.
    pub async fn count(&self, site: &Id) -> anyhow::Result<u64> {
        let (status, body) = http::get(self.port, "/internal/force_flush").await?;
        ensure!(status == 200, "force_flush answered {status}: {body}");
        let selector = format!("{{__name__=~\"{FIELD_SERIES}\",site=\"{site}\"}}");
        let path = format!("/api/v1/export?match[]={}", http::encode(&selector));
        let (status, body) = http::get(self.port, &path).await?;
        ensure!(status == 200, "export answered {status}: {body}");
        count_samples(&body)
    }

    /// Polls the count until it reaches `expected` or stops growing for
    /// `stall`, at most `limit`; returns the last count.
    pub async fn settle(
        &self,
        site: &Id,
        expected: u64,
        stall: Duration,
        limit: Duration,
    ) -> anyhow::Result<u64> {
        let started = tokio::time::Instant::now();
        let mut last = (self.count(site).await?, started);
        while last.0 < expected && started.elapsed() < limit && last.1.elapsed() < stall {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = self.count(site).await?;
            if now != last.0 {
                last = (now, tokio::time::Instant::now());
            }
        }
        Ok(last.0)
    }
}

/// Samples in an export body (one JSON series per line).
pub fn count_samples(body: &str) -> anyhow::Result<u64> {
    let mut samples = 0u64;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let series: ExportLine = serde_json::from_str(line)?;
        samples += series.values.len() as u64;
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_samples_of_every_series() {
        let body = concat!(
            r#"{"metric":{"__name__":"parking_rssi_dbm","site":"s","device":"p1"},"values":[-90,-91],"timestamps":[1,2]}"#,
            "\n",
            r#"{"metric":{"__name__":"drainage_rssi_dbm","site":"s","device":"d1"},"values":[-80],"timestamps":[3]}"#,
            "\n\n"
        );
        assert_eq!(count_samples(body).unwrap(), 3);
        assert_eq!(count_samples("").unwrap(), 0);
        assert!(count_samples("not json").is_err());
    }
}
