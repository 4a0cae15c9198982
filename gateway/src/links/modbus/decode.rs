//! Register values as numbers (and back, for writes): the data types of a
//! point (`bool`, `u16`, `i16`, `u32`, `i32`, `f32`) with their word order
//! (which register holds the high half of a 32-bit value) and byte order
//! (which byte of a register comes first on the wire).
//!
//! Pure functions on what a slave answered; a short or odd answer yields
//! `None`, never a panic. NaN and infinities never leave this module.

use serde::Deserialize;

/// The data type of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Bool,
    U16,
    I16,
    U32,
    I32,
    F32,
}

/// Word or byte order: `big` (high first, Modbus' own) or `little`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    Big,
    Little,
}

/// How to read one point out of its registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub data_type: DataType,
    pub word_order: Order,
    pub byte_order: Order,
    /// For a `bool` read from a register: the bit, 0 = least significant.
    pub bit: Option<u8>,
}

impl DataType {
    /// Registers a value of this type takes.
    pub fn registers(self) -> u16 {
        match self {
            Self::Bool | Self::U16 | Self::I16 => 1,
            Self::U32 | Self::I32 | Self::F32 => 2,
        }
    }

    /// The counter modulus of an unsigned integer type (its rollover).
    pub fn modulus(self) -> Option<f64> {
        match self {
            Self::U16 => Some(65_536.0),
            Self::U32 => Some(4_294_967_296.0),
            _ => None,
        }
    }
}

impl Layout {
    /// The value of the point whose registers are `words`.
    pub fn decode(&self, words: &[u16]) -> Option<f64> {
        let words = words.get(..usize::from(self.data_type.registers()))?;
        let swap = |w: u16| match self.byte_order {
            Order::Big => w,
            Order::Little => w.swap_bytes(),
        };
        let first = swap(words[0]);
        let pair = || {
            let second = swap(*words.get(1)?);
            Some(match self.word_order {
                Order::Big => (u32::from(first) << 16) | u32::from(second),
                Order::Little => (u32::from(second) << 16) | u32::from(first),
            })
        };
        let value = match self.data_type {
            DataType::Bool => f64::from((first >> self.bit.unwrap_or(0).min(15)) & 1),
            DataType::U16 => f64::from(first),
            DataType::I16 => f64::from(first as i16),
            DataType::U32 => f64::from(pair()?),
            DataType::I32 => f64::from(pair()? as i32),
            DataType::F32 => f64::from(f32::from_bits(pair()?)),
        };
        value.is_finite().then_some(value)
    }

    /// The registers that hold `value` (rounded for integer types), or
    /// `None` when it does not fit the type.
    pub fn encode(&self, value: f64) -> Option<Vec<u16>> {
        if !value.is_finite() {
            return None;
        }
        let swap = |w: u16| match self.byte_order {
            Order::Big => w,
            Order::Little => w.swap_bytes(),
        };
        let split = |v: u32| {
            let (high, low) = (swap((v >> 16) as u16), swap(v as u16));
            match self.word_order {
                Order::Big => vec![high, low],
                Order::Little => vec![low, high],
            }
        };
        let r = value.round();
        match self.data_type {
            DataType::Bool | DataType::U16 => {
                (0.0..=65_535.0).contains(&r).then(|| vec![swap(r as u16)])
            }
            DataType::I16 => (-32_768.0..=32_767.0)
                .contains(&r)
                .then(|| vec![swap(r as i16 as u16)]),
            DataType::U32 => (0.0..=4_294_967_295.0)
                .contains(&r)
                .then(|| split(r as u32)),
            DataType::I32 => (-2_147_483_648.0..=2_147_483_647.0)
                .contains(&r)
                .then(|| split(r as i32 as u32)),
            DataType::F32 => {
                let f = value as f32;
                f.is_finite().then(|| split(f.to_bits()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(data_type: DataType, word_order: Order, byte_order: Order) -> Layout {
        Layout {
            data_type,
            word_order,
            byte_order,
            bit: None,
        }
    }

    #[test]
    fn word_and_byte_orders() {
        // 123.456 as f32 is 0x42F6E979.
        let abcd = [0x42F6, 0xE979];
        let f = |wo, bo, w: &[u16]| layout(DataType::F32, wo, bo).decode(w).unwrap();
        let close = |x: f64| (x - 123.456).abs() < 1e-4;
        assert!(close(f(Order::Big, Order::Big, &abcd)));
        assert!(close(f(Order::Little, Order::Big, &[0xE979, 0x42F6])));
        assert!(close(f(Order::Big, Order::Little, &[0xF642, 0x79E9])));
        assert!(close(f(Order::Little, Order::Little, &[0x79E9, 0xF642])));
        let u32_cdab = layout(DataType::U32, Order::Little, Order::Big);
        assert_eq!(u32_cdab.decode(&[0x0002, 0x0001]), Some(65_538.0));
        let i16 = layout(DataType::I16, Order::Big, Order::Big);
        assert_eq!(i16.decode(&[0xFFFE]), Some(-2.0));
        let i32 = layout(DataType::I32, Order::Big, Order::Big);
        assert_eq!(i32.decode(&[0xFFFF, 0xFFFF]), Some(-1.0));
    }

    #[test]
    fn bits_of_a_register() {
        let mut l = layout(DataType::Bool, Order::Big, Order::Big);
        l.bit = Some(3);
        assert_eq!(l.decode(&[0b1000]), Some(1.0));
        assert_eq!(l.decode(&[0b0111]), Some(0.0));
    }

    #[test]
    fn hostile_answers_decode_to_nothing() {
        let f32 = layout(DataType::F32, Order::Big, Order::Big);
        assert_eq!(f32.decode(&[0x7FC0, 0x0000]), None, "NaN");
        assert_eq!(f32.decode(&[0x7F80, 0x0000]), None, "infinity");
        assert_eq!(f32.decode(&[0x4000]), None, "short");
        assert_eq!(f32.decode(&[]), None);
    }

    #[test]
    fn encode_round_trips_and_refuses_what_does_not_fit() {
        for wo in [Order::Big, Order::Little] {
            for bo in [Order::Big, Order::Little] {
                for ty in [DataType::U16, DataType::I16, DataType::U32, DataType::I32] {
                    let l = layout(ty, wo, bo);
                    let words = l.encode(-1.0).or_else(|| l.encode(1234.0)).unwrap();
                    let back = l.decode(&words).unwrap();
                    assert!(back == -1.0 || back == 1234.0, "{ty:?} {wo:?} {bo:?}");
                }
            }
        }
        assert_eq!(
            layout(DataType::U16, Order::Big, Order::Big).encode(70_000.0),
            None
        );
        assert_eq!(
            layout(DataType::F32, Order::Big, Order::Big).encode(f64::NAN),
            None
        );
    }
}
