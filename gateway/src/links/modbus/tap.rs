//! A listening tap on the bus transport: it passes every byte through and
//! keeps a copy of what was heard since the last request, so that a
//! request that got no decodable answer can be told apart: silence (a
//! timeout), a frame of the right length with a bad CRC, or a short or
//! garbled frame.
//!
//! Never changes a byte; holds its lock only inside a poll, never across
//! an await.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most bytes kept (a Modbus RTU frame is at most 256).
const KEEP: usize = 512;

/// What was heard since [`Heard::clear`].
#[derive(Debug, Clone, Default)]
pub struct Heard(Arc<Mutex<Vec<u8>>>);

impl Heard {
    pub fn clear(&self) {
        if let Ok(mut b) = self.0.lock() {
            b.clear();
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn push(&self, bytes: &[u8]) {
        if let Ok(mut b) = self.0.lock() {
            let room = KEEP.saturating_sub(b.len());
            b.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

/// The transport `T` with a [`Heard`] copy of its input.
#[derive(Debug)]
pub struct Tap<T> {
    inner: T,
    heard: Heard,
}

impl<T> Tap<T> {
    pub fn new(inner: T, heard: Heard) -> Self {
        Self { inner, heard }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            self.heard.push(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why an RTU request got no decodable answer, from the bytes heard.
pub fn classify_rtu(heard: &[u8]) -> Failure {
    let Some((&_slave, rest)) = heard.split_first() else {
        return Failure::Timeout;
    };
    let expected = match rest {
        [f, ..] if f & 0x80 != 0 => Some(5),
        [1..=4, count, ..] => Some(5 + usize::from(*count)),
        [5 | 6 | 15 | 16, ..] => Some(8),
        _ => None,
    };
    match expected {
        Some(n) if heard.len() >= n && !crc_ok(&heard[..n]) => Failure::Crc,
        Some(n) if heard.len() < n => Failure::Short,
        _ => Failure::Garbled,
    }
}

/// Whether `frame` ends with the Modbus CRC of the rest.
pub fn crc_ok(frame: &[u8]) -> bool {
    let Some(body_len) = frame.len().checked_sub(2) else {
        return false;
    };
    let crc = crc16(&frame[..body_len]).to_le_bytes();
    frame[body_len..] == crc
}

/// The Modbus RTU CRC-16.
pub fn crc16(data: &[u8]) -> u16 {
    const MODBUS: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);
    MODBUS.checksum(data)
}

/// A request that produced no answer the poller can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was heard.
    Timeout,
    /// A frame of the right length whose CRC is wrong.
    Crc,
    /// The start of a frame that never completed.
    Short,
    /// Bytes that do not make a frame for this request.
    Garbled,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = body.to_vec();
        f.extend(crc16(body).to_le_bytes());
        f
    }

    #[test]
    fn classifies_what_was_heard() {
        assert_eq!(classify_rtu(&[]), Failure::Timeout);
        let good = frame(&[1, 3, 2, 0x12, 0x34]);
        assert!(crc_ok(&good));
        let mut bad = good.clone();
        bad[3] ^= 0xFF;
        assert_eq!(classify_rtu(&bad), Failure::Crc);
        assert_eq!(classify_rtu(&good[..4]), Failure::Short);
        assert_eq!(classify_rtu(&[1, 0x42, 9, 9]), Failure::Garbled);
        assert_eq!(classify_rtu(&[7]), Failure::Garbled);
        let mut exception = frame(&[1, 0x83, 2]);
        exception[4] ^= 1;
        assert_eq!(classify_rtu(&exception), Failure::Crc);
    }

    #[test]
    fn crc_matches_the_reference_frame() {
        // Read holding registers 0..2 of slave 1: 01 03 00 00 00 02 C4 0B.
        assert_eq!(crc16(&[1, 3, 0, 0, 0, 2]).to_le_bytes(), [0xC4, 0x0B]);
        assert!(!crc_ok(&[1]));
    }
}
