//! Driver tests against `embedded-hal-mock` transactions that follow the
//! datasheets: init sequences, register reads and scaling; plus hostile
//! byte streams for the UART sensor.

// A test crate: a failed expectation is a failed test. clippy.toml allows
// unwrap/expect in #[test] functions only, not in the helpers around them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use embedded_hal::i2c::ErrorKind;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as Pin};
use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as I2c};
use proptest::prelude::*;
use retrofit_firmware::adc::{Adc, AdcScale};
use retrofit_firmware::drivers::a02yyuw::{self, A02yyuw, UltrasonicLevel};
use retrofit_firmware::drivers::analog_percent::{AnalogPercent, PercentConfig};
use retrofit_firmware::drivers::contact::{Contact, Polarity};
use retrofit_firmware::drivers::level_transmitter::{self, LevelTransmitter, LoopConfig};
use retrofit_firmware::drivers::lis3dh::{self, DataRate, FullScale, Lis3dh, Resolution};
use retrofit_firmware::drivers::qmc5883l::{self, Qmc5883l};
use retrofit_firmware::sensor::{
    Accelerometer, BinaryInput, LevelGauge, Magnetometer, PercentGauge, SensorFault,
};

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

// ---------------------------------------------------------------- LIS3DH

const LIS: u8 = lis3dh::ADDRESS_SA0_LOW;

fn lis3dh_init(ctrl1: u8, ctrl4: u8) -> Vec<I2c> {
    vec![
        I2c::write_read(LIS, vec![0x0F], vec![0x33]),
        I2c::write(LIS, vec![0x20, ctrl1]),
        I2c::write(LIS, vec![0x23, ctrl4]),
    ]
}

#[test]
fn lis3dh_init_writes_ctrl_reg1_and_ctrl_reg4_per_datasheet() {
    // 100 Hz, normal power, XYZ on = 0x57; BDU + HR at ±2 g = 0x88.
    let mut i2c = I2cMock::new(&lis3dh_init(0x57, 0x88));
    let dev = Lis3dh::new(i2c.clone(), LIS, lis3dh::Config::default()).unwrap();
    drop(dev);
    i2c.done();
}

#[test]
fn lis3dh_reads_a_burst_with_auto_increment_and_scales_high_resolution() {
    let mut expect = lis3dh_init(0x57, 0x88);
    // X = +1 g (0x4000 >> 4 = 1024 mg), Y = -0.5 g, Z = +16 mg.
    let y = (-512i16 << 4).to_le_bytes();
    expect.push(I2c::write_read(
        LIS,
        vec![0x28 | 0x80],
        vec![0x00, 0x40, y[0], y[1], 0x00, 0x01],
    ));
    expect.push(I2c::write_read(
        LIS,
        vec![0xA8],
        vec![0x00, 0x40, 0, 0, 0, 0],
    ));
    let mut i2c = I2cMock::new(&expect);
    let mut dev = Lis3dh::new(i2c.clone(), LIS, lis3dh::Config::default()).unwrap();
    assert_eq!(dev.read_milli_g().unwrap(), [1024, -512, 16]);
    let a = dev.acceleration().unwrap();
    assert!(close(a.x, 1.024 * 9.806_65, 1e-4), "{a:?}");
    i2c.done();
}

#[test]
fn lis3dh_scaling_follows_the_sensitivity_table() {
    let config = |full_scale, resolution| lis3dh::Config {
        full_scale,
        resolution,
        data_rate: DataRate::Hz50,
    };
    // Same raw register value 0x4000 in every mode.
    let cases = [
        (FullScale::G2, Resolution::HighRes12, 1024),
        (FullScale::G4, Resolution::HighRes12, 1024 * 2),
        (FullScale::G16, Resolution::HighRes12, 1024 * 12),
        (FullScale::G2, Resolution::Normal10, 256 * 4),
        (FullScale::G8, Resolution::Normal10, 256 * 16),
        (FullScale::G16, Resolution::Normal10, 256 * 48),
        (FullScale::G2, Resolution::LowPower8, 64 * 16),
        (FullScale::G16, Resolution::LowPower8, 64 * 192),
    ];
    for (fs, res, mg) in cases {
        assert_eq!(config(fs, res).milli_g(0x4000), mg, "{fs:?} {res:?}");
    }
    // Register values: 50 Hz low-power = 0x4F; ±16 g normal mode = 0xB0.
    assert_eq!(
        config(FullScale::G2, Resolution::LowPower8).ctrl_reg1(),
        0x4F
    );
    assert_eq!(
        config(FullScale::G16, Resolution::Normal10).ctrl_reg4(),
        0xB0
    );
}

#[test]
fn lis3dh_refuses_another_chip_and_reports_bus_errors() {
    let mut i2c = I2cMock::new(&[I2c::write_read(LIS, vec![0x0F], vec![0x32])]);
    let err = Lis3dh::new(i2c.clone(), LIS, lis3dh::Config::default()).unwrap_err();
    assert_eq!(err, lis3dh::Error::WrongDevice(0x32));
    assert_eq!(SensorFault::from(err), SensorFault::WrongDevice);
    i2c.done();

    let mut expect = lis3dh_init(0x57, 0x88);
    expect.push(I2c::write_read(LIS, vec![0xA8], vec![0; 6]).with_error(ErrorKind::Other));
    let mut i2c = I2cMock::new(&expect);
    let mut dev = Lis3dh::new(i2c.clone(), LIS, lis3dh::Config::default()).unwrap();
    assert_eq!(dev.acceleration(), Err(SensorFault::Bus));
    i2c.done();
}

// ------------------------------------------------------------- QMC5883L

const QMC: u8 = qmc5883l::ADDRESS;

fn qmc_init(control_1: u8) -> Vec<I2c> {
    vec![
        I2c::write_read(QMC, vec![0x0D], vec![0xFF]),
        I2c::write(QMC, vec![0x0B, 0x01]),
        I2c::write(QMC, vec![0x09, control_1]),
    ]
}

#[test]
fn qmc5883l_init_sets_set_reset_period_then_control_1() {
    let config = qmc5883l::Config {
        mode: qmc5883l::Mode::Continuous,
        data_rate: qmc5883l::DataRate::Hz200,
        range: qmc5883l::Range::Gauss8,
        oversampling: qmc5883l::Oversampling::X512,
    };
    // The datasheet's example value: continuous, 200 Hz, 8 G, OSR 512.
    let mut i2c = I2cMock::new(&qmc_init(0x1D));
    drop(Qmc5883l::new(i2c.clone(), config).unwrap());
    i2c.done();
}

#[test]
fn qmc5883l_reads_little_endian_xyz_when_ready_and_scales_to_microtesla() {
    let mut expect = qmc_init(0x01);
    let y = (-6000i16).to_le_bytes();
    let z = 1200i16.to_le_bytes();
    expect.extend([
        I2c::write_read(QMC, vec![0x06], vec![0x00]),
        I2c::write_read(QMC, vec![0x06], vec![0x01]),
        I2c::write_read(QMC, vec![0x00], vec![0xE0, 0x2E, y[0], y[1], z[0], z[1]]),
        I2c::write_read(QMC, vec![0x06], vec![0x03]),
    ]);
    let mut i2c = I2cMock::new(&expect);
    let mut dev = Qmc5883l::new(i2c.clone(), qmc5883l::Config::default()).unwrap();
    assert_eq!(dev.field(), Ok(None), "DRDY clear: no data read");
    let field = dev.field().unwrap().unwrap();
    // 12 000 LSB/G at ±2 G: 1 G = 100 µT.
    assert!(
        close(field.x, 100.0, 1e-3) && close(field.y, -50.0, 1e-3) && close(field.z, 10.0, 1e-3),
        "{field:?}"
    );
    assert_eq!(dev.field(), Err(SensorFault::OutOfRange), "OVL set");
    i2c.done();
}

#[test]
fn qmc5883l_range_8g_uses_3000_lsb_per_gauss() {
    let config = qmc5883l::Config {
        range: qmc5883l::Range::Gauss8,
        ..qmc5883l::Config::default()
    };
    assert_eq!(config.control_1(), 0x11);
    let mut expect = qmc_init(0x11);
    expect.extend([
        I2c::write_read(QMC, vec![0x06], vec![0x01]),
        I2c::write_read(QMC, vec![0x00], vec![0xB8, 0x0B, 0, 0, 0, 0]),
    ]);
    let mut i2c = I2cMock::new(&expect);
    let mut dev = Qmc5883l::new(i2c.clone(), config).unwrap();
    assert!(close(dev.read_gauss().unwrap().unwrap().x, 1.0, 1e-6));
    i2c.done();
}

#[test]
fn qmc5883l_refuses_a_missing_chip() {
    let mut i2c = I2cMock::new(&[I2c::write_read(QMC, vec![0x0D], vec![0x00])]);
    assert_eq!(
        Qmc5883l::new(i2c.clone(), qmc5883l::Config::default()).unwrap_err(),
        qmc5883l::Error::WrongDevice(0)
    );
    i2c.done();
}

// -------------------------------------------------------------- A02YYUW

fn frame(mm: u16) -> [u8; 4] {
    let [h, l] = mm.to_be_bytes();
    [0xFF, h, l, 0xFFu8.wrapping_add(h).wrapping_add(l)]
}

#[test]
fn a02yyuw_parses_the_datasheet_frame() {
    // Datasheet example: FF 07 A1 A7 = 0x07A1 = 1953 mm.
    assert_eq!(a02yyuw::parse_frame([0xFF, 0x07, 0xA1, 0xA7]), Some(1953));
    assert_eq!(a02yyuw::parse_frame([0xFF, 0x07, 0xA1, 0xA8]), None);
    assert_eq!(a02yyuw::parse_frame([0xFE, 0x07, 0xA1, 0xA6]), None);
}

#[test]
fn a02yyuw_resyncs_after_garbage_and_torn_frames() {
    let mut stream = vec![0x12, 0xFF, 0x07];
    stream.extend(frame(1953));
    stream.extend([0xFF, 0x00]);
    stream.extend(frame(255));
    let mut sensor = A02yyuw::new(stream.as_slice());
    assert_eq!(sensor.read_distance_mm(), Ok(1953));
    assert_eq!(sensor.read_distance_mm(), Ok(255));
    assert_eq!(sensor.read_distance_mm(), Err(a02yyuw::Error::EndOfStream));
}

#[test]
fn a02yyuw_gives_up_after_a_bounded_scan() {
    let noise = [0xFFu8; 200];
    let mut sensor = A02yyuw::new(&noise[..]);
    assert_eq!(sensor.read_distance_mm(), Err(a02yyuw::Error::NoFrame));
    assert_eq!(
        SensorFault::from(a02yyuw::Error::<()>::NoFrame),
        SensorFault::NoData
    );
}

#[test]
fn ultrasonic_level_is_mount_height_minus_distance_and_refuses_the_blind_zone() {
    let mut stream = Vec::new();
    for mm in [1500, 20, 4600] {
        stream.extend(frame(mm));
    }
    let mut level = UltrasonicLevel::new(A02yyuw::new(stream.as_slice()), 2.0).unwrap();
    assert!(close(level.level_m().unwrap(), 0.5, 1e-6));
    assert_eq!(level.level_m(), Err(SensorFault::OutOfRange));
    assert_eq!(level.level_m(), Err(SensorFault::OutOfRange));
    assert!(UltrasonicLevel::new(A02yyuw::new(&[][..]), -1.0).is_err());
}

/// A byte source that remembers how much the driver consumed.
struct Tape<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl embedded_io::ErrorType for Tape<'_> {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Tape<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let n = buf.len().min(self.bytes.len() - self.pos);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

proptest! {
    /// Any bytes: never panics, never reads more than the bound per call,
    /// and a distance is returned only for the well-formed frame that ends
    /// exactly where the reader stopped.
    #[test]
    fn a02yyuw_survives_hostile_streams(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut tape = Tape { bytes: &bytes, pos: 0 };
        loop {
            let before = tape.pos;
            let result = A02yyuw::new(&mut tape).read_distance_mm();
            prop_assert!(tape.pos - before <= a02yyuw::MAX_SCAN_BYTES);
            let Ok(mm) = result else { break };
            let window: [u8; 4] = bytes[tape.pos - 4..tape.pos].try_into().unwrap();
            prop_assert_eq!(a02yyuw::parse_frame(window), Some(mm));
        }
    }
}

// ---------------------------------------------- 4–20 mA level transmitter

struct FixedAdc(Result<u16, ()>);

impl Adc for FixedAdc {
    type Error = ();
    fn read_counts(&mut self) -> Result<u16, ()> {
        self.0
    }
}

fn loop_config() -> LoopConfig {
    LoopConfig {
        adc: AdcScale::new(12, 3300.0).unwrap(),
        shunt_ohm: 150.0,
        range_min_m: 0.0,
        range_max_m: 5.0,
    }
}

fn counts_for_ma(ma: f32) -> u16 {
    (ma * 150.0 / 3300.0 * 4095.0).round() as u16
}

#[test]
fn transmitter_maps_4_to_20_ma_onto_the_range() {
    for (ma, level) in [(4.0, 0.0), (12.0, 2.5), (20.0, 5.0), (8.0, 1.25)] {
        let mut t = LevelTransmitter::new(FixedAdc(Ok(counts_for_ma(ma))), loop_config()).unwrap();
        assert!(close(t.read_current_ma().unwrap(), ma, 0.01), "{ma} mA");
        assert!(
            close(t.level_m().unwrap(), level, 0.005),
            "{ma} mA -> {level} m"
        );
    }
}

#[test]
fn transmitter_detects_open_loop_and_over_range() {
    let cfg = loop_config();
    assert_eq!(
        cfg.level_m(0.0),
        Err(level_transmitter::LoopFault::OpenLoop)
    );
    assert_eq!(
        cfg.level_m(3.79),
        Err(level_transmitter::LoopFault::OpenLoop)
    );
    assert_eq!(
        cfg.level_m(3.9),
        Ok(0.0),
        "between the fault limit and 4 mA: clamped"
    );
    assert_eq!(cfg.level_m(20.4), Ok(5.0));
    assert_eq!(
        cfg.level_m(20.6),
        Err(level_transmitter::LoopFault::OverRange)
    );
    assert_eq!(
        cfg.level_m(f32::NAN),
        Err(level_transmitter::LoopFault::OpenLoop)
    );
    let mut wire_break = LevelTransmitter::new(FixedAdc(Ok(0)), cfg).unwrap();
    assert_eq!(wire_break.level_m(), Err(SensorFault::OpenLoop));
    let mut shorted = LevelTransmitter::new(FixedAdc(Ok(4095)), cfg).unwrap();
    assert_eq!(shorted.level_m(), Err(SensorFault::OutOfRange));
    let mut dead_adc = LevelTransmitter::new(FixedAdc(Err(())), cfg).unwrap();
    assert_eq!(dead_adc.level_m(), Err(SensorFault::Bus));
}

#[test]
fn transmitter_refuses_impossible_wiring() {
    let bad = [
        LoopConfig {
            shunt_ohm: 0.0,
            ..loop_config()
        },
        LoopConfig {
            range_max_m: 0.0,
            ..loop_config()
        },
        LoopConfig {
            range_min_m: f32::NAN,
            ..loop_config()
        },
    ];
    for cfg in bad {
        assert!(
            LevelTransmitter::new(FixedAdc(Ok(0)), cfg).is_err(),
            "{cfg:?}"
        );
    }
}

// ------------------------------------------------- analog percent gauge

#[test]
fn battery_percent_is_linear_between_empty_and_full_and_clamped() {
    // 2:1 divider on a Li-ion cell: 3.3 V empty, 4.2 V full.
    let config = PercentConfig {
        adc: AdcScale::new(12, 3300.0).unwrap(),
        divider_ratio: 2.0,
        empty_mv: 3300.0,
        full_mv: 4200.0,
    };
    let counts = |mv: f32| (mv / 2.0 / 3300.0 * 4095.0).round() as u16;
    assert!(close(config.percent(counts(3750.0)), 50.0, 0.2));
    assert_eq!(config.percent(counts(3000.0)), 0.0);
    assert_eq!(config.percent(counts(4400.0)), 100.0);
    let mut gauge = AnalogPercent::new(FixedAdc(Err(())), config).unwrap();
    assert_eq!(gauge.percent(), Err(SensorFault::Bus));
    let inverted = PercentConfig {
        full_mv: 3000.0,
        ..config
    };
    assert!(AnalogPercent::new(FixedAdc(Ok(0)), inverted).is_err());
}

// ------------------------------------------------------------- contacts

#[test]
fn contact_debounces_an_active_low_switch() {
    use State::{High, Low};
    // Pulled up (inactive), bounces, then closes for good, then opens.
    let levels = [High, Low, High, Low, Low, Low, High, High];
    let times = [0, 5, 8, 10, 20, 30, 40, 70];
    let expected = [false, false, false, false, false, true, true, false];
    let mut pin = PinMock::new(&levels.map(Pin::get));
    let mut contact = Contact::new(pin.clone(), Polarity::ActiveLow, 20);
    for ((t, want), level) in times.into_iter().zip(expected).zip(levels) {
        assert_eq!(contact.is_active(t), Ok(want), "at {t} ms ({level:?})");
    }
    pin.done();
}

#[test]
fn contact_read_errors_are_bus_faults() {
    use embedded_hal_mock::eh1::MockError;
    let mut pin =
        PinMock::new(&[Pin::get(State::High).with_error(MockError::Io(std::io::ErrorKind::Other))]);
    let mut contact = Contact::new(pin.clone(), Polarity::ActiveHigh, 0);
    assert_eq!(contact.is_active(0), Err(SensorFault::Bus));
    pin.done();
}
