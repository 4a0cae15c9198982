//! `retrofit-sim modbus-bench`: requests per second on one RTU bus against
//! the theoretical limit of the line. The gateway's own bus code
//! (`retrofit_gateway::links::modbus::Bus`, with its inter-frame delay)
//! reads `registers` holding registers from one simulated slave, as fast
//! as the bus allows, for `duration`. The line is one pseudo-terminal
//! (`openpty`): the gateway's bus runs on its slave end, the simulated
//! slave serves its master end, with no relay between them.
//!
//! A pseudo-terminal has no baud rate: the slave holds each answer back
//! for the wire time of the request and the response at `baud` plus the
//! silence that ends the request (see [`super::slaves`]). So the
//! theoretical time per request is (request + response) x 11 bits / baud,
//! plus twice the inter-frame delay (3.5 characters, at least 1.75 ms),
//! and the ratio says how much of the line the gateway's poller keeps busy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use retrofit_gateway::links::modbus::{
    minimum_inter_frame, Answer, Block, Bus, Table, BITS_PER_CHAR,
};
use tokio_util::sync::CancellationToken;

use tokio_serial::SerialStream;

use super::slaves::{serve_stream, BusService, Registers};

/// Request frame length of a read (slave, function, address, count, CRC).
const REQUEST_BYTES: usize = 8;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub baud: u32,
    pub registers: u16,
    pub requests: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// Requests per second the line allows.
    pub theoretical: f64,
}

impl BenchReport {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn line(&self) -> String {
        format!(
            "baud {}: {} registers per read ({} + {} bytes), {} requests in {:.1} s = {:.1}/s; theoretical {:.1}/s; ratio {:.1} %; {} failed",
            self.baud,
            self.registers,
            REQUEST_BYTES,
            response_bytes(self.registers),
            self.requests,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.theoretical,
            100.0 * self.rate() / self.theoretical,
            self.failed
        )
    }
}

fn response_bytes(registers: u16) -> usize {
    5 + 2 * usize::from(registers)
}

/// Requests per second a line at `baud` allows for reads of `registers`.
pub fn theoretical_rate(baud: u32, registers: u16) -> f64 {
    let chars = (REQUEST_BYTES + response_bytes(registers)) as f64;
    let per_request =
        chars * BITS_PER_CHAR / f64::from(baud) + 2.0 * minimum_inter_frame(baud).as_secs_f64();
    1.0 / per_request
}

/// Runs the benchmark on a fresh pseudo-terminal pair.
pub async fn run_modbus_bench(
    baud: u32,
    registers: u16,
    duration: Duration,
) -> anyhow::Result<BenchReport> {
    let (master, end) = SerialStream::pair().context("open a pseudo-terminal")?;
    let mut slave = Registers::default();
    slave.set_holding(0, &vec![0x1234; usize::from(registers)]);
    let bus = Arc::new(Mutex::new(HashMap::from([(1u8, slave)])));
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve_stream(
        master,
        BusService::new(bus, Some(baud)),
        stop.clone(),
    ));
    let mut line = Bus::rtu(end, minimum_inter_frame(baud));
    let block = Block {
        table: Table::HoldingRegisters,
        address: 0,
        count: registers,
        points: Vec::new(),
    };
    // One request first, so the slave's line is open before timing starts.
    let _ = line.read(1, &block, Duration::from_secs(2)).await;
    let (mut requests, mut failed) = (0, 0);
    let started = Instant::now();
    while started.elapsed() < duration {
        match line.read(1, &block, Duration::from_secs(1)).await {
            Answer::Values(_) => requests += 1,
            _ => failed += 1,
        }
    }
    let elapsed = started.elapsed();
    stop.cancel();
    let _ = server.await;
    Ok(BenchReport {
        baud,
        registers,
        requests,
        failed,
        elapsed,
        theoretical: theoretical_rate(baud, registers),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theoretical_limit_of_the_frames() {
        // 33 characters of 11 bits at 9600 baud plus 2 x 4.01 ms.
        let r = theoretical_rate(9_600, 10);
        assert!((1.0 / r - (33.0 * 11.0 / 9600.0 + 2.0 * 3.5 * 11.0 / 9600.0)).abs() < 1e-9);
        // Above 19200 baud the silence is the fixed 1.75 ms.
        let r = theoretical_rate(115_200, 10);
        assert!((1.0 / r - (33.0 * 11.0 / 115_200.0 + 0.0035)).abs() < 1e-9);
    }
}
