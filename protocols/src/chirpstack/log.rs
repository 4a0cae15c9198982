//! ChirpStack v4 `event/log`: what the network server reports about a
//! device's traffic (codec errors, frame counter resets, MIC failures).
//! Only `level`, `code` and `description` are typed; proto3 JSON omits the
//! default level, `INFO`. Decoding never panics.

use alloc::borrow::Cow;

use serde::Deserialize;

use super::DeviceInfo;
use crate::json::{self, nullable, nullable_text, JsonError};
use crate::Timestamp;

/// How serious a log event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LogLevel {
    #[default]
    Info,
    Warning,
    Error,
}

/// A log event about one device.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Log<'a> {
    #[serde(default)]
    pub time: Option<Timestamp>,
    #[serde(borrow)]
    pub device_info: DeviceInfo<'a>,
    #[serde(default, deserialize_with = "nullable")]
    pub level: LogLevel,
    /// What it is about (`UPLINK_CODEC`, `UPLINK_MIC`, ...).
    #[serde(borrow, default, deserialize_with = "nullable_text")]
    pub code: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable_text")]
    pub description: Cow<'a, str>,
}

impl<'a> Log<'a> {
    /// Decodes a log event (the whole text must be one JSON object).
    pub fn parse(text: &'a str) -> Result<Self, JsonError> {
        json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const LOG: &str = include_str!("../../testdata/chirpstack-v4-log.json");

    #[test]
    fn decodes_the_reference_log_event() {
        let log = Log::parse(LOG).unwrap();
        assert_eq!(log.device_info.device_name, "drain-w17");
        assert_eq!(
            (log.level, log.code.as_ref()),
            (LogLevel::Error, "UPLINK_CODEC")
        );
        assert!(log.description.starts_with("JS error"));
        assert_eq!(log.time.unwrap().to_string(), "2026-11-28T12:45:00.750Z");
    }

    #[test]
    fn missing_level_is_info_and_hostile_logs_are_refused() {
        let eui = r#""deviceInfo":{"devEui":"a84041000181c617"}"#;
        let text = alloc::format!("{{{eui},\"level\":null}}");
        let log = Log::parse(&text).unwrap();
        assert_eq!((log.level, log.code.as_ref()), (LogLevel::Info, ""));
        for bad in [
            alloc::format!("{{{eui},\"level\":\"FATAL\"}}"),
            alloc::format!("{{{eui},\"code\":[]}}"),
            alloc::format!("{{{eui},\"description\":\"a\",\"description\":\"b\"}}"),
            "{\"level\":\"ERROR\"}".into(),
        ] {
            let e = Log::parse(&bad).unwrap_err();
            assert!(!e.is_syntax(), "{bad}: {e}");
        }
        // serde_json reports a number where an enum's name belongs as
        // malformed rather than wrongly typed; refused either way.
        assert!(Log::parse(&alloc::format!("{{{eui},\"level\":2}}")).is_err());
        assert!(Log::parse(&alloc::format!("{{{eui},\"code\":\"x"))
            .unwrap_err()
            .is_syntax());
    }
}
