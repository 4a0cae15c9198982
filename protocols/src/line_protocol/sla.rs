//! The `sla` measurement (spec §6, §12): one point per device, kind and
//! site and per completed hour or day, tags `site`, `kind`, `device`
//! (device rows only) and `period`, fields with §12's names, timestamp =
//! the window's start.
//!
//! Only the encoding lives here; it never computes a figure. A null figure
//! (no failures, an empty denominator) is left out of the point, never
//! written as 0.

use alloc::string::String;

use super::{all_or_nothing, write_plain_tag, Fields, LineError};
use crate::id::Id;
use crate::kind::DeviceKind;

/// The measurement name of service-level points.
pub const SLA_MEASUREMENT: &str = "sla";

/// The window one `sla` point covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaPeriod {
    Hour,
    Day,
}

impl SlaPeriod {
    pub const ALL: [SlaPeriod; 2] = [SlaPeriod::Hour, SlaPeriod::Day];

    /// The `period` tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaPeriod::Hour => "hour",
            SlaPeriod::Day => "day",
        }
    }

    /// The window's length in milliseconds (UTC days have no leap seconds
    /// in Unix time, so a day is always 24 h).
    pub fn millis(self) -> i64 {
        match self {
            SlaPeriod::Hour => 3_600_000,
            SlaPeriod::Day => 86_400_000,
        }
    }
}

/// The figures of one device, kind or site over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPoint<'a> {
    pub site: &'a Id,
    /// `None` on the site row.
    pub kind: Option<DeviceKind>,
    /// `None` on kind and site rows.
    pub device: Option<&'a Id>,
    pub period: SlaPeriod,
    /// The window's start, milliseconds since the epoch.
    pub start_ms: i64,
    pub availability_pct: Option<f64>,
    pub uptime_pct: Option<f64>,
    pub failures: u64,
    pub mtbf_h: Option<f64>,
    pub mttr_h: Option<f64>,
    pub data_completeness_pct: Option<f64>,
}

/// Appends the line of `p` to `out`. On error `out` is left as it was.
pub fn write_sla(out: &mut String, p: &SlaPoint<'_>) -> Result<(), LineError> {
    all_or_nothing(out, |out| {
        out.push_str(SLA_MEASUREMENT);
        write_plain_tag(out, "site", p.site);
        if let Some(kind) = &p.kind {
            write_plain_tag(out, "kind", kind);
        }
        if let Some(device) = p.device {
            write_plain_tag(out, "device", device);
        }
        out.push_str(",period=");
        out.push_str(p.period.as_str());
        let mut f = Fields::start(out);
        let optional = [
            ("availability_pct", p.availability_pct),
            ("uptime_pct", p.uptime_pct),
        ];
        for (key, v) in optional.into_iter().flat_map(|(k, v)| v.map(|v| (k, v))) {
            f.float(key, v)?;
        }
        f.int("failures", i64::try_from(p.failures).unwrap_or(i64::MAX))?;
        let optional = [
            ("mtbf_h", p.mtbf_h),
            ("mttr_h", p.mttr_h),
            ("data_completeness_pct", p.data_completeness_pct),
        ];
        for (key, v) in optional.into_iter().flat_map(|(k, v)| v.map(|v| (k, v))) {
            f.float(key, v)?;
        }
        f.finish(p.start_ms);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use influxdb_line_protocol::{parse_lines, FieldValue};

    fn point<'a>(site: &'a Id, device: Option<&'a Id>) -> SlaPoint<'a> {
        SlaPoint {
            site,
            kind: Some(DeviceKind::Elevator),
            device,
            period: SlaPeriod::Hour,
            start_ms: 1_793_491_200_000,
            availability_pct: Some(75.0),
            uptime_pct: Some(62.5),
            failures: 2,
            mtbf_h: Some(0.375),
            mttr_h: None,
            data_completeness_pct: Some(100.0),
        }
    }

    #[test]
    fn device_row_has_every_tag_and_leaves_nulls_out() {
        let (site, dev) = (
            Id::parse("kangfu-garden").unwrap(),
            Id::parse("lift-1").unwrap(),
        );
        let mut out = String::new();
        write_sla(&mut out, &point(&site, Some(&dev))).unwrap();
        assert_eq!(
            out,
            "sla,site=kangfu-garden,kind=elevator,device=lift-1,period=hour \
             availability_pct=75.0,uptime_pct=62.5,failures=2i,mtbf_h=0.375,\
             data_completeness_pct=100.0 1793491200000\n"
        );
        let parsed: std::vec::Vec<_> = parse_lines(&out).map(|l| l.unwrap()).collect();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].series.measurement.as_str(), "sla");
        let failures = parsed[0]
            .field_set
            .iter()
            .find(|(k, _)| k.as_str() == "failures")
            .map(|(_, v)| v.clone());
        assert_eq!(failures, Some(FieldValue::I64(2)));
        assert!(!parsed[0]
            .field_set
            .iter()
            .any(|(k, _)| k.as_str() == "mttr_h"));
    }

    #[test]
    fn site_row_has_no_kind_or_device_and_day_period() {
        let site = Id::parse("s").unwrap();
        let mut p = point(&site, None);
        p.kind = None;
        p.period = SlaPeriod::Day;
        p.availability_pct = None;
        p.uptime_pct = None;
        p.mtbf_h = None;
        p.data_completeness_pct = None;
        p.failures = 0;
        let mut out = String::new();
        write_sla(&mut out, &p).unwrap();
        assert_eq!(out, "sla,site=s,period=day failures=0i 1793491200000\n");
    }

    #[test]
    fn non_finite_figures_never_break_the_line() {
        let site = Id::parse("s").unwrap();
        let mut p = point(&site, None);
        p.availability_pct = Some(f64::NAN);
        p.mtbf_h = Some(f64::INFINITY);
        p.failures = u64::MAX;
        let mut out = String::new();
        write_sla(&mut out, &p).unwrap();
        assert_eq!(parse_lines(&out).filter(|l| l.is_ok()).count(), 1);
    }
}
