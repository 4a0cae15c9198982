//! Byte cursors for frame bodies: a bounded little-endian writer and a
//! reader whose every read is checked. Neither may index past its slice.

use super::error::{bad, DecodeError, EncodeError, Field, Problem};

/// Appends to a fixed slice; running out of room is [`EncodeError::BodyTooLarge`].
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = self.len + bytes.len();
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(EncodeError::BodyTooLarge)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), EncodeError> {
        self.bytes(&[v])
    }

    /// Overwrites the byte written at `at` (a length known only later);
    /// a position not yet written is left alone.
    pub(crate) fn patch(&mut self, at: usize, v: u8) {
        if let Some(b) = self.buf.get_mut(at).filter(|_| at < self.len) {
            *b = v;
        }
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), EncodeError> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), EncodeError> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> Result<(), EncodeError> {
        self.bytes(&v.to_le_bytes())
    }
}

/// Reads a body front to back; running out is [`Problem::Missing`] for the
/// field being read.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize, field: Field) -> Result<&'a [u8], DecodeError> {
        let (head, rest) = self
            .rest
            .split_at_checked(n)
            .ok_or(bad(field, Problem::Missing))?;
        self.rest = rest;
        Ok(head)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn array<const N: usize>(&mut self, field: Field) -> Result<[u8; N], DecodeError> {
        self.take(N, field)?
            .try_into()
            .map_err(|_| bad(field, Problem::Missing))
    }

    pub(crate) fn u8(&mut self, field: Field) -> Result<u8, DecodeError> {
        self.array::<1>(field).map(|[b]| b)
    }

    pub(crate) fn u16(&mut self, field: Field) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self, field: Field) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, field: Field) -> Result<u64, DecodeError> {
        self.array(field).map(u64::from_le_bytes)
    }

    pub(crate) fn f32(&mut self, field: Field) -> Result<f32, DecodeError> {
        self.array(field).map(f32::from_le_bytes)
    }

    pub(crate) fn f64(&mut self, field: Field) -> Result<f64, DecodeError> {
        self.array(field).map(f64::from_le_bytes)
    }

    /// The body must end here; `after` names the last field read.
    pub(crate) fn finish(self, after: Field) -> Result<(), DecodeError> {
        match self.rest {
            [] => Ok(()),
            _ => Err(bad(after, Problem::Trailing)),
        }
    }
}
