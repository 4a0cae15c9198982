//! One frame's unstuffed bytes: the 11-byte header, the body and the CRC,
//! and the stuffed, delimited form written to the wire.
//!
//! The CRC position (last two bytes, over everything before) and the
//! version byte's position (first) never change between protocol versions,
//! so a future version is reported as such rather than as corruption. This
//! module must never accept a frame whose CRC, length or header is wrong.

use super::body::{put_message, read_message};
use super::cobs;
use super::crc::crc16;
use super::cursor::{Reader, Writer};
use super::error::{bad, DecodeError, EncodeError, Problem};
use super::message::{Frame, MessageType, NodeId};

/// Protocol version carried in every header.
pub const VERSION: u8 = 1;
/// version, type, flags, node id (u16), sequence (u32), body length (u16).
pub const HEADER_LEN: usize = 11;
/// CRC-16/CCITT-FALSE, little-endian, after the body.
pub const CRC_LEN: usize = 2;
/// Longest body.
pub const MAX_BODY_LEN: usize = 256;
/// Longest unstuffed frame: header, body and CRC.
pub const MAX_RAW_LEN: usize = HEADER_LEN + MAX_BODY_LEN + CRC_LEN;
/// Longest stuffed frame between two delimiters.
pub const MAX_STUFFED_LEN: usize = cobs::max_stuffed_len(MAX_RAW_LEN);
/// Longest frame on the wire, both 0x00 delimiters included: the buffer
/// size that [`encode`] always fits in.
pub const MAX_WIRE_LEN: usize = MAX_STUFFED_LEN + 2;

/// Header flag: the sender keeps the frame until it is acknowledged.
const FLAG_ACK_REQUESTED: u8 = 0x01;
const BODY_AT: usize = HEADER_LEN;

/// Encodes `frame` into `out` as it goes on the wire: `0x00`, the COBS-stuffed
/// header + body + CRC, `0x00`. Returns the number of bytes written, at most
/// [`MAX_WIRE_LEN`].
///
/// The leading delimiter ends any garbage the receiver holds, so a frame
/// survives line noise before it and the corruption of the frame before it.
pub fn encode(frame: &Frame, out: &mut [u8]) -> Result<usize, EncodeError> {
    let mut raw = [0u8; MAX_RAW_LEN];
    let raw_len = encode_raw(frame, &mut raw)?;
    let (first, stuffed) = out.split_first_mut().ok_or(EncodeError::BufferTooSmall)?;
    *first = 0;
    let len = cobs::stuff(&raw[..raw_len], stuffed).ok_or(EncodeError::BufferTooSmall)?;
    *stuffed.get_mut(len).ok_or(EncodeError::BufferTooSmall)? = 0;
    Ok(len + 2)
}

/// Header, body and CRC of `frame` into `raw`; returns their length.
fn encode_raw(frame: &Frame, raw: &mut [u8; MAX_RAW_LEN]) -> Result<usize, EncodeError> {
    let kind = frame.message.message_type();
    check_addressing(kind, frame.node).map_err(|_| EncodeError::OutOfRange("node"))?;
    let (header, rest) = raw.split_at_mut(BODY_AT);
    let mut body = Writer::new(&mut rest[..MAX_BODY_LEN]);
    put_message(&mut body, &frame.message)?;
    let body_len = body.len();
    let mut w = Writer::new(header);
    w.u8(VERSION)?;
    w.u8(kind.code())?;
    w.u8(if frame.ack_requested {
        FLAG_ACK_REQUESTED
    } else {
        0
    })?;
    w.u16(frame.node.get())?;
    w.u32(frame.seq)?;
    w.u16(body_len as u16)?;
    let crc_at = BODY_AT + body_len;
    let crc = crc16(&raw[..crc_at]);
    raw[crc_at..crc_at + CRC_LEN].copy_from_slice(&crc.to_le_bytes());
    Ok(crc_at + CRC_LEN)
}

/// Decodes one unstuffed frame (header, body, CRC).
pub(crate) fn decode_raw(raw: &[u8]) -> Result<Frame, DecodeError> {
    let covered = check_crc(raw)?;
    let (mut header, body) = (Reader::new(&covered[..HEADER_LEN]), &covered[HEADER_LEN..]);
    let version = header.u8("version")?;
    if version != VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let code = header.u8("message type")?;
    let kind = MessageType::from_code(code).ok_or(DecodeError::UnknownType(code))?;
    let ack_requested = match header.u8("flags")? {
        0 => false,
        FLAG_ACK_REQUESTED => true,
        _ => return Err(bad("flags", Problem::OutOfRange)),
    };
    let node = NodeId::new(header.u16("node")?).map_err(|_| bad("node", Problem::OutOfRange))?;
    check_addressing(kind, node)?;
    let seq = header.u32("sequence")?;
    let declared = header.u16("body length")?;
    if usize::from(declared) != body.len() {
        return Err(DecodeError::BodyLength {
            declared,
            actual: body.len(),
        });
    }
    let mut reader = Reader::new(body);
    let message = read_message(kind, &mut reader)?;
    reader.finish("body")?;
    Ok(Frame {
        node,
        seq,
        ack_requested,
        message,
    })
}

/// Checks the trailing CRC and returns the bytes it covers.
fn check_crc(raw: &[u8]) -> Result<&[u8], DecodeError> {
    if raw.len() < HEADER_LEN + CRC_LEN {
        return Err(DecodeError::Truncated { len: raw.len() });
    }
    let (covered, crc) = raw.split_at(raw.len() - CRC_LEN);
    let found = u16::from_le_bytes([crc[0], crc[1]]);
    let computed = crc16(covered);
    if found != computed {
        return Err(DecodeError::BadCrc { found, computed });
    }
    Ok(covered)
}

/// Node-originated messages name their sender, never every node.
fn check_addressing(kind: MessageType, node: NodeId) -> Result<(), DecodeError> {
    if kind.is_from_node() && node.is_broadcast() {
        return Err(bad("node", Problem::OutOfRange));
    }
    Ok(())
}
