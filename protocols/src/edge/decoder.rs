//! The streaming receive side: bytes in any chunking, frames or precise
//! errors out.
//!
//! Every 0x00 ends a frame, so after any garbage, truncation or corruption
//! the decoder is back in step at the next delimiter and the next good frame
//! is never lost. It holds at most [`MAX_STUFFED_LEN`] bytes, never
//! allocates and never panics.

use super::cobs;
use super::error::DecodeError;
use super::message::Frame;
use super::wire::{decode_raw, MAX_STUFFED_LEN};

/// Reassembles frames from a byte stream.
///
/// ```
/// use retrofit_protocols::edge::{encode, Ack, Frame, FrameDecoder, NodeId, MAX_WIRE_LEN};
///
/// let frame = Frame::unsequenced(NodeId::new(7).unwrap(), 0, Ack::cumulative(41));
/// let mut wire = [0u8; MAX_WIRE_LEN];
/// let len = encode(&frame, &mut wire).unwrap();
///
/// let mut decoder = FrameDecoder::new();
/// let (head, tail) = wire[..len].split_at(5);
/// assert_eq!(decoder.feed(head).count(), 0);
/// let got: Vec<_> = decoder.feed(tail).collect();
/// assert_eq!(got, [Ok(frame)]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct FrameDecoder {
    stuffed: heapless::Vec<u8, MAX_STUFFED_LEN, u16>,
    /// The current frame outgrew the buffer; skip to the next delimiter.
    overflowed: bool,
}

impl FrameDecoder {
    pub const fn new() -> Self {
        Self {
            stuffed: heapless::Vec::new(),
            overflowed: false,
        }
    }

    /// Takes one byte; returns a result when it completed a frame. Empty
    /// frames (two delimiters in a row) are skipped silently.
    pub fn push(&mut self, byte: u8) -> Option<Result<Frame, DecodeError>> {
        if byte == 0 {
            self.end_frame()
        } else {
            self.absorb(&[byte]);
            None
        }
    }

    /// Feeds a chunk; the iterator yields one result per completed frame.
    /// Drain it: bytes it has not reached when dropped are not consumed.
    pub fn feed<'d, 'b>(&'d mut self, chunk: &'b [u8]) -> Frames<'d, 'b> {
        Frames {
            decoder: self,
            input: chunk,
        }
    }

    /// Bytes of an unfinished frame held so far (0 between frames).
    pub fn buffered(&self) -> usize {
        self.stuffed.len()
    }
}

impl FrameDecoder {
    /// Appends delimiter-free bytes to the current frame.
    fn absorb(&mut self, bytes: &[u8]) {
        if !self.overflowed && self.stuffed.extend_from_slice(bytes).is_err() {
            self.overflowed = true;
            self.stuffed.clear();
        }
    }

    /// A delimiter arrived: the current frame's result, if it had bytes.
    fn end_frame(&mut self) -> Option<Result<Frame, DecodeError>> {
        if core::mem::take(&mut self.overflowed) {
            return Some(Err(DecodeError::Oversized));
        }
        if self.stuffed.is_empty() {
            return None;
        }
        let result = decode_stuffed(&mut self.stuffed);
        self.stuffed.clear();
        Some(result)
    }
}

fn decode_stuffed(stuffed: &mut [u8]) -> Result<Frame, DecodeError> {
    let len = cobs::unstuff_in_place(stuffed).map_err(|_| DecodeError::Cobs)?;
    decode_raw(&stuffed[..len])
}

/// Results of the frames completed by one chunk; see [`FrameDecoder::feed`].
#[derive(Debug)]
pub struct Frames<'d, 'b> {
    decoder: &'d mut FrameDecoder,
    input: &'b [u8],
}

impl Iterator for Frames<'_, '_> {
    type Item = Result<Frame, DecodeError>;

    /// Copies whole runs up to the next delimiter at a time.
    fn next(&mut self) -> Option<Self::Item> {
        while !self.input.is_empty() {
            let Some(end) = self.input.iter().position(|&b| b == 0) else {
                self.decoder.absorb(self.input);
                self.input = &[];
                return None;
            };
            self.decoder.absorb(&self.input[..end]);
            self.input = &self.input[end + 1..];
            if let Some(result) = self.decoder.end_frame() {
                return Some(result);
            }
        }
        None
    }
}
