//! Settings the gateway sends a node (EDGE_LINK.md §5, Config): applying a
//! Config frame's settings to a node application, keeping them across
//! reboots through a [`SettingsStore`] the node provides (a flash page on a
//! microcontroller, a small file on Linux), and the report of the values
//! the application runs with for the node's Heartbeat.
//!
//! Rules: a key this firmware does not define, or that the node's kind does
//! not use, is ignored and counted; a value outside the setting's range
//! (`retrofit_protocols::edge::Setting::check`), or one the application
//! refuses (a warning level above the overflow level), is refused and
//! counted, and the application keeps its old value. Nothing here
//! allocates, panics or reads a clock.

use retrofit_protocols::edge::{Setting, Settings, SettingsError};

use crate::error::ConfigError;

/// Number of settings this firmware defines.
const COUNT: usize = Setting::ALL.len();

/// One value per defined setting; `None` where the node's kind has no such
/// setting.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SettingValues([Option<f64>; COUNT]);

impl SettingValues {
    pub fn get(&self, setting: Setting) -> Option<f64> {
        self.0.get(index(setting)).copied().flatten()
    }

    pub fn set(&mut self, setting: Setting, value: f64) {
        if let Some(slot) = self.0.get_mut(index(setting)) {
            *slot = Some(value);
        }
    }

    /// The settings present, as a Heartbeat reports them.
    pub fn report(&self) -> Result<Settings, SettingsError> {
        let mut settings = Settings::new();
        for setting in Setting::ALL {
            if let Some(value) = self.get(setting) {
                settings.push_number(setting, value)?;
            }
        }
        Ok(settings)
    }
}

/// Seconds as a setting value, from milliseconds.
pub(crate) fn ms_as_s(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// A setting in seconds as whole milliseconds (ranges keep it in u32).
pub(crate) fn s_as_ms(s: f64) -> u32 {
    (s * 1000.0) as u32
}

fn index(setting: Setting) -> usize {
    Setting::ALL
        .iter()
        .position(|s| *s == setting)
        .unwrap_or(COUNT)
}

/// A node application whose settings can change while it runs.
pub trait Configurable {
    /// The values it runs with.
    fn settings(&self) -> SettingValues;

    /// Runs with `values` from now on; refuses them, changing nothing, when
    /// they do not work together. Alarm and report state is kept.
    fn reconfigure(&mut self, values: &SettingValues) -> Result<(), ConfigError>;
}

/// Keeps the settings a node received across reboots (no heap: the store
/// encodes them as it likes, e.g. as edge-link key/value pairs in flash).
pub trait SettingsStore {
    type Error;

    /// The settings saved last, if any.
    fn load(&mut self) -> Result<Option<Settings>, Self::Error>;

    /// Saves the settings now in effect, replacing the previous ones.
    fn save(&mut self, settings: &Settings) -> Result<(), Self::Error>;
}

/// A store that keeps nothing: settings last until the next reboot.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl SettingsStore for NoStore {
    type Error = core::convert::Infallible;

    fn load(&mut self) -> Result<Option<Settings>, Self::Error> {
        Ok(None)
    }

    fn save(&mut self, _: &Settings) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// What applying a list of settings did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Settings now in effect with the value received.
    pub applied: u8,
    /// Keys not defined, or not used by this kind of node: ignored.
    pub unknown: u8,
    /// Values out of range or refused by the application: the old value
    /// stays.
    pub refused: u8,
}

/// Applies `received` to `app`. All accepted values are tried together
/// first (a warning and an overflow level that move together); if the
/// application refuses the combination, they are tried one at a time, in
/// order, and each one it refuses is counted and left out.
pub fn apply<A: Configurable>(app: &mut A, received: &Settings) -> Applied {
    let mut result = Applied::default();
    let current = app.settings();
    let mut accepted: heapless::Vec<(Setting, f64), COUNT> = heapless::Vec::new();
    for (key, value) in received.pairs() {
        let setting = Setting::from_name(key.as_str()).filter(|s| current.get(*s).is_some());
        let Some(setting) = setting else {
            result.unknown = result.unknown.saturating_add(1);
            continue;
        };
        let pushed = setting
            .check(value)
            .ok()
            .map(|x| accepted.push((setting, x)).is_ok());
        if pushed != Some(true) {
            result.refused = result.refused.saturating_add(1);
        }
    }
    let mut all = current;
    accepted.iter().for_each(|(s, x)| all.set(*s, *x));
    if app.reconfigure(&all).is_ok() {
        result.applied = accepted.len() as u8;
        return result;
    }
    for (setting, x) in &accepted {
        let mut one = app.settings();
        one.set(*setting, *x);
        match app.reconfigure(&one) {
            Ok(()) => result.applied = result.applied.saturating_add(1),
            Err(_) => result.refused = result.refused.saturating_add(1),
        }
    }
    result
}

/// Applies a Config's settings and, when a value changed, saves what the
/// application now runs with (a resent Config writes nothing). The store's
/// error is returned after the settings took effect (they then last until
/// the next reboot).
pub fn apply_and_save<A: Configurable, S: SettingsStore>(
    app: &mut A,
    received: &Settings,
    store: &mut S,
) -> Result<Applied, S::Error> {
    let before = app.settings();
    let applied = apply(app, received);
    if app.settings() != before {
        if let Ok(report) = app.settings().report() {
            store.save(&report)?;
        }
    }
    Ok(applied)
}

/// At boot: applies the settings saved last, if any. A saved value that is
/// no longer valid is refused as if it had just been received.
pub fn restore<A: Configurable, S: SettingsStore>(
    app: &mut A,
    store: &mut S,
) -> Result<Option<Applied>, S::Error> {
    Ok(store.load()?.map(|saved| apply(app, &saved)))
}

#[cfg(test)]
mod tests {
    use retrofit_protocols::edge::ConfigKey;
    use retrofit_protocols::Value;

    use super::*;

    /// An application with a report interval and two ordered levels.
    #[derive(Debug, Default)]
    struct Levels {
        values: SettingValues,
    }

    impl Levels {
        fn new() -> Self {
            let mut values = SettingValues::default();
            values.set(Setting::ReportIntervalS, 300.0);
            values.set(Setting::WarningM, 0.8);
            values.set(Setting::OverflowM, 1.2);
            Self { values }
        }
    }

    impl Configurable for Levels {
        fn settings(&self) -> SettingValues {
            self.values
        }

        fn reconfigure(&mut self, values: &SettingValues) -> Result<(), ConfigError> {
            let ordered = values.get(Setting::WarningM) < values.get(Setting::OverflowM);
            ConfigError::check(ordered, "overflow_m", "must be above warning_m")?;
            self.values = *values;
            Ok(())
        }
    }

    fn settings(pairs: &[(&str, Value)]) -> Settings {
        let mut s = Settings::new();
        for (key, value) in pairs {
            s.push(ConfigKey::parse(key).unwrap(), value.clone())
                .unwrap();
        }
        s
    }

    #[test]
    fn known_values_in_range_are_applied_and_the_rest_counted() {
        let mut app = Levels::new();
        let received = settings(&[
            ("warning_m", Value::Number(0.5)),
            ("report_interval_s", Value::Number(0.5)),
            ("entrapment_after_s", Value::Number(60.0)),
            ("colour", Value::Bool(true)),
        ]);
        let applied = apply(&mut app, &received);
        assert_eq!(
            applied,
            Applied {
                applied: 1,
                unknown: 2,
                refused: 1
            }
        );
        assert_eq!(app.values.get(Setting::WarningM), Some(0.5));
        assert_eq!(app.values.get(Setting::ReportIntervalS), Some(300.0));
        assert_eq!(app.values.get(Setting::EntrapmentAfterS), None);
    }

    #[test]
    fn levels_that_move_together_are_applied_together() {
        let mut app = Levels::new();
        let up = settings(&[
            ("warning_m", Value::Number(2.0)),
            ("overflow_m", Value::Number(3.0)),
        ]);
        assert_eq!(apply(&mut app, &up).applied, 2);
        assert_eq!(app.values.get(Setting::OverflowM), Some(3.0));
    }

    #[test]
    fn a_refused_combination_keeps_what_works_alone() {
        let mut app = Levels::new();
        let crossed = settings(&[
            ("warning_m", Value::Number(1.5)),
            ("report_interval_s", Value::Number(60.0)),
        ]);
        let applied = apply(&mut app, &crossed);
        assert_eq!((applied.applied, applied.refused), (1, 1));
        assert_eq!(app.values.get(Setting::WarningM), Some(0.8), "old value");
        assert_eq!(app.values.get(Setting::ReportIntervalS), Some(60.0));
    }

    /// Remembers the last save.
    #[derive(Default)]
    struct Ram(Option<Settings>);

    impl SettingsStore for Ram {
        type Error = ();

        fn load(&mut self) -> Result<Option<Settings>, ()> {
            Ok(self.0.clone())
        }

        fn save(&mut self, settings: &Settings) -> Result<(), ()> {
            self.0 = Some(settings.clone());
            Ok(())
        }
    }

    #[test]
    fn what_is_saved_is_restored_after_a_reboot() {
        let mut store = Ram::default();
        let mut app = Levels::new();
        let nothing_new = settings(&[("colour", Value::Bool(true))]);
        apply_and_save(&mut app, &nothing_new, &mut store).unwrap();
        assert_eq!(store.0, None, "nothing changed, nothing written");
        let lower = settings(&[("warning_m", Value::Number(0.25))]);
        apply_and_save(&mut app, &lower, &mut store).unwrap();
        let saved = store.0.clone().unwrap();
        assert_eq!(saved.get("warning_m"), Some(&Value::Number(0.25)));
        assert_eq!(saved.len(), 3, "every value in effect");

        let mut rebooted = Levels::new();
        let restored = restore(&mut rebooted, &mut store).unwrap().unwrap();
        assert_eq!(restored.applied, 3);
        assert_eq!(rebooted.values, app.values);
        assert_eq!(restore(&mut Levels::new(), &mut NoStore), Ok(None));
    }

    #[test]
    fn the_report_lists_the_values_present() {
        let report = Levels::new().values.report().unwrap();
        let keys: heapless::Vec<&str, 8> = report.pairs().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["report_interval_s", "warning_m", "overflow_m"]);
        assert_eq!(report.get("warning_m"), Some(&Value::Number(0.8)));
    }
}
