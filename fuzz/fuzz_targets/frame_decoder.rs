//! Fuzz target: arbitrary bytes into the edge link's `FrameDecoder`. It must
//! never panic, never hold more than one frame's bytes, and every frame it
//! accepts must encode back to bytes that decode to the same frame. It must
//! never assert anything about rejected input beyond that.
//!
//! The first input byte picks the mode. High bit clear: the rest is a raw
//! byte stream, fed in chunks of `first + 1` bytes (framing, resync, CRC).
//! High bit set: the rest is an unstuffed header + body that gets a correct
//! CRC and stuffing, so the fuzzer reaches the header and body validation
//! that a CRC would otherwise shield.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrofit_protocols::edge::{
    cobs, crc16, encode, FrameDecoder, MAX_RAW_LEN, MAX_STUFFED_LEN, MAX_WIRE_LEN,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 0x80 == 0 {
        decode_checked(rest, usize::from(mode) + 1);
    } else {
        let mut wire = [0u8; MAX_WIRE_LEN];
        let len = sealed(rest, &mut wire);
        decode_checked(&wire[..len], MAX_WIRE_LEN);
    }
});

/// `00`, COBS(`raw` + its CRC), `00`, with `raw` cut to fit one frame.
fn sealed(raw: &[u8], wire: &mut [u8; MAX_WIRE_LEN]) -> usize {
    let raw = &raw[..raw.len().min(MAX_RAW_LEN - 2)];
    let mut with_crc = [0u8; MAX_RAW_LEN];
    with_crc[..raw.len()].copy_from_slice(raw);
    with_crc[raw.len()..raw.len() + 2].copy_from_slice(&crc16(raw).to_le_bytes());
    let len = cobs::stuff(&with_crc[..raw.len() + 2], &mut wire[1..])
        .unwrap_or_else(|| panic!("one frame's bytes must fit MAX_WIRE_LEN once stuffed"));
    wire[len + 1] = 0;
    len + 2
}

fn decode_checked(stream: &[u8], chunk: usize) {
    let mut decoder = FrameDecoder::new();
    for piece in stream.chunks(chunk) {
        for frame in decoder.feed(piece).flatten() {
            let mut wire = [0u8; MAX_WIRE_LEN];
            let len = encode(&frame, &mut wire)
                .unwrap_or_else(|e| panic!("accepted frame {frame:?} does not encode: {e:?}"));
            let decoded: Vec<_> = FrameDecoder::new().feed(&wire[..len]).collect();
            assert_eq!(decoded, [Ok(frame)]);
        }
        assert!(decoder.buffered() <= MAX_STUFFED_LEN);
    }
}
