//! Alarm vocabulary of the node applications and the latch that turns a
//! condition into raise/clear transitions.
//!
//! [`NodeEvent`] lists only the events the firmware can raise; its names are
//! the model's event names (spec §4) and convert to
//! [`retrofit_protocols::EventName`]. A latch emits a transition only on a
//! change, never the same state twice.

use retrofit_protocols::{EventName, EventState, IdError, Severity};

/// Events a node can raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeEvent {
    Entrapment,
    DoorFault,
    StoppedOutsideLanding,
    PowerLoss,
    HighWater,
    BlockageSuspected,
    BatteryLow,
    SensorFault,
}

impl NodeEvent {
    pub const ALL: [NodeEvent; 8] = [
        Self::Entrapment,
        Self::DoorFault,
        Self::StoppedOutsideLanding,
        Self::PowerLoss,
        Self::HighWater,
        Self::BlockageSuspected,
        Self::BatteryLow,
        Self::SensorFault,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Entrapment => "entrapment",
            Self::DoorFault => "door_fault",
            Self::StoppedOutsideLanding => "stopped_outside_landing",
            Self::PowerLoss => "power_loss",
            Self::HighWater => "high_water",
            Self::BlockageSuspected => "blockage_suspected",
            Self::BatteryLow => "battery_low",
            Self::SensorFault => "sensor_fault",
        }
    }

    /// The model's event name.
    pub fn name(self) -> Result<EventName, IdError> {
        EventName::parse(self.as_str())
    }
}

/// One alarm changing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTransition {
    pub event: NodeEvent,
    pub severity: Severity,
    pub state: EventState,
}

/// Remembers whether an alarm is active, and at which severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmLatch {
    event: NodeEvent,
    active: Option<Severity>,
}

impl AlarmLatch {
    pub const fn new(event: NodeEvent) -> Self {
        Self {
            event,
            active: None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.active.is_some()
    }

    /// Raises at `severity`; a raised alarm whose severity changes is raised
    /// again (escalation or de-escalation), otherwise nothing.
    pub fn raise(&mut self, severity: Severity) -> Option<EventTransition> {
        if self.active == Some(severity) {
            return None;
        }
        self.active = Some(severity);
        Some(self.transition(severity, EventState::Raised))
    }

    /// Clears an active alarm (at its last severity), otherwise nothing.
    pub fn clear(&mut self) -> Option<EventTransition> {
        let severity = self.active.take()?;
        Some(self.transition(severity, EventState::Cleared))
    }

    fn transition(&self, severity: Severity, state: EventState) -> EventTransition {
        EventTransition {
            event: self.event,
            severity,
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_a_model_event_name() {
        for e in NodeEvent::ALL {
            assert_eq!(e.name().unwrap().as_str(), e.as_str());
        }
    }

    #[test]
    fn latch_emits_only_changes() {
        let mut latch = AlarmLatch::new(NodeEvent::HighWater);
        assert_eq!(latch.clear(), None);
        let raised = latch.raise(Severity::Major).unwrap();
        assert_eq!(raised.state, EventState::Raised);
        assert_eq!(latch.raise(Severity::Major), None);
        assert_eq!(
            latch.raise(Severity::Critical).unwrap().severity,
            Severity::Critical
        );
        let cleared = latch.clear().unwrap();
        assert_eq!(
            (cleared.state, cleared.severity),
            (EventState::Cleared, Severity::Critical)
        );
        assert!(!latch.is_active());
    }
}
