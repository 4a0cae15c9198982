//! Frames from the byte stream of the port, each with the bytes it was
//! made of: the gateway needs them to recognise a resent frame (same
//! bytes) and to show a rejected one in its dead letter.
//!
//! Decoding itself is `retrofit_protocols::edge::FrameDecoder`'s; this
//! module only cuts the stream at the same `0x00` delimiters and keeps at
//! most one frame's bytes. It never allocates per byte and never panics.

use std::hash::{Hash, Hasher};

use retrofit_protocols::edge::{DecodeError, Frame, FrameDecoder, MAX_STUFFED_LEN};

/// One delimited frame: its decoding and its stuffed bytes.
#[derive(Debug)]
pub struct Received<'a> {
    pub result: Result<Frame, DecodeError>,
    /// The bytes between the delimiters (the start of them if oversized).
    pub wire: &'a [u8],
}

impl Received<'_> {
    /// Identifies the frame's exact bytes: a resend has the same.
    pub fn fingerprint(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.wire.hash(&mut hasher);
        hasher.finish()
    }
}

/// Reassembles frames from chunks read from the port.
#[derive(Debug, Default)]
pub struct FrameReader {
    decoder: FrameDecoder,
    wire: Vec<u8>,
}

impl FrameReader {
    pub fn new() -> Self {
        Self {
            decoder: FrameDecoder::new(),
            wire: Vec::with_capacity(MAX_STUFFED_LEN),
        }
    }

    /// Feeds `chunk`; calls `on_frame` for every frame it completes.
    pub fn feed(&mut self, chunk: &[u8], mut on_frame: impl FnMut(Received<'_>)) {
        for segment in chunk.split_inclusive(|&b| b == 0) {
            let (body, ends_frame) = match segment.split_last() {
                Some((0, body)) => (body, true),
                _ => (segment, false),
            };
            let room = MAX_STUFFED_LEN.saturating_sub(self.wire.len());
            self.wire.extend_from_slice(&body[..body.len().min(room)]);
            // One delimiter at most: the segment completes at most one frame.
            for result in self.decoder.feed(segment) {
                on_frame(Received {
                    result,
                    wire: &self.wire,
                });
            }
            if ends_frame {
                self.wire.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::edge::{encode, Ack, NodeId, MAX_WIRE_LEN};

    use super::*;

    fn wire(seq: u32) -> Vec<u8> {
        let frame = Frame::unsequenced(NodeId::new(3).unwrap(), seq, Ack::cumulative(seq));
        let mut buf = [0u8; MAX_WIRE_LEN];
        let len = encode(&frame, &mut buf).unwrap();
        buf[..len].to_vec()
    }

    fn collect(reader: &mut FrameReader, chunk: &[u8]) -> Vec<(bool, Vec<u8>, u64)> {
        let mut out = Vec::new();
        reader.feed(chunk, |r| {
            out.push((r.result.is_ok(), r.wire.to_vec(), r.fingerprint()))
        });
        out
    }

    #[test]
    fn pairs_each_frame_with_its_bytes_across_chunks() {
        let (a, b) = (wire(1), wire(2));
        let stream = [a.clone(), b.clone()].concat();
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(5) {
            got.extend(collect(&mut reader, chunk));
        }
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|(ok, _, _)| *ok));
        assert_eq!(got[0].1, a[1..a.len() - 1]);
        assert_eq!(got[1].1, b[1..b.len() - 1]);
        assert_ne!(got[0].2, got[1].2);
        assert_eq!(collect(&mut reader, &a)[0].2, got[0].2, "a resend");
    }

    #[test]
    fn garbage_is_one_error_and_the_next_frame_survives() {
        let mut stream = vec![0x42; 3];
        stream.push(0);
        stream.extend(vec![0x17; MAX_STUFFED_LEN * 3]);
        stream.extend(wire(9));
        let mut reader = FrameReader::new();
        let got = collect(&mut reader, &stream);
        let oks: Vec<bool> = got.iter().map(|g| g.0).collect();
        assert_eq!(oks, [false, false, true]);
        assert_eq!(got[0].1, [0x42; 3]);
        assert_eq!(got[1].1.len(), MAX_STUFFED_LEN, "kept bytes are bounded");
    }
}
