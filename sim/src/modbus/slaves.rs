//! Modbus RTU slaves served on one end of a pseudo-terminal pair through
//! `tokio-modbus`'s RTU server: each slave id has its own holding and
//! input registers, shared with whatever model writes them. A read of a
//! register the slave does not have is answered with the Illegal Data
//! Address exception; a request to a slave id nobody has gets no answer,
//! as on a real bus.
//!
//! With `wire_baud` set, each answer is held back for the time its
//! request and response would take on a line of that speed plus the
//! silence that ends a request (3.5 characters, at least 1.75 ms; a
//! pseudo-terminal has no baud rate of its own); this paces the benchmark. The server never writes
//! registers on a request (no write functions: the sim's devices are
//! read-only).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use retrofit_gateway::links::modbus::{minimum_inter_frame, wait_until, BITS_PER_CHAR};
use tokio_modbus::server::rtu::Server;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_serial::{SerialPortBuilderExt, SerialStream};
use tokio_util::sync::CancellationToken;

/// How long to wait before serving again after the line failed.
const REOPEN_AFTER: Duration = Duration::from_millis(200);

/// The registers of one slave.
#[derive(Debug, Default, Clone)]
pub struct Registers {
    pub holding: BTreeMap<u16, u16>,
    pub input: BTreeMap<u16, u16>,
}

impl Registers {
    /// Sets consecutive holding registers from `at`.
    pub fn set_holding(&mut self, at: u16, words: &[u16]) {
        set(&mut self.holding, at, words);
    }

    /// Sets consecutive input registers from `at`.
    pub fn set_input(&mut self, at: u16, words: &[u16]) {
        set(&mut self.input, at, words);
    }
}

fn set(table: &mut BTreeMap<u16, u16>, at: u16, words: &[u16]) {
    for (i, w) in words.iter().enumerate() {
        table.insert(at.wrapping_add(i as u16), *w);
    }
}

/// Every slave on the bus, by slave id.
pub type Bus = Arc<Mutex<HashMap<u8, Registers>>>;

/// The service answering for every slave of a [`Bus`].
#[derive(Clone)]
pub struct BusService {
    bus: Bus,
    wire_baud: Option<u32>,
}

impl BusService {
    pub fn new(bus: Bus, wire_baud: Option<u32>) -> Self {
        Self { bus, wire_baud }
    }

    fn answer(&self, req: &SlaveRequest<'_>) -> Result<Option<Response>, ExceptionCode> {
        let bus = self.bus.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(slave) = bus.get(&req.slave) else {
            return Ok(None);
        };
        let read = |table: &BTreeMap<u16, u16>, at: u16, n: u16| {
            (0..n)
                .map(|i| table.get(&at.wrapping_add(i)).copied())
                .collect::<Option<Vec<u16>>>()
                .ok_or(ExceptionCode::IllegalDataAddress)
        };
        match req.request {
            Request::ReadHoldingRegisters(at, n) => Ok(Some(Response::ReadHoldingRegisters(read(
                &slave.holding,
                at,
                n,
            )?))),
            Request::ReadInputRegisters(at, n) => Ok(Some(Response::ReadInputRegisters(read(
                &slave.input,
                at,
                n,
            )?))),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }

    /// The wire time of `req` and its answer, with the silence between.
    fn wire_time(
        &self,
        req: &SlaveRequest<'_>,
        answer: &Result<Option<Response>, ExceptionCode>,
    ) -> Duration {
        let Some(baud) = self.wire_baud else {
            return Duration::ZERO;
        };
        let response_len = match answer {
            Ok(Some(Response::ReadHoldingRegisters(w) | Response::ReadInputRegisters(w))) => {
                5 + 2 * w.len()
            }
            Ok(_) => 0,
            Err(_) => 5,
        };
        let request_len = match req.request {
            Request::ReadHoldingRegisters(..) | Request::ReadInputRegisters(..) => 8,
            _ => 0,
        };
        let chars = (request_len + response_len) as f64;
        Duration::from_secs_f64(chars * BITS_PER_CHAR / f64::from(baud)) + minimum_inter_frame(baud)
    }
}

impl Service for BusService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let answer = self.answer(&req);
        let wait = self.wire_time(&req, &answer);
        let until = tokio::time::Instant::now() + wait;
        Box::pin(async move {
            wait_until(until).await;
            answer
        })
    }
}

/// Serves `service` on the line at `path` until `stop`; a line error (a
/// request the decoder gave up on) reopens the line.
pub async fn serve(path: &Path, baud: u32, service: BusService, stop: CancellationToken) {
    while !stop.is_cancelled() {
        match tokio_serial::new(path.to_string_lossy(), baud).open_native_async() {
            Ok(stream) => serve_stream(stream, service.clone(), stop.clone()).await,
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "modbus slaves: cannot open the line")
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(REOPEN_AFTER) => {}
        }
    }
}

/// Serves `service` on `stream` until `stop` or a line error.
pub async fn serve_stream(stream: SerialStream, service: BusService, stop: CancellationToken) {
    let served = Server::new(stream)
        .serve_until(service, async move { stop.cancelled().await })
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "modbus slaves: line error");
    }
}
