//! Door state from two end-of-travel contacts ("closed" and "fully open").
//!
//! Between the contacts the door is `opening` if it last left `closed` and
//! `closing` if it last left `open`. A door that goes from `closing` back to
//! `open` without reaching `closed` has reversed (an obstruction, a held
//! door). A cycle completes when the door closes after having been open.
//! Both contacts active at once is impossible mechanically: it is reported
//! as inconsistent and the previous state is kept.

/// The model's `door` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorState {
    Closed,
    Open,
    Opening,
    Closing,
}

impl DoorState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::Opening => "opening",
            Self::Closing => "closing",
        }
    }

    pub fn is_moving(self) -> bool {
        matches!(self, Self::Opening | Self::Closing)
    }
}

/// What one contact sample did to the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorUpdate {
    pub state: DoorState,
    /// Went from closing back to open.
    pub reversed: bool,
    /// Closed after having been open.
    pub cycle_completed: bool,
    /// Both contacts active.
    pub inconsistent: bool,
}

/// Tracks the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorTracker {
    state: DoorState,
    opened_since_closed: bool,
}

impl Default for DoorTracker {
    fn default() -> Self {
        Self {
            state: DoorState::Closed,
            opened_since_closed: false,
        }
    }
}

impl DoorTracker {
    pub fn state(&self) -> DoorState {
        self.state
    }

    pub fn update(&mut self, closed_contact: bool, open_contact: bool) -> DoorUpdate {
        let previous = self.state;
        let next = match (closed_contact, open_contact) {
            (true, true) => previous,
            (true, false) => DoorState::Closed,
            (false, true) => DoorState::Open,
            (false, false) => match previous {
                DoorState::Closed | DoorState::Opening => DoorState::Opening,
                DoorState::Open | DoorState::Closing => DoorState::Closing,
            },
        };
        let cycle_completed =
            next == DoorState::Closed && previous != DoorState::Closed && self.opened_since_closed;
        match next {
            DoorState::Open => self.opened_since_closed = true,
            DoorState::Closed => self.opened_since_closed = false,
            _ => {}
        }
        self.state = next;
        DoorUpdate {
            state: next,
            reversed: previous == DoorState::Closing && next == DoorState::Open,
            cycle_completed,
            inconsistent: closed_contact && open_contact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cycle_passes_through_every_state_and_counts_once() {
        let mut door = DoorTracker::default();
        let seq = [
            (true, false),
            (false, false),
            (false, true),
            (false, false),
            (true, false),
        ];
        let updates: heapless::Vec<DoorUpdate, 5> =
            seq.iter().map(|(c, o)| door.update(*c, *o)).collect();
        let states: heapless::Vec<DoorState, 5> = updates.iter().map(|u| u.state).collect();
        assert_eq!(
            states.as_slice(),
            &[
                DoorState::Closed,
                DoorState::Opening,
                DoorState::Open,
                DoorState::Closing,
                DoorState::Closed
            ]
        );
        assert_eq!(updates.iter().filter(|u| u.cycle_completed).count(), 1);
        assert!(updates[4].cycle_completed);
    }

    #[test]
    fn reopening_while_closing_is_a_reversal() {
        let mut door = DoorTracker::default();
        door.update(false, true);
        door.update(false, false);
        let u = door.update(false, true);
        assert!(u.reversed);
        assert_eq!(u.state, DoorState::Open);
    }

    #[test]
    fn opening_and_closing_without_reaching_open_is_not_a_cycle() {
        let mut door = DoorTracker::default();
        door.update(true, false);
        door.update(false, false);
        assert!(!door.update(true, false).cycle_completed);
    }

    #[test]
    fn both_contacts_keep_the_state_and_flag_it() {
        let mut door = DoorTracker::default();
        door.update(false, true);
        let u = door.update(true, true);
        assert!(u.inconsistent);
        assert_eq!(u.state, DoorState::Open);
    }
}
