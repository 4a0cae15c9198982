//! RAM budget: each node's long-lived state (drivers, application, one
//! poll's output, and the link's resend ring `NodeLink<8>`) must fit in
//! 8 KiB. Measured with `core::mem::size_of` on the host (64-bit, so an
//! upper bound for 32-bit MCUs); drivers are instantiated over zero-sized
//! stand-in buses so only their own state counts.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use core::mem::size_of;

use embedded_hal::digital::{ErrorType as PinErrorType, InputPin};
use embedded_hal::i2c::{ErrorType as I2cErrorType, I2c, Operation};
use retrofit_firmware::adc::Adc;
use retrofit_firmware::apps::drainage::{DrainageApp, DrainageBoard};
use retrofit_firmware::apps::elevator::{ElevatorApp, ElevatorBoard};
use retrofit_firmware::apps::parking::{ParkingApp, ParkingBoard};
use retrofit_firmware::apps::NodeOutput;
use retrofit_firmware::drivers::analog_percent::AnalogPercent;
use retrofit_firmware::drivers::contact::Contact;
use retrofit_firmware::drivers::level_transmitter::LevelTransmitter;
use retrofit_firmware::drivers::lis3dh::Lis3dh;
use retrofit_firmware::drivers::qmc5883l::Qmc5883l;
use retrofit_firmware::drivers::rain_gauge::TipCounter;
use retrofit_firmware::link::NodeLink;

/// The budget per node, bytes.
const NODE_RAM_BUDGET: usize = 8 * 1024;

struct Bus;
impl I2cErrorType for Bus {
    type Error = core::convert::Infallible;
}
impl I2c for Bus {
    fn transaction(&mut self, _: u8, _: &mut [Operation<'_>]) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct Pin;
impl PinErrorType for Pin {
    type Error = core::convert::Infallible;
}
impl InputPin for Pin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(false)
    }
}

struct Channel;
impl Adc for Channel {
    type Error = ();
    fn read_counts(&mut self) -> Result<u16, ()> {
        Ok(0)
    }
}

type ElevatorHw = ElevatorBoard<Lis3dh<Bus>, Contact<Pin>, AnalogPercent<Channel>>;
type ParkingHw = ParkingBoard<Qmc5883l<Bus>, AnalogPercent<Channel>>;
type DrainageHw =
    DrainageBoard<LevelTransmitter<Channel>, &'static TipCounter, AnalogPercent<Channel>>;
type Link = NodeLink<8>;

/// Board + application + one poll's output + the link, plus any statics
/// the node needs (the rain gauge's ISR counter); printed for the docs.
fn node_ram<Hw, App>(kind: &str, statics: usize) -> usize {
    let (hw, app, out, link) = (
        size_of::<Hw>(),
        size_of::<App>(),
        size_of::<NodeOutput>(),
        size_of::<Link>(),
    );
    let total = hw + app + out + link + statics;
    println!("{kind}: board {hw} + app {app} + output {out} + NodeLink<8> {link} + statics {statics} = {total} B of {NODE_RAM_BUDGET}");
    total
}

#[test]
fn every_node_fits_its_ram_budget() {
    assert!(node_ram::<ElevatorHw, ElevatorApp>("elevator", 0) <= NODE_RAM_BUDGET);
    assert!(node_ram::<ParkingHw, ParkingApp>("parking", 0) <= NODE_RAM_BUDGET);
    assert!(
        node_ram::<DrainageHw, DrainageApp>("drainage", size_of::<TipCounter>()) <= NODE_RAM_BUDGET
    );
}

#[test]
fn application_state_alone_stays_small() {
    // The applications themselves, without output or link: 1 KiB each.
    assert!(
        size_of::<ElevatorApp>() <= 1024,
        "{}",
        size_of::<ElevatorApp>()
    );
    assert!(
        size_of::<ParkingApp>() <= 1024,
        "{}",
        size_of::<ParkingApp>()
    );
    assert!(
        size_of::<DrainageApp>() <= 1024,
        "{}",
        size_of::<DrainageApp>()
    );
}
