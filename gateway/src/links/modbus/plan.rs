//! The reads that poll a map: points of one table at adjacent addresses
//! are coalesced into one request, up to the protocol's limit per read
//! (125 registers, 2000 bits). Bits of one register share its read.
//!
//! Pure: computed once per device when the link starts; never talks to a
//! bus.

use super::map::{Point, RegisterMap, Table, MAX_READ_REGISTERS};

/// Most bits one read of coils or discrete inputs may ask for.
const MAX_READ_BITS: u16 = 2000;

/// One read request and the points its answer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub table: Table,
    pub address: u16,
    pub count: u16,
    /// Indices of the map's points inside this block.
    pub points: Vec<usize>,
}

impl Block {
    fn end(&self) -> u32 {
        u32::from(self.address) + u32::from(self.count)
    }

    /// Whether `p` can join this block without a gap or passing the limit.
    fn takes(&self, p: &Point) -> bool {
        let limit = if self.table.is_bits() {
            MAX_READ_BITS
        } else {
            MAX_READ_REGISTERS
        };
        let end = self.end().max(u32::from(p.address) + u32::from(p.width()));
        p.table == self.table
            && u32::from(p.address) <= self.end()
            && end - u32::from(self.address) <= u32::from(limit)
    }
}

/// The reads that cover every point of `map`, in table and address order.
pub fn plan(map: &RegisterMap) -> Vec<Block> {
    let mut order: Vec<usize> = (0..map.points.len()).collect();
    order.sort_by_key(|&i| (map.points[i].table, map.points[i].address));
    let mut blocks: Vec<Block> = Vec::new();
    for i in order {
        let p = &map.points[i];
        match blocks.last_mut().filter(|b| b.takes(p)) {
            Some(b) => {
                let end = b.end().max(u32::from(p.address) + u32::from(p.width()));
                b.count = (end - u32::from(b.address)) as u16;
                b.points.push(i);
            }
            None => blocks.push(Block {
                table: p.table,
                address: p.address,
                count: p.width(),
                points: vec![i],
            }),
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::modbus::decode::{DataType, Layout, Order};

    fn point(table: Table, address: u16, data_type: DataType, bit: Option<u8>) -> Point {
        Point {
            name: retrofit_protocols::Id::parse("p").unwrap(),
            metric: None,
            table,
            address,
            layout: Layout {
                data_type,
                word_order: Order::Big,
                byte_order: Order::Big,
                bit,
            },
            scale: 1.0,
            offset: 0.0,
            units: None,
            decimals_from: None,
            unit_from: None,
            counter: None,
            from_mount_height: false,
            writable: false,
        }
    }

    #[test]
    fn coalesces_adjacent_points_bits_of_a_register_and_stops_at_gaps_and_limits() {
        let points = vec![
            point(Table::HoldingRegisters, 10, DataType::F32, None),
            point(Table::HoldingRegisters, 12, DataType::Bool, Some(0)),
            point(Table::HoldingRegisters, 12, DataType::Bool, Some(5)),
            point(Table::HoldingRegisters, 14, DataType::U16, None),
            point(Table::InputRegisters, 13, DataType::U16, None),
            point(Table::HoldingRegisters, 15, DataType::U16, None),
            point(Table::HoldingRegisters, 139, DataType::U32, None),
            point(Table::Coils, 0, DataType::Bool, None),
            point(Table::Coils, 1, DataType::Bool, None),
        ];
        let map = RegisterMap {
            name: retrofit_protocols::Id::parse("m").unwrap(),
            points,
        };
        let blocks: Vec<_> = plan(&map)
            .iter()
            .map(|b| (b.table, b.address, b.count, b.points.len()))
            .collect();
        assert_eq!(
            blocks,
            [
                (Table::Coils, 0, 2, 2),
                (Table::HoldingRegisters, 10, 3, 3),
                (Table::HoldingRegisters, 14, 2, 2),
                (Table::HoldingRegisters, 139, 2, 1),
                (Table::InputRegisters, 13, 1, 1),
            ]
        );
    }
}
