//! Consistent Overhead Byte Stuffing (COBS): removes every 0x00 from a frame
//! so that 0x00 can delimit frames on the wire. Public for tools and fuzzing
//! that build frames by hand; [`super::encode`] and [`super::FrameDecoder`]
//! use it for everything else.
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
    for &byte in raw {
        if byte != 0 {
            *out.get_mut(len)? = byte;
            len += 1;
            code += 1;
        }
        if byte == 0 || code == 0xFF {
            *out.get_mut(code_at)? = code;
            code_at = len;
            len += 1;
            code = 1;
        }
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
    use super::*;
    use proptest::prelude::*;

    fn stuffed(raw: &[u8]) -> heapless::Vec<u8, 600> {
        let mut out = [0u8; 600];
        let n = stuff(raw, &mut out).unwrap();
        heapless::Vec::from_slice(&out[..n]).unwrap()
    }

    #[test]
    fn known_vectors() {
        assert_eq!(stuffed(&[]).as_slice(), &[0x01]);
        assert_eq!(stuffed(&[0x00]).as_slice(), &[0x01, 0x01]);
        assert_eq!(
            stuffed(&[0x11, 0x22, 0x00, 0x33]).as_slice(),
            &[0x03, 0x11, 0x22, 0x02, 0x33]
        );
        let run: heapless::Vec<u8, 254> = (1..=254).collect();
        let out = stuffed(&run);
        assert_eq!(out.len(), 256);
        assert_eq!((out[0], out[255]), (0xFF, 0x01));
    }

    #[test]
    fn refuses_small_output_and_malformed_input() {
        assert_eq!(stuff(&[1, 2, 3], &mut [0u8; 3]), None);
        assert_eq!(stuff(&[1], &mut []), None);
        assert_eq!(unstuff_in_place(&mut [0x05, 0x11]), Err(Malformed));
        assert_eq!(unstuff_in_place(&mut [0x00]), Err(Malformed));
        assert_eq!(unstuff_in_place(&mut []), Ok(0));
    }

    proptest! {
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
