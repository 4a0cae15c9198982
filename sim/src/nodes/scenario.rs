//! Named scenarios for the simulated edge nodes: what happens to the lift,
//! the weather over the wells and the traffic in the garage, on the
//! simulated clock. `retrofit-sim scenarios` lists them.
//!
//! A scenario only describes the world; the firmware decides what is an
//! alarm (e.g. an entrapment is raised by the real `ElevatorApp` after its
//! 120 s, not by the scenario).

use std::fmt;
use std::str::FromStr;

use super::drainage::weather::{Shower, Weather};
use super::elevator::physics::{ElevatorFault, ElevatorPlan};
use super::parking::bay::BayPlan;

const MINUTE_MS: u64 = 60_000;

/// A scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Normal,
    Entrapment,
    DoorStuck,
    Storm,
    Incidents,
}

/// The name is not a scenario.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {0:?} (see `retrofit-sim scenarios`)")]
pub struct UnknownScenario(String);

impl Scenario {
    pub const ALL: [Scenario; 5] = [
        Self::Normal,
        Self::Entrapment,
        Self::DoorStuck,
        Self::Storm,
        Self::Incidents,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Entrapment => "entrapment",
            Self::DoorStuck => "door_stuck",
            Self::Storm => "storm",
            Self::Incidents => "incidents",
        }
    }

    /// One line for `retrofit-sim scenarios`.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Normal => {
                "residents ride the lift, a light shower at 10 min, cars come and go; no alarms"
            }
            Self::Entrapment => {
                "from 60 s the next ride loses power between floors: power_loss, \
                 stopped_outside_landing, entrapment after 120 s; power back 200 s later, \
                 the car re-levels and opens: all cleared"
            }
            Self::DoorStuck => {
                "from 30 s the car door jams half closed for 40 s: door_fault raised after 15 s, \
                 cleared when it closes"
            }
            Self::Storm => {
                "a 12-minute storm (peak 120 mm/h) from 60 s: the wells fill to high_water \
                 (warning, then overflow) and drain after it"
            }
            Self::Incidents => "entrapment and storm at once (the demo's default)",
        }
    }

    /// The lift's traffic and faults.
    pub fn elevator(self) -> ElevatorPlan {
        let mut plan = ElevatorPlan {
            first_call_ms: 5_000,
            mean_call_interval_ms: 40_000,
            faults: Vec::new(),
        };
        match self {
            Self::Entrapment | Self::Incidents => {
                plan.mean_call_interval_ms = 30_000;
                plan.faults.push(ElevatorFault::PowerCut {
                    armed_ms: 60_000,
                    outage_ms: 200_000,
                });
            }
            Self::DoorStuck => plan.faults.push(ElevatorFault::DoorJam {
                armed_ms: 30_000,
                jammed_ms: 40_000,
            }),
            Self::Normal | Self::Storm => {}
        }
        plan
    }

    /// The rain over the wells.
    pub fn weather(self) -> Weather {
        let shower = match self {
            Self::Storm | Self::Incidents => Shower {
                start_ms: MINUTE_MS,
                duration_ms: 12 * MINUTE_MS,
                peak_mm_h: 120.0,
            },
            Self::Normal => Shower {
                start_ms: 10 * MINUTE_MS,
                duration_ms: 20 * MINUTE_MS,
                peak_mm_h: 10.0,
            },
            Self::Entrapment | Self::DoorStuck => return Weather::default(),
        };
        Weather {
            showers: vec![shower],
        }
    }

    /// The garage traffic (the same in every scenario).
    pub fn bay(self) -> BayPlan {
        BayPlan::default()
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| UnknownScenario(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.name().parse(), Ok(scenario));
            assert!(!scenario.description().is_empty());
        }
        assert!("Storm".parse::<Scenario>().is_err());
        assert!("".parse::<Scenario>().is_err());
    }

    #[test]
    fn faults_belong_to_their_scenarios() {
        assert!(Scenario::Normal.elevator().faults.is_empty());
        assert!(matches!(
            Scenario::Entrapment.elevator().faults[..],
            [ElevatorFault::PowerCut { .. }]
        ));
        assert!(Scenario::Entrapment.weather().showers.is_empty());
        assert!(Scenario::Storm.weather().mm_h(7 * MINUTE_MS) > 100.0);
    }
}
