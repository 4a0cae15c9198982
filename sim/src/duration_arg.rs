//! Human durations on the command line: `500ms`, `90s`, `5m`, `2h`, or a
//! bare number of seconds. Refuses zero, negatives and anything ambiguous.
//! Also the wait for the end of a run that may have no duration.

use std::time::Duration;

/// Sleeps until `end`, or forever when there is none (no `--duration`).
pub async fn sleep_until_end(end: Option<tokio::time::Instant>) {
    match end {
        Some(end) => tokio::time::sleep_until(end).await,
        None => std::future::pending().await,
    }
}

/// Parses a duration argument.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 5m or 500ms"))?;
    let seconds_per_unit = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "unknown duration unit {unit:?} (use ms, s, m or h)"
            ))
        }
    };
    let seconds = value * seconds_per_unit;
    if !(seconds > 0.0 && seconds <= 366.0 * 86_400.0) {
        return Err(format!("{s:?} must be more than 0 and at most a year"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "s",
            "0",
            "0s",
            "-5s",
            "5 parsecs",
            "1e9h",
            "5d",
            "1..2s",
            "NaN",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
