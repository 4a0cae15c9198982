//! Where a LoRaWAN device's metrics come from (`metrics_from`): its payload
//! decoder, or the network server's `object` read through the device's
//! codec map (or, without a map, as model metric names). Never lets a
//! vendor key become a metric name unless a map names it.

use retrofit_protocols::chirpstack::{CodecOutput, Uplink};
use retrofit_protocols::flat_object::FlatObject;
use retrofit_protocols::json;

use super::LorawanDevice;
use crate::codec_map::{self, CodecMaps, DeviceCodec, Mapped, MetricsFrom};
use crate::config::error::Problems;
use crate::devices::DeviceEntry;
use crate::normalize::{metrics_from_json, Rejection};

/// The device's codec, refusing `metrics_from = "decoder"` without one.
pub(super) fn device_codec(
    d: &DeviceEntry,
    maps: &CodecMaps,
    problems: &mut Problems<'_>,
) -> DeviceCodec {
    let codec = maps.for_device(d, problems);
    if let Some(m) = &d.metrics_from {
        if *m.get_ref() == MetricsFrom::Decoder && d.decoder.is_none() {
            problems.at(m.span(), "metrics_from = \"decoder\" needs a decoder");
        }
    }
    codec
}

/// The `object` to read metrics from, if the device's metrics come from
/// it for this uplink; `None`: decode `data`.
pub(super) fn object_to_read<'a>(up: &Uplink<'a>, lora: &LorawanDevice) -> Option<CodecOutput<'a>> {
    match lora.codec.metrics_from {
        MetricsFrom::Decoder => None,
        MetricsFrom::Auto if lora.decoder.is_some() => None,
        MetricsFrom::Auto | MetricsFrom::Object => up.object,
    }
}

/// The metrics of a codec's `object`: through the device's map, or (no
/// map) its keys as model metric names.
pub(super) fn metrics_of_object(
    object: CodecOutput<'_>,
    lora: &LorawanDevice,
) -> Result<Mapped, Rejection> {
    match &lora.codec.map {
        Some(map) => codec_map::apply(map, object.text(), lora.params.mount_height_m),
        None => {
            let flat: FlatObject<'_> = json::from_str(object.text())?;
            Ok(Mapped {
                metrics: metrics_from_json(&flat)?,
                ..Mapped::default()
            })
        }
    }
}
