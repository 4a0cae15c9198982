//! One bus: the RTU serial port or the TCP connection, driven through
//! `tokio-modbus`, one request at a time. Keeps the silence between frames
//! (the inter-frame delay, counted from the end of the last answer or
//! timeout), bounds every request by its timeout, and says what each
//! request got: values, an exception, or a [`Failure`] told apart by the
//! [`tap`](super::tap).
//!
//! Only the bus's owner task holds a [`Bus`]; it is never shared, so
//! requests can never interleave. A transport error is returned as
//! [`Answer::Lost`]: the owner reopens the bus.

use std::io::ErrorKind;
use std::time::Duration;

use tokio::time::Instant;
use tokio_modbus::client::{Context, Reader, Writer};
use tokio_modbus::prelude::{rtu, tcp, SlaveContext};
use tokio_modbus::{ExceptionCode, Slave};
use tokio_serial::SerialPortBuilderExt;

use super::config::Transport;
use super::map::Table;
use super::plan::Block;
use super::tap::{classify_rtu, Failure, Heard, Tap};

/// What one request got.
#[derive(Debug)]
pub enum Answer<T> {
    Values(T),
    Exception(ExceptionCode),
    Failed(Failure),
    /// The transport failed; the bus must be reopened.
    Lost(String),
}

/// What a read returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Words(Vec<u16>),
    Bits(Vec<bool>),
}

/// A write request (functions 5, 6, 15, 16).
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Coil(u16, bool),
    Register(u16, u16),
    Coils(u16, Vec<bool>),
    Registers(u16, Vec<u16>),
}

/// An open bus.
pub struct Bus {
    ctx: Context,
    heard: Heard,
    rtu: bool,
    inter_frame: Duration,
    quiet_until: Instant,
    /// The decoder gave up on garbage: the transport must be reopened.
    broken: bool,
}

impl Bus {
    /// Opens the port or connects; `connect_timeout` bounds a TCP connect.
    pub async fn open(
        transport: &Transport,
        inter_frame: Duration,
        connect_timeout: Duration,
    ) -> std::io::Result<Bus> {
        let heard = Heard::default();
        let (ctx, rtu) = match transport {
            Transport::Rtu { port, baud, parity } => {
                let stream = tokio_serial::new(port, *baud)
                    .parity(*parity)
                    .open_native_async()?;
                return Ok(Bus::rtu(stream, inter_frame));
            }
            Transport::Tcp(addr) => {
                let stream =
                    tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(addr))
                        .await
                        .map_err(|_| {
                            std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
                        })??;
                stream.set_nodelay(true)?;
                (
                    tcp::attach_slave(Tap::new(stream, heard.clone()), Slave(1)),
                    false,
                )
            }
        };
        Ok(Bus {
            ctx,
            heard,
            rtu,
            inter_frame,
            quiet_until: Instant::now(),
            broken: false,
        })
    }

    /// An RTU bus on a serial stream that is already open.
    pub fn rtu(stream: tokio_serial::SerialStream, inter_frame: Duration) -> Bus {
        let heard = Heard::default();
        Bus {
            ctx: rtu::attach_slave(Tap::new(stream, heard.clone()), Slave(1)),
            heard,
            rtu: true,
            inter_frame,
            quiet_until: Instant::now(),
            broken: false,
        }
    }

    /// Reads `block` from `slave` within `timeout`.
    pub async fn read(&mut self, slave: u8, block: &Block, timeout: Duration) -> Answer<Values> {
        self.begin(slave).await;
        let (ctx, address, count) = (&mut self.ctx, block.address, block.count);
        let result = tokio::time::timeout(timeout, async move {
            match block.table {
                Table::Coils => ctx
                    .read_coils(address, count)
                    .await
                    .map(|r| r.map(Values::Bits)),
                Table::DiscreteInputs => ctx
                    .read_discrete_inputs(address, count)
                    .await
                    .map(|r| r.map(Values::Bits)),
                Table::HoldingRegisters => ctx
                    .read_holding_registers(address, count)
                    .await
                    .map(|r| r.map(Values::Words)),
                Table::InputRegisters => ctx
                    .read_input_registers(address, count)
                    .await
                    .map(|r| r.map(Values::Words)),
            }
        })
        .await;
        self.end(result)
    }

    /// Writes to `slave` within `timeout` (used only for points whose map
    /// allows writes, see [`super::write`]).
    pub async fn write(&mut self, slave: u8, write: &Write, timeout: Duration) -> Answer<()> {
        self.begin(slave).await;
        let ctx = &mut self.ctx;
        let result = tokio::time::timeout(timeout, async move {
            match write {
                Write::Coil(a, v) => ctx.write_single_coil(*a, *v).await,
                Write::Register(a, v) => ctx.write_single_register(*a, *v).await,
                Write::Coils(a, v) => ctx.write_multiple_coils(*a, v).await,
                Write::Registers(a, v) => ctx.write_multiple_registers(*a, v).await,
            }
        })
        .await;
        self.end(result)
    }

    /// Whether garbage left the transport unusable (reopen it).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Waits out the silence after the last frame and addresses `slave`.
    async fn begin(&mut self, slave: u8) {
        wait_until(self.quiet_until).await;
        self.ctx.set_slave(Slave(slave));
        self.heard.clear();
    }

    fn end<T>(
        &mut self,
        result: Result<tokio_modbus::Result<T>, tokio::time::error::Elapsed>,
    ) -> Answer<T> {
        self.quiet_until = Instant::now() + self.inter_frame;
        match result {
            Ok(Ok(Ok(values))) => Answer::Values(values),
            Ok(Ok(Err(exception))) => Answer::Exception(exception),
            Ok(Err(tokio_modbus::Error::Protocol(_))) => Answer::Failed(Failure::Garbled),
            Ok(Err(tokio_modbus::Error::Transport(e))) if e.kind() == ErrorKind::InvalidData => {
                self.broken = true;
                Answer::Failed(Failure::Garbled)
            }
            Ok(Err(tokio_modbus::Error::Transport(e))) => Answer::Lost(e.to_string()),
            Err(_) if self.rtu => Answer::Failed(classify_rtu(&self.heard.bytes())),
            Err(_) if self.heard.bytes().is_empty() => Answer::Failed(Failure::Timeout),
            Err(_) => Answer::Failed(Failure::Garbled),
        }
    }
}

/// The timer's granularity: tokio wakes sleepers on millisecond ticks.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// Waits until `at`, precisely: the silence between frames (1.75 ms above
/// 19,200 baud) is short against the timer's tick, so the last tick is
/// waited by yielding to the runtime instead of sleeping past it.
pub async fn wait_until(at: Instant) {
    if let Some(coarse) = at.checked_sub(TIMER_TICK) {
        tokio::time::sleep_until(coarse).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}
