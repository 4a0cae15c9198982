//! An I2C bus with one simulated chip on it, behaving like a typical
//! register-mapped sensor: the first byte written in a transaction is the
//! register address, further written bytes go to consecutive registers,
//! and reads continue from the current register (incrementing when the
//! chip says so). A transaction to another address is not acknowledged.
//!
//! Register semantics (identity, data, status) belong to the chip model;
//! this module only moves bytes.

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};

/// A register-mapped chip.
pub trait RegisterChip {
    /// Its 7-bit bus address.
    fn address(&self) -> u8;

    /// The register a written sub-address selects, and whether reads and
    /// writes from it move on to the next register.
    fn select(&self, sub_address: u8) -> (u8, bool);

    /// Reads one register (a read may have side effects, e.g. clearing a
    /// data-ready flag).
    fn read(&mut self, register: u8) -> u8;

    fn write(&mut self, register: u8, value: u8);
}

/// The bus and its chip.
#[derive(Debug)]
pub struct SimI2c<C> {
    chip: C,
    register: u8,
    increment: bool,
}

impl<C: RegisterChip> SimI2c<C> {
    pub fn new(chip: C) -> Self {
        Self {
            chip,
            register: 0,
            increment: false,
        }
    }

    fn next_register(&mut self) -> u8 {
        let current = self.register;
        if self.increment {
            self.register = self.register.wrapping_add(1);
        }
        current
    }

    fn write_bytes(&mut self, bytes: &[u8]) {
        let Some((sub_address, values)) = bytes.split_first() else {
            return;
        };
        (self.register, self.increment) = self.chip.select(*sub_address);
        for value in values {
            let register = self.next_register();
            self.chip.write(register, *value);
        }
    }
}

impl<C> ErrorType for SimI2c<C> {
    type Error = ErrorKind;
}

impl<C: RegisterChip> I2c for SimI2c<C> {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), ErrorKind> {
        if address != self.chip.address() {
            return Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address));
        }
        for operation in operations {
            match operation {
                Operation::Write(bytes) => self.write_bytes(bytes),
                Operation::Read(buffer) => {
                    for byte in buffer.iter_mut() {
                        let register = self.next_register();
                        *byte = self.chip.read(register);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16 plain registers at 0x42, incrementing when bit 7 of the
    /// sub-address is set.
    struct Scratch([u8; 16]);

    impl RegisterChip for Scratch {
        fn address(&self) -> u8 {
            0x42
        }
        fn select(&self, sub_address: u8) -> (u8, bool) {
            (sub_address & 0x0F, sub_address & 0x80 != 0)
        }
        fn read(&mut self, register: u8) -> u8 {
            self.0[usize::from(register & 0x0F)]
        }
        fn write(&mut self, register: u8, value: u8) {
            self.0[usize::from(register & 0x0F)] = value;
        }
    }

    #[test]
    fn writes_and_bursts_follow_the_register_pointer() {
        let mut bus = SimI2c::new(Scratch([0; 16]));
        bus.write(0x42, &[0x83, 7, 8, 9]).unwrap();
        let mut burst = [0u8; 3];
        bus.write_read(0x42, &[0x83], &mut burst).unwrap();
        assert_eq!(burst, [7, 8, 9]);
        let mut same = [0u8; 2];
        bus.write_read(0x42, &[0x04], &mut same).unwrap();
        assert_eq!(same, [8, 8], "no increment without bit 7");
    }

    #[test]
    fn another_address_is_not_acknowledged() {
        let mut bus = SimI2c::new(Scratch([0; 16]));
        assert_eq!(
            bus.write(0x18, &[0x00]),
            Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address))
        );
    }
}
