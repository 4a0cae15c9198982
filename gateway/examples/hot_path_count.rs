//! Repeats one step of the LoRaWAN hot path N times, for instruction
//! counts under `valgrind --tool=callgrind` (`scripts/hot-path-instructions.sh`
//! runs it for every step; figures in docs/BENCHMARKS.md). Counts do not
//! depend on the load of a shared machine the way criterion's times do.
//!
//! Usage: `hot_path_count STEP ITERATIONS [compact|decoder]`, STEP one of
//! `scan_serde_json`, `parse`, `normalize`, `mqtt_payload`, `line_protocol`,
//! `all`. It never prints anything but the checksum that keeps the work.

use anyhow::{bail, Context, Result};
use retrofit_gateway::config::Config;
use retrofit_gateway::links::LinkSpec;
use retrofit_protocols::chirpstack::Uplink;
use retrofit_protocols::line_protocol::write_reading;

const DEMO: &str = include_str!("../../config/demo.toml");
const UPLINK: &str = include_str!("../../protocols/testdata/chirpstack-v4-uplink.json");
const TOPIC: &str = "application/7d3c1f2a/device/a84041000181c617/event/up";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(step), Some(count)) = (args.get(1), args.get(2)) else {
        bail!("usage: hot_path_count STEP ITERATIONS [compact|decoder]");
    };
    let count: usize = count.parse().context("ITERATIONS")?;
    let mut uplink = serde_json::from_str::<serde_json::Value>(UPLINK)?;
    let compact = uplink.to_string();
    // Without `object`, so that the LDDS75 payload decoder runs.
    uplink.as_object_mut().map(|o| o.remove("object"));
    uplink["data"] = "DOQG5gAAAAE=".into();
    let undecoded = uplink.to_string();
    let input = match args.get(3).map(String::as_str) {
        Some("compact") => compact.as_str(),
        Some("decoder") => undecoded.as_str(),
        _ => UPLINK,
    };
    let config = Config::parse(DEMO, "demo.toml").context("demo config")?;
    let Some(LinkSpec::Lorawan(link)) = config.links.into_iter().next() else {
        bail!("demo's first link is not lorawan");
    };
    let reading = link
        .reading_from_uplink(TOPIC, input.as_bytes())
        .map_err(|r| anyhow::anyhow!("{}: {}", r.reason, r.detail))?;
    let mut line = String::with_capacity(256);
    let mut checksum = 0usize;
    for _ in 0..count {
        let text = std::hint::black_box(input);
        checksum += match step.as_str() {
            "scan_serde_json" => {
                usize::from(serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
            }
            "parse" => Uplink::parse(text).map_or(0, |u| u.f_cnt as usize),
            "normalize" => link
                .reading_from_uplink(TOPIC, text.as_bytes())
                .map_or(0, |r| r.seq as usize),
            "mqtt_payload" => std::hint::black_box(&reading).to_json().len(),
            "line_protocol" => {
                line.clear();
                write_reading(&mut line, std::hint::black_box(&reading)).map_or(0, |()| line.len())
            }
            "all" => match link.reading_from_uplink(TOPIC, text.as_bytes()) {
                Ok(r) => {
                    line.clear();
                    let lp = write_reading(&mut line, &r).map_or(0, |()| line.len());
                    r.to_json().len() + lp
                }
                Err(_) => 0,
            },
            other => bail!("unknown step {other}"),
        };
    }
    println!("{checksum}");
    Ok(())
}
