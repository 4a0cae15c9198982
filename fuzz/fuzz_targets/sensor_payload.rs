//! Fuzz target: arbitrary (format index, fPort, mount height, bytes) into
//! `retrofit_protocols::sensor::decode` for each of `SensorFormat::ALL`. It
//! must never panic. A decoded uplink must carry 1..=`MAX_METRICS` metrics
//! with unique names, finite numbers and the types the model gives them
//! (`check_type`: the LoRaWAN link publishes them without re-checking);
//! and a frame the encoder accepts must parse back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retrofit_protocols::metric::{check_type, Value};
use retrofit_protocols::sensor::{self, DecodeParams, SensorFormat, SensorMetrics, MAX_METRICS};

fuzz_target!(|input: (u8, u32, Option<f64>, &[u8])| {
    let (index, f_port, mount_height_m, bytes) = input;
    let format = SensorFormat::ALL[usize::from(index) % SensorFormat::ALL.len()];
    let params = DecodeParams {
        f_port,
        mount_height_m,
    };
    if let Ok(metrics) = sensor::decode(format, bytes, &params) {
        check_metrics(&metrics);
    }
    if let Ok(frame) = sensor::parse(format, f_port, bytes) {
        if let Ok(uplink) = sensor::encode(&frame) {
            let again = sensor::parse(format, uplink.f_port, &uplink.bytes);
            assert_eq!(again, Ok(frame), "encoded as {uplink:?}");
        }
    }
});

fn check_metrics(metrics: &SensorMetrics) {
    assert!((1..=MAX_METRICS).contains(&metrics.len()), "{metrics:?}");
    for (i, (name, value)) in metrics.iter().enumerate() {
        if let Value::Number(x) = value {
            assert!(x.is_finite(), "{name} = {x}");
        }
        assert_eq!(check_type(name, value), Ok(()), "{name} = {value:?}");
        assert!(
            metrics[..i].iter().all(|(other, _)| other != name),
            "{name} twice in {metrics:?}"
        );
    }
}
