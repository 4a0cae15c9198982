//! Consistent Overhead Byte Stuffing (COBS): removes every 0x00 from a frame
//! so that 0x00 can delimit frames on the wire. Public for tools and fuzzing
//! that build frames by hand; [`super::encode`] and [`super::FrameDecoder`]
//! use it for everything else.
//!
//! The encoder emits the standard form of Cheshire & Baker, byte for byte
//! what the usual encoders (Wikipedia's reference code, the `cobs` crate)
//! emit: a frame that ends with a full block (254 non-zero bytes, code
//! `0xFF`) gets no empty `0x01` block after it. The decoder also accepts
//! that longer form, which decodes to the same bytes.
//!
//! Pure slice functions, no allocation. They must never panic, whatever the
//! input: an output that does not fit and a malformed stuffed frame are
//! reported, never indexed past.

/// Worst-case stuffed length of `raw_len` bytes (one code byte per 254
/// data bytes, plus the first).
pub const fn max_stuffed_len(raw_len: usize) -> usize {
    raw_len + raw_len / 254 + 1
}

/// Stuffs `raw` into `out` and returns the stuffed length, or `None` when
/// `out` is too small. The output holds no 0x00 byte.
pub fn stuff(raw: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut code_at = 0;
    let mut len = 1;
    let mut code: u8 = 1;
    // Whether the last block was closed by its length, not by a zero.
    let mut ended_full = false;
    for &byte in raw {
        if byte != 0 {
            *out.get_mut(len)? = byte;
            len += 1;
            code += 1;
        }
        ended_full = byte != 0 && code == 0xFF;
        if byte == 0 || ended_full {
            *out.get_mut(code_at)? = code;
            code_at = len;
            len += 1;
            code = 1;
        }
    }
    if ended_full {
        // A full block implies no zero after it: nothing is left to say.
        return Some(code_at);
    }
    *out.get_mut(code_at)? = code;
    Some(len)
}

/// A stuffed frame that is not valid COBS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Unstuffs `buf` in place and returns the length of the raw frame at its
/// start. `buf` must not contain the 0x00 delimiter.
pub fn unstuff_in_place(buf: &mut [u8]) -> Result<usize, Malformed> {
    let (mut read, mut write) = (0, 0);
    while let Some(&code) = buf.get(read) {
        let run = usize::from(code).checked_sub(1).ok_or(Malformed)?;
        read += 1;
        let end = read + run;
        if end > buf.len() {
            return Err(Malformed);
        }
        buf.copy_within(read..end, write);
        write += run;
        read = end;
        if code != 0xFF && read < buf.len() {
            buf[write] = 0;
            write += 1;
        }
    }
    Ok(write)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;

    /// `raw` stuffed into a buffer of exactly [`max_stuffed_len`].
    fn stuffed(raw: &[u8]) -> std::vec::Vec<u8> {
        let mut out = std::vec![0u8; max_stuffed_len(raw.len())];
        let n = stuff(raw, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// `len` bytes counting up from `first`, wrapping past 0xFF to 0x00.
    fn counting(first: u8, len: usize) -> std::vec::Vec<u8> {
        (0..len).map(|i| first.wrapping_add(i as u8)).collect()
    }

    /// Wikipedia's "Encoding examples" of COBS, all eleven.
    fn published_vectors() -> std::vec::Vec<(std::vec::Vec<u8>, std::vec::Vec<u8>)> {
        let join = |parts: &[&[u8]]| parts.concat();
        let one_to_fe = counting(1, 254);
        let two_to_ff = counting(2, 254);
        let three_to_ff = counting(3, 253);
        std::vec![
            (std::vec![0x00], std::vec![0x01, 0x01]),
            (std::vec![0x00, 0x00], std::vec![0x01, 0x01, 0x01]),
            (
                std::vec![0x00, 0x11, 0x00],
                std::vec![0x01, 0x02, 0x11, 0x01]
            ),
            (
                std::vec![0x11, 0x22, 0x00, 0x33],
                std::vec![0x03, 0x11, 0x22, 0x02, 0x33]
            ),
            (
                std::vec![0x11, 0x22, 0x33, 0x44],
                std::vec![0x05, 0x11, 0x22, 0x33, 0x44]
            ),
            (
                std::vec![0x11, 0x00, 0x00, 0x00],
                std::vec![0x02, 0x11, 0x01, 0x01, 0x01]
            ),
            // 01..FE (254 bytes): one full block, nothing after it.
            (one_to_fe.clone(), join(&[&[0xFF], &one_to_fe])),
            // 00..FE (255 bytes).
            (counting(0, 255), join(&[&[0x01, 0xFF], &one_to_fe])),
            // 01..FF (255 bytes).
            (
                counting(1, 255),
                join(&[&[0xFF], &one_to_fe, &[0x02, 0xFF]])
            ),
            // 02..FF 00 (255 bytes).
            (
                counting(2, 255),
                join(&[&[0xFF], &two_to_ff, &[0x01, 0x01]])
            ),
            // 03..FF 00 01 (255 bytes).
            (
                counting(3, 255),
                join(&[&[0xFE], &three_to_ff, &[0x02, 0x01]])
            ),
        ]
    }

    #[test]
    fn published_vectors_encode_and_decode() {
        for (raw, wire) in published_vectors() {
            assert_eq!(stuffed(&raw).as_slice(), wire.as_slice(), "{raw:02x?}");
            let mut buf = wire.clone();
            let n = unstuff_in_place(&mut buf).unwrap();
            assert_eq!(&buf[..n], raw.as_slice(), "{wire:02x?}");
        }
        assert_eq!(stuffed(&[]).as_slice(), &[0x01]);
    }

    #[test]
    fn the_longer_form_after_a_full_block_decodes_to_the_same_bytes() {
        let raw = counting(1, 254);
        let mut longer = [&[0xFF], raw.as_slice(), &[0x01]].concat();
        let n = unstuff_in_place(&mut longer).unwrap();
        assert_eq!(&longer[..n], raw.as_slice());
    }

    #[test]
    fn refuses_small_output_and_malformed_input() {
        assert_eq!(stuff(&[1, 2, 3], &mut [0u8; 3]), None);
        assert_eq!(stuff(&[1], &mut []), None);
        assert_eq!(unstuff_in_place(&mut [0x05, 0x11]), Err(Malformed));
        assert_eq!(unstuff_in_place(&mut [0x00]), Err(Malformed));
        assert_eq!(unstuff_in_place(&mut []), Ok(0));
    }

    /// Runs of non-zero bytes around the 254-byte block length, so the
    /// edges of blocks come up often.
    fn block_edges() -> impl Strategy<Value = std::vec::Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(0usize), 1usize..4, 250usize..258, 506usize..512],
            0..4,
        )
        .prop_map(|runs| {
            let mut raw = std::vec::Vec::new();
            for run in runs {
                raw.extend((0..run).map(|i| (i % 255) as u8 + 1));
                raw.push(0);
            }
            raw.pop();
            raw
        })
    }

    /// Our stuffing against the `cobs` crate, an independent encoder.
    fn same_as_the_cobs_crate(raw: &[u8]) -> Result<(), TestCaseError> {
        let ours = stuffed(raw);
        let oracle = ::cobs::encode_vec(raw);
        prop_assert_eq!(ours.as_slice(), oracle.as_slice());
        prop_assert_eq!(::cobs::decode_vec(&ours).ok(), Some(raw.to_vec()));
        let mut theirs = oracle.clone();
        let n = unstuff_in_place(&mut theirs);
        prop_assert_eq!(n.map(|n| &theirs[..n]), Ok(raw));
        Ok(())
    }

    proptest! {
        #[test]
        fn matches_an_independent_encoder(raw in proptest::collection::vec(any::<u8>(), 0..1100)) {
            same_as_the_cobs_crate(&raw)?;
        }

        #[test]
        fn matches_an_independent_encoder_at_block_edges(raw in block_edges()) {
            same_as_the_cobs_crate(&raw)?;
        }

        #[test]
        fn round_trips(raw in proptest::collection::vec(any::<u8>(), 0..520)) {
            let mut buf = stuffed(&raw);
            prop_assert!(buf.len() <= max_stuffed_len(raw.len()));
            prop_assert!(!buf.contains(&0));
            let n = unstuff_in_place(&mut buf).unwrap();
            prop_assert_eq!(&buf[..n], raw.as_slice());
        }

        #[test]
        fn unstuff_never_panics(mut junk in proptest::collection::vec(1u8.., 0..300)) {
            if let Ok(n) = unstuff_in_place(&mut junk) {
                prop_assert!(n <= junk.len());
            }
        }
    }
}
