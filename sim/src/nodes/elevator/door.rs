//! The car door: a panel travelling between closed (0) and fully open (1)
//! in `TRAVEL_S`, with its two end-of-travel contacts (closed, fully open)
//! and a jam fault that freezes the panel where it is. The door moves only
//! while the lift has power and only as commanded; the contacts report the
//! panel as the real switches would.

/// Time for a full open or close, s.
pub const TRAVEL_S: f32 = 2.5;
/// The end contacts close within this fraction of travel from each end.
const CONTACT_BAND: f32 = 0.02;
/// Closer than this to a stop is at the stop.
const END_SNAP: f32 = 1e-4;

/// What the door operator is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoorCommand {
    Open,
    Close,
}

/// The door panel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Door {
    /// 0 closed .. 1 fully open.
    opening: f32,
    command: DoorCommand,
    jammed: bool,
}

impl Default for Door {
    fn default() -> Self {
        Self {
            opening: 0.0,
            command: DoorCommand::Close,
            jammed: false,
        }
    }
}

impl Door {
    pub fn command(&mut self, command: DoorCommand) {
        self.command = command;
    }

    /// Jams (or frees) the panel where it is.
    pub fn set_jammed(&mut self, jammed: bool) {
        self.jammed = jammed;
    }

    pub fn is_jammed(&self) -> bool {
        self.jammed
    }

    /// 0 closed .. 1 fully open.
    pub fn opening(&self) -> f32 {
        self.opening
    }

    pub fn is_closing(&self) -> bool {
        self.command == DoorCommand::Close && self.opening > 0.0
    }

    /// One step of `dt_s`.
    pub fn step(&mut self, powered: bool, dt_s: f32) {
        if !powered || self.jammed {
            return;
        }
        let travel = dt_s / TRAVEL_S;
        let next = match self.command {
            DoorCommand::Open => self.opening + travel,
            DoorCommand::Close => self.opening - travel,
        };
        // Snap to the stops so rounding never leaves the panel a hair open.
        self.opening = match next {
            x if x <= END_SNAP => 0.0,
            x if x >= 1.0 - END_SNAP => 1.0,
            x => x,
        };
    }

    pub fn closed_contact(&self) -> bool {
        self.opening <= CONTACT_BAND
    }

    pub fn open_contact(&self) -> bool {
        self.opening >= 1.0 - CONTACT_BAND
    }

    pub fn is_closed(&self) -> bool {
        self.opening == 0.0
    }

    pub fn is_open(&self) -> bool {
        self.opening == 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_and_closes_in_its_travel_time_and_jams_where_it_is() {
        let mut door = Door::default();
        assert!(door.closed_contact() && !door.open_contact());
        door.command(DoorCommand::Open);
        for _ in 0..50 {
            door.step(true, 0.05);
        }
        assert!(door.is_open() && door.open_contact() && !door.closed_contact());
        door.command(DoorCommand::Close);
        for _ in 0..25 {
            door.step(true, 0.05);
        }
        door.set_jammed(true);
        for _ in 0..100 {
            door.step(true, 0.05);
        }
        assert!((door.opening() - 0.5).abs() < 1e-4);
        assert!(!door.closed_contact() && !door.open_contact());
        door.set_jammed(false);
        for _ in 0..25 {
            door.step(false, 0.05);
        }
        assert!(!door.is_closed(), "no power, no motion");
        for _ in 0..25 {
            door.step(true, 0.05);
        }
        assert!(door.is_closed());
    }
}
