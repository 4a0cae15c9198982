//! The node's TOML configuration: which node it is, where its link and
//! sensors are, and the application thresholds that differ from the
//! library defaults. Parsing rejects unknown keys; every value is checked
//! again by the library constructors. Never opens a device.

use std::path::{Path, PathBuf};

use retrofit_firmware::adc::AdcScale;
use retrofit_firmware::apps::drainage::{DrainageConfig, HighWaterConfig};
use retrofit_firmware::apps::elevator::{ElevatorConfig, ElevatorMode, VerticalAxis};
use retrofit_firmware::apps::parking::ParkingConfig;
use retrofit_firmware::drivers::analog_percent::PercentConfig;
use retrofit_firmware::drivers::level_transmitter::LoopConfig;
use retrofit_firmware::error::ConfigError;
use retrofit_protocols::DeviceKind;
use serde::Deserialize;

use crate::toml_file::{self, FileError};

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Setting(#[from] ConfigError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    pub node: NodeSection,
    pub link: LinkSection,
    pub i2c: Option<I2cSection>,
    pub gpio: Option<GpioSection>,
    pub battery: Option<AnalogSection>,
    pub elevator: Option<ElevatorSection>,
    pub parking: Option<ParkingSection>,
    pub drainage: Option<DrainageSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Edge-link address, 1..=65534.
    pub id: u16,
    pub kind: DeviceKind,
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_heartbeat_interval_s")]
    pub heartbeat_interval_s: u64,
}

fn default_poll_interval_ms() -> u64 {
    100
}

fn default_heartbeat_interval_s() -> u64 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    pub serial: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
}

fn default_baud() -> u32 {
    115_200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct I2cSection {
    pub bus: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioSection {
    pub chip: PathBuf,
    #[serde(default = "default_true")]
    pub active_low: bool,
    #[serde(default = "default_debounce_ms")]
    pub debounce_ms: u32,
}

fn default_true() -> bool {
    true
}

fn default_debounce_ms() -> u32 {
    20
}

/// An ADC channel read through Linux IIO sysfs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalogSection {
    /// e.g. `/sys/bus/iio/devices/iio:device0/in_voltage1_raw`.
    pub iio: PathBuf,
    pub bits: u8,
    pub vref_mv: f32,
    #[serde(default = "default_divider")]
    pub divider_ratio: f32,
    pub empty_mv: f32,
    pub full_mv: f32,
}

fn default_divider() -> f32 {
    1.0
}

impl AnalogSection {
    pub fn percent_config(&self) -> Result<PercentConfig, ConfigError> {
        Ok(PercentConfig {
            adc: AdcScale::new(self.bits, self.vref_mv)?,
            divider_ratio: self.divider_ratio,
            empty_mv: self.empty_mv,
            full_mv: self.full_mv,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeKey {
    pub mode: String,
    pub line: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElevatorSection {
    #[serde(default = "default_lis3dh_address")]
    pub accelerometer_address: u8,
    #[serde(default = "default_axis")]
    pub vertical_axis: String,
    pub door_closed_line: u32,
    pub door_open_line: u32,
    pub level_upper_line: u32,
    pub level_lower_line: u32,
    pub supply_line: Option<u32>,
    pub occupancy_line: Option<u32>,
    #[serde(default)]
    pub mode_keys: Vec<ModeKey>,
    pub lowest_floor: i16,
    pub highest_floor: i16,
    pub start_floor: Option<i16>,
    pub entrapment_after_s: Option<u32>,
    pub stopped_outside_landing_after_s: Option<u32>,
}

fn default_lis3dh_address() -> u8 {
    retrofit_firmware::drivers::lis3dh::ADDRESS_SA0_LOW
}

fn default_axis() -> String {
    "z".into()
}

impl ElevatorSection {
    pub fn app_config(&self) -> Result<ElevatorConfig, ConfigFileError> {
        let mut config = ElevatorConfig {
            lowest_floor: self.lowest_floor,
            highest_floor: self.highest_floor,
            start_floor: self.start_floor.unwrap_or(self.lowest_floor),
            ..ElevatorConfig::default()
        };
        config.motion.vertical = parse_axis(&self.vertical_axis)?;
        if let Some(s) = self.entrapment_after_s {
            config.entrapment_after_ms = seconds_to_ms(s)?;
        }
        if let Some(s) = self.stopped_outside_landing_after_s {
            config.stopped_outside_landing_after_ms = seconds_to_ms(s)?;
        }
        Ok(config)
    }
}

/// A mode key's mode by its model name.
pub fn parse_mode(name: &str) -> Result<ElevatorMode, ConfigFileError> {
    ElevatorMode::ALL
        .into_iter()
        .find(|m| m.as_str() == name)
        .ok_or_else(|| {
            ConfigFileError::Invalid(format!("elevator.mode_keys: unknown mode {name:?}"))
        })
}

fn parse_axis(name: &str) -> Result<VerticalAxis, ConfigFileError> {
    Ok(match name {
        "x" => VerticalAxis::X,
        "y" => VerticalAxis::Y,
        "z" => VerticalAxis::Z,
        "-x" => VerticalAxis::MinusX,
        "-y" => VerticalAxis::MinusY,
        "-z" => VerticalAxis::MinusZ,
        other => {
            return Err(ConfigFileError::Invalid(format!(
                "elevator.vertical_axis: {other:?} is not x, y, z, -x, -y or -z"
            )))
        }
    })
}

fn seconds_to_ms(s: u32) -> Result<u32, ConfigFileError> {
    s.checked_mul(1000)
        .ok_or_else(|| ConfigFileError::Invalid(format!("{s} s is too long")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParkingSection {
    pub on_ut: Option<f32>,
    pub off_ut: Option<f32>,
    pub dwell_s: Option<u32>,
}

impl ParkingSection {
    pub fn app_config(&self) -> Result<ParkingConfig, ConfigFileError> {
        let mut config = ParkingConfig::default();
        config.occupancy.on_ut = self.on_ut.unwrap_or(config.occupancy.on_ut);
        config.occupancy.off_ut = self.off_ut.unwrap_or(config.occupancy.off_ut);
        if let Some(s) = self.dwell_s {
            config.occupancy.dwell_on_ms = seconds_to_ms(s)?;
            config.occupancy.dwell_off_ms = seconds_to_ms(s)?;
        }
        Ok(config)
    }
}

/// Where the water level comes from.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LevelSection {
    /// A02YYUW on a UART, looking down from `mount_height_m`.
    Ultrasonic(UltrasonicSection),
    /// 4–20 mA transmitter on a shunt read through IIO.
    Transmitter(TransmitterSection),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UltrasonicSection {
    pub serial: String,
    pub mount_height_m: f32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransmitterSection {
    pub iio: PathBuf,
    pub bits: u8,
    pub vref_mv: f32,
    pub shunt_ohm: f32,
    #[serde(default)]
    pub range_min_m: f32,
    pub range_max_m: f32,
}

impl TransmitterSection {
    pub fn loop_config(&self) -> Result<LoopConfig, ConfigError> {
        Ok(LoopConfig {
            adc: AdcScale::new(self.bits, self.vref_mv)?,
            shunt_ohm: self.shunt_ohm,
            range_min_m: self.range_min_m,
            range_max_m: self.range_max_m,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrainageSection {
    pub level: LevelSection,
    /// The rain gauge's GPIO line; without one the node has no gauge.
    pub rain_line: Option<u32>,
    pub mm_per_tip: Option<f32>,
    pub warning_m: Option<f32>,
    pub overflow_m: Option<f32>,
    pub hysteresis_m: Option<f32>,
}

impl DrainageSection {
    pub fn app_config(&self) -> DrainageConfig {
        let defaults = DrainageConfig::default();
        let high = defaults.high_water;
        DrainageConfig {
            mm_per_tip: self.mm_per_tip.unwrap_or(defaults.mm_per_tip),
            rain_gauge: self.rain_line.is_some(),
            high_water: HighWaterConfig {
                warning_m: self.warning_m.unwrap_or(high.warning_m),
                overflow_m: self.overflow_m.unwrap_or(high.overflow_m),
                hysteresis_m: self.hysteresis_m.unwrap_or(high.hysteresis_m),
            },
            ..defaults
        }
    }
}

impl NodeFile {
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        Self::checked(toml_file::read(path)?)
    }

    #[cfg(test)]
    pub fn parse(text: &str) -> Result<Self, ConfigFileError> {
        Self::checked(toml_file::parse(Path::new(""), text)?)
    }

    fn checked(self) -> Result<Self, ConfigFileError> {
        self.check_sections()?;
        Ok(self)
    }

    fn has_rain_gauge(&self) -> bool {
        self.drainage
            .as_ref()
            .is_some_and(|d| d.rain_line.is_some())
    }

    /// The section of the node's kind, and the buses it needs, are present.
    fn check_sections(&self) -> Result<(), ConfigFileError> {
        let missing = |what: &str| {
            Err(ConfigFileError::Invalid(format!(
                "node.kind = {:?} needs [{what}]",
                self.node.kind.as_str()
            )))
        };
        match self.node.kind {
            DeviceKind::Elevator if self.elevator.is_none() => missing("elevator"),
            DeviceKind::Elevator | DeviceKind::Parking if self.i2c.is_none() => missing("i2c"),
            DeviceKind::Parking if self.parking.is_none() => missing("parking"),
            DeviceKind::Drainage if self.drainage.is_none() => missing("drainage"),
            DeviceKind::Elevator if self.gpio.is_none() => missing("gpio"),
            DeviceKind::Drainage if self.gpio.is_none() && self.has_rain_gauge() => missing("gpio"),
            DeviceKind::EvCharger | DeviceKind::Gateway => Err(ConfigFileError::Invalid(format!(
                "node.kind = {:?} has no node application (elevator, parking or drainage)",
                self.node.kind.as_str()
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../retrofit-node.example.toml");

    #[test]
    fn the_example_parses_into_valid_application_settings() {
        let file = NodeFile::parse(EXAMPLE).unwrap();
        assert_eq!(file.node.kind, DeviceKind::Drainage);
        let drainage = file.drainage.as_ref().unwrap();
        let config = drainage.app_config();
        assert!(retrofit_firmware::apps::drainage::DrainageApp::new(config).is_ok());
        assert!(matches!(drainage.level, LevelSection::Ultrasonic(_)));
        assert!(file.battery.unwrap().percent_config().is_ok());
    }

    #[test]
    fn a_transmitter_level_source_parses() {
        let transmitter = EXAMPLE.replace(
            "type = \"ultrasonic\"      # A02YYUW looking down into the channel\nserial = \"/dev/ttyS2\"\nmount_height_m = 2.0\n",
            "type = \"transmitter\"\niio = \"/x\"\nbits = 12\nvref_mv = 3300\nshunt_ohm = 150\nrange_max_m = 5.0\n",
        );
        let file = NodeFile::parse(&transmitter).unwrap();
        let LevelSection::Transmitter(t) = &file.drainage.as_ref().unwrap().level else {
            panic!("{:?}", file.drainage);
        };
        assert_eq!(t.loop_config().unwrap().range_max_m, 5.0);
    }

    #[test]
    fn a_drainage_node_without_rain_gauge_needs_no_gpio() {
        let gpio = "[gpio]\nchip = \"/dev/gpiochip0\"\nactive_low = true        # contacts switch to ground with pull-ups\ndebounce_ms = 20\n";
        assert!(EXAMPLE.contains(gpio));
        let no_gpio = EXAMPLE.replace(gpio, "");
        assert!(
            NodeFile::parse(&no_gpio).is_err(),
            "the rain gauge needs it"
        );
        let no_gauge = no_gpio.replace("rain_line = 21", "");
        let file = NodeFile::parse(&no_gauge).unwrap();
        assert!(!file.drainage.unwrap().app_config().rain_gauge);
    }

    #[test]
    fn every_kind_needs_its_section() {
        let elevator_without_section =
            "[node]\nid = 1\nkind = \"elevator\"\n[link]\nserial = \"/dev/ttyS1\"\n";
        let err = NodeFile::parse(elevator_without_section).unwrap_err();
        assert!(err.to_string().contains("[elevator]"), "{err}");
        let charger = "[node]\nid = 1\nkind = \"ev_charger\"\n[link]\nserial = \"/dev/ttyS1\"\n";
        assert!(NodeFile::parse(charger)
            .unwrap_err()
            .to_string()
            .contains("no node application"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let typo = EXAMPLE.replace("mm_per_tip", "mm_per_tipp");
        assert!(NodeFile::parse(&typo).is_err());
        assert!(parse_axis("up").is_err());
        assert!(parse_mode("party").is_err());
        assert_eq!(parse_mode("fire").unwrap(), ElevatorMode::Fire);
        assert!(seconds_to_ms(u32::MAX).is_err());
    }
}
