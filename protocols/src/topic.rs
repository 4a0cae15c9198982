//! Normalized MQTT topics (spec §5):
//! `retrofit/v1/{site}/{kind}/{device}/{channel}`.
//!
//! Every level is a validated type, so a built topic can never contain a
//! wildcard (`+`, `#`), an extra level or a control character. The parser is
//! the exact inverse and refuses anything else.

use core::fmt::{self, Write as _};

use crate::id::Id;
use crate::kind::DeviceKind;

/// Topic namespace and schema version.
pub const PREFIX: &str = "retrofit/v1";
/// Capacity of a topic string: the prefix, two 64-byte IDs, a kind and a channel.
pub const TOPIC_MAX_LEN: usize = 192;

/// A built topic.
pub type TopicString = heapless::String<TOPIC_MAX_LEN>;

/// The last level of a normalized topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Telemetry,
    Event,
    Status,
    /// Only under the gateway's own topic.
    Deadletter,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Self::Telemetry, Self::Event, Self::Status, Self::Deadletter];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Telemetry => "telemetry",
            Self::Event => "event",
            Self::Status => "status",
            Self::Deadletter => "deadletter",
        }
    }

    /// Whether the broker keeps the last message (device and gateway status).
    pub const fn retained(self) -> bool {
        matches!(self, Self::Status)
    }
}

/// The parts of a normalized topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub site: Id,
    pub kind: DeviceKind,
    pub device: Id,
    pub channel: Channel,
}

/// Why a string is not a normalized topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("does not start with {PREFIX}/")]
    Prefix,
    #[error("has the wrong number of levels")]
    Levels,
    #[error("has an invalid site or device level")]
    BadId,
    #[error("has an unknown kind level")]
    BadKind,
    #[error("has an unknown channel level")]
    BadChannel,
    #[error("dead letters belong to the gateway kind only")]
    DeadletterNotGateway,
}

impl Topic {
    pub fn new(site: Id, kind: DeviceKind, device: Id, channel: Channel) -> Self {
        Self {
            site,
            kind,
            device,
            channel,
        }
    }

    /// Writes the topic into a fixed-capacity string.
    pub fn build(&self) -> TopicString {
        let mut out = TopicString::new();
        // Cannot overflow: every level is length-bounded by its type.
        let _ = write!(out, "{self}");
        out
    }

    /// Parses a normalized topic back into its parts.
    pub fn parse(s: &str) -> Result<Self, TopicError> {
        let rest = s
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or(TopicError::Prefix)?;
        let mut levels = rest.split('/');
        let mut next = || levels.next().ok_or(TopicError::Levels);
        let (site, kind, device, channel) = (next()?, next()?, next()?, next()?);
        if levels.next().is_some() {
            return Err(TopicError::Levels);
        }
        let channel = Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == channel)
            .ok_or(TopicError::BadChannel)?;
        let kind: DeviceKind = kind.parse().map_err(|_| TopicError::BadKind)?;
        if channel == Channel::Deadletter && kind != DeviceKind::Gateway {
            return Err(TopicError::DeadletterNotGateway);
        }
        Ok(Self {
            site: Id::parse(site).map_err(|_| TopicError::BadId)?,
            kind,
            device: Id::parse(device).map_err(|_| TopicError::BadId)?,
            channel,
        })
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}/{}/{}/{}/{}",
            self.site,
            self.kind,
            self.device,
            self.channel.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap()
    }

    #[test]
    fn builds_spec_topics() {
        let t = Topic::new(
            id("kangfu-garden"),
            DeviceKind::Drainage,
            id("drain-w17"),
            Channel::Telemetry,
        );
        assert_eq!(
            t.build().as_str(),
            "retrofit/v1/kangfu-garden/drainage/drain-w17/telemetry"
        );
        assert_eq!(Topic::parse(t.build().as_str()), Ok(t));
    }

    #[test]
    fn refuses_foreign_topics() {
        let cases = [
            ("other/v1/s/parking/d/telemetry", TopicError::Prefix),
            ("retrofit/v1/s/parking/d", TopicError::Levels),
            ("retrofit/v1/s/parking/d/telemetry/x", TopicError::Levels),
            ("retrofit/v1/s/parking/+/telemetry", TopicError::BadId),
            ("retrofit/v1/#/parking/d/telemetry", TopicError::BadId),
            ("retrofit/v1/s/boat/d/telemetry", TopicError::BadKind),
            ("retrofit/v1/s/parking/d/metrics", TopicError::BadChannel),
            (
                "retrofit/v1/s/parking/d/deadletter",
                TopicError::DeadletterNotGateway,
            ),
        ];
        for (s, want) in cases {
            assert_eq!(Topic::parse(s), Err(want), "{s}");
        }
    }

    proptest! {
        /// Whatever IDs pass validation, the built topic has exactly six
        /// levels, no wildcard and parses back to the same parts.
        #[test]
        fn never_wildcards_or_extra_levels(
            site in "\\PC{1,70}", device in "\\PC{1,70}",
            k in 0usize..5, c in 0usize..3,
        ) {
            let (Ok(site), Ok(device)) = (Id::parse(&site), Id::parse(&device)) else {
                return Ok(());
            };
            let t = Topic::new(site, DeviceKind::ALL[k], device, Channel::ALL[c]);
            let s = t.build();
            prop_assert_eq!(s.split('/').count(), 6);
            prop_assert!(!s.contains(['+', '#', ' ', '\0']));
            prop_assert_eq!(Topic::parse(&s), Ok(t));
        }

        #[test]
        fn arbitrary_ids_are_refused_or_safe(s in "[a-z0-9/+# _-]{1,70}") {
            if let Ok(id) = Id::parse(&s) {
                prop_assert!(!id.as_str().contains(['/', '+', '#', ' ']));
            }
        }
    }
}
