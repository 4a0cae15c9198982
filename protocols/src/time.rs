//! Measurement timestamps: milliseconds since the Unix epoch, written as
//! RFC 3339 UTC with milliseconds (`2026-11-28T12:00:00.123Z`, spec §5).
//!
//! Pure arithmetic, no clock: callers supply the time. Parsing accepts any
//! RFC 3339 offset and fraction and never panics; years outside 1970..=9999
//! are refused. Second 60 is accepted only where UTC can insert a leap
//! second, 23:59:60 UTC on the last day of a month (after the offset is
//! applied: `15:59:60-08:00` is one), and reads as the following second,
//! `00:00:00` of the next day, as Unix time does.

use core::fmt;
use core::str::FromStr;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// The text is not an RFC 3339 timestamp in the supported range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp between 1970 and 9999")]
pub struct BadTimestamp;

const MS_PER_DAY: i64 = 86_400_000;
/// 9999-12-31T23:59:59.999Z
const MAX_MS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Nanoseconds since the epoch, for line protocol.
    pub const fn as_nanos(self) -> i128 {
        self.0 as i128 * 1_000_000
    }

    /// Whether the timestamp can be written as RFC 3339 by this module.
    pub const fn is_in_range(self) -> bool {
        self.0 >= 0 && self.0 <= MAX_MS
    }
}

/// Days since the epoch to (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) to days since the epoch.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Length of `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub const RFC3339_LEN: usize = 24;

impl Timestamp {
    /// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` (clamped to the supported range)
    /// into `buf` without the formatting machinery.
    pub fn write_rfc3339(self, buf: &mut [u8; RFC3339_LEN]) -> &str {
        let ms = self.0.clamp(0, MAX_MS);
        let (y, mo, d) = civil_from_days(ms.div_euclid(MS_PER_DAY));
        let rem = ms.rem_euclid(MS_PER_DAY);
        let fields: [(usize, u64, usize); 7] = [
            (0, y as u64, 4),
            (5, u64::from(mo), 2),
            (8, u64::from(d), 2),
            (11, (rem / 3_600_000) as u64, 2),
            (14, (rem / 60_000 % 60) as u64, 2),
            (17, (rem / 1000 % 60) as u64, 2),
            (20, (rem % 1000) as u64, 3),
        ];
        *buf = *b"0000-00-00T00:00:00.000Z";
        for (at, mut value, width) in fields {
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        // Only ASCII digits and separators were written.
        core::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000Z")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.write_rfc3339(&mut [0; RFC3339_LEN]))
    }
}

/// The fields of `YYYY-MM-DDTHH:MM:SS`, the fixed-width head of every
/// RFC 3339 timestamp (any of `T`, `t` or a space between date and time).
fn date_time(head: &[u8; 19]) -> Option<[u32; 6]> {
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, sep)| head[at] != sep)
        || !matches!(head[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let number = |from: usize, to: usize| decimal(head.get(from..to)?);
    Some([
        number(0, 4)?,
        number(5, 7)?,
        number(8, 10)?,
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
    ])
}

/// The value of a run of ASCII digits (short enough not to overflow).
fn decimal(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit < 10).then_some(value * 10 + u32::from(digit))
    })
}

/// Whether `next_ms`, the instant a second 60 reads as (the start of the
/// next UTC minute), follows a possible leap second: UTC inserts them only
/// as 23:59:60 on the last day of a month, so `next_ms` must be the
/// midnight that opens a month.
fn ends_a_leap_second(next_ms: i64) -> bool {
    next_ms.rem_euclid(MS_PER_DAY) == 0 && civil_from_days(next_ms.div_euclid(MS_PER_DAY)).2 == 1
}

/// A tiny cursor over ASCII digits and separators.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Result<u32, BadTimestamp> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(BadTimestamp)?;
        let value = decimal(head).ok_or(BadTimestamp)?;
        self.0 = tail;
        Ok(value)
    }

    fn take_if(&mut self, accept: impl Fn(u8) -> bool) -> Result<u8, BadTimestamp> {
        let (&b, tail) = self.0.split_first().ok_or(BadTimestamp)?;
        if !accept(b) {
            return Err(BadTimestamp);
        }
        self.0 = tail;
        Ok(b)
    }

    /// Milliseconds of an optional `.fraction` (extra digits truncated).
    fn fraction_ms(&mut self) -> Result<i64, BadTimestamp> {
        if self.0.first() != Some(&b'.') {
            return Ok(0);
        }
        self.0 = &self.0[1..];
        let n = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return Err(BadTimestamp);
        }
        let mut ms = 0i64;
        for i in 0..3 {
            let digit = self.0.get(i).filter(|_| i < n).map_or(0, |b| b - b'0');
            ms = ms * 10 + i64::from(digit);
        }
        self.0 = &self.0[n..];
        Ok(ms)
    }

    /// Offset from UTC in minutes: `Z` or `±hh:mm`.
    fn offset_min(&mut self) -> Result<i64, BadTimestamp> {
        match self.take_if(|b| matches!(b, b'Z' | b'z' | b'+' | b'-'))? {
            b'Z' | b'z' => Ok(0),
            sign => {
                let h = i64::from(self.digits(2)?);
                self.take_if(|b| b == b':')?;
                let m = i64::from(self.digits(2)?);
                if h > 23 || m > 59 {
                    return Err(BadTimestamp);
                }
                let total = h * 60 + m;
                Ok(if sign == b'-' { -total } else { total })
            }
        }
    }
}

impl FromStr for Timestamp {
    type Err = BadTimestamp;
    fn from_str(s: &str) -> Result<Self, BadTimestamp> {
        let (head, rest) = s.as_bytes().split_first_chunk().ok_or(BadTimestamp)?;
        let [y, mo, d, h, mi, sec] = date_time(head).ok_or(BadTimestamp)?;
        let (y, h, mi, sec) = (i64::from(y), i64::from(h), i64::from(mi), i64::from(sec));
        let mut c = Cursor(rest);
        let frac = c.fraction_ms()?;
        let off = c.offset_min()?;
        let valid = (1..=12).contains(&mo)
            && d >= 1
            && d <= days_in_month(y, mo)
            && h < 24
            && mi < 60
            && sec < 61;
        if !valid || !c.0.is_empty() {
            return Err(BadTimestamp);
        }
        let whole_ms =
            days_from_civil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi - off) * 60 + sec) * 1000;
        if sec == 60 && !ends_a_leap_second(whole_ms) {
            return Err(BadTimestamp);
        }
        let ts = Timestamp(whole_ms + frac);
        if ts.is_in_range() {
            Ok(ts)
        } else {
            Err(BadTimestamp)
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.write_rfc3339(&mut [0; RFC3339_LEN]))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::metric::ValidatedVisitor::<Self>::new(
            "an RFC 3339 timestamp",
        ))
    }
}

impl crate::metric::Validated for Timestamp {
    type Error = BadTimestamp;
    fn validate(s: &str) -> Result<Self, BadTimestamp> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn formats_spec_example() {
        let ts: Timestamp = "2026-11-28T12:00:00.123Z".parse().unwrap();
        assert_eq!(ts.as_millis(), 1_795_867_200_123);
        assert_eq!(ts.to_string(), "2026-11-28T12:00:00.123Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let a: Timestamp = "2026-11-28T20:00:00.123456+08:00".parse().unwrap();
        let b: Timestamp = "2026-11-28T12:00:00.123Z".parse().unwrap();
        assert_eq!(a, b);
        let c: Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
        assert_eq!(c.as_millis() % 1000, 0);
    }

    #[test]
    fn accepts_a_leap_second_only_at_23_59_60_utc_on_a_months_last_day() {
        let next_second = |s: &str| s.parse::<Timestamp>().map(|t| t.to_string());
        let new_year = Ok("2017-01-01T00:00:00.000Z".to_string());
        assert_eq!(next_second("2016-12-31T23:59:60Z"), new_year);
        assert_eq!(next_second("2016-12-31T15:59:60-08:00"), new_year);
        assert_eq!(
            next_second("2017-01-01T05:29:60.5+05:30").ok(),
            Some("2017-01-01T00:00:00.500Z".to_string())
        );
        assert_eq!(
            next_second("2015-06-30T23:59:60Z"),
            Ok("2015-07-01T00:00:00.000Z".to_string())
        );
        for bad in [
            "2026-11-28T12:00:60Z",
            "2016-12-31T23:58:60Z",
            "2016-12-30T23:59:60Z",
            "2016-12-31T22:59:60Z",
            // 23:59:60 local, but 15:59:60 UTC.
            "2016-12-31T23:59:60+08:00",
            "2016-12-31T23:59:61Z",
        ] {
            assert_eq!(bad.parse::<Timestamp>(), Err(BadTimestamp), "{bad:?}");
        }
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T12:00:00",
            "2026-11-28T12:00:00.Z",
            "2026-11-28T12:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "٢٠٢٦-11-28T12:00:00Z",
        ] {
            assert_eq!(bad.parse::<Timestamp>(), Err(BadTimestamp), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn display_parse_round_trip(ms in 0i64..=MAX_MS) {
            let ts = Timestamp(ms);
            proptest::prop_assert_eq!(ts.to_string().parse::<Timestamp>(), Ok(ts));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Timestamp>();
        }
    }
}
