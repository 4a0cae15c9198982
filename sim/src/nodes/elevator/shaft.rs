//! The hoistway's geometry: landings every `floor_height_m`, a steel vane
//! at each landing, and the two leveling sensors on the car (upper and
//! lower) that read it. Going up, a vane meets the upper sensor first;
//! both sensors on the vane is the landing's door zone (±10 cm). Pure
//! geometry on the car's position: no motion, no state.

/// Half the length of a vane, m.
const VANE_HALF_M: f32 = 0.175;
/// Distance of each leveling sensor from the car's reference point, m.
const SENSOR_OFFSET_M: f32 = 0.075;
/// Half the height of a door zone (both sensors on the vane), m.
pub const DOOR_ZONE_HALF_M: f32 = VANE_HALF_M - SENSOR_OFFSET_M;

/// Floors `lowest..=highest`, the car's position 0 at the lowest landing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shaft {
    pub lowest: i16,
    pub highest: i16,
    pub floor_height_m: f32,
}

impl Default for Shaft {
    /// A seven-storey residential block, 3 m per floor.
    fn default() -> Self {
        Self {
            lowest: 1,
            highest: 7,
            floor_height_m: 3.0,
        }
    }
}

impl Shaft {
    /// The car position at `floor`'s landing.
    pub fn landing_m(&self, floor: i16) -> f32 {
        f32::from(floor - self.lowest) * self.floor_height_m
    }

    /// The landing nearest to `position_m`.
    pub fn nearest_floor(&self, position_m: f32) -> i16 {
        let steps = (position_m / self.floor_height_m).round();
        let floor = f32::from(self.lowest) + steps;
        floor.clamp(f32::from(self.lowest), f32::from(self.highest)) as i16
    }

    /// Distance from `position_m` to the nearest landing, m.
    pub fn off_landing_m(&self, position_m: f32) -> f32 {
        (position_m - self.landing_m(self.nearest_floor(position_m))).abs()
    }

    /// Whether a sensor at height `sensor_m` is on a vane.
    fn on_vane(&self, sensor_m: f32) -> bool {
        (sensor_m - self.landing_m(self.nearest_floor(sensor_m))).abs() <= VANE_HALF_M
    }

    /// The leveling sensors (upper, lower) with the car at `position_m`.
    pub fn leveling(&self, position_m: f32) -> (bool, bool) {
        (
            self.on_vane(position_m + SENSOR_OFFSET_M),
            self.on_vane(position_m - SENSOR_OFFSET_M),
        )
    }

    pub fn in_door_zone(&self, position_m: f32) -> bool {
        self.off_landing_m(position_m) <= DOOR_ZONE_HALF_M
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn going_up_a_vane_reads_upper_then_both_then_lower() {
        let shaft = Shaft::default();
        let landing = shaft.landing_m(3);
        let mut seen: Vec<(bool, bool)> = Vec::new();
        for mm in -400..=400 {
            let zone = shaft.leveling(landing + mm as f32 / 1000.0);
            if seen.last() != Some(&zone) {
                seen.push(zone);
            }
        }
        let want = [
            (false, false),
            (true, false),
            (true, true),
            (false, true),
            (false, false),
        ];
        assert_eq!(seen, want);
        assert!(shaft.in_door_zone(landing + 0.09) && !shaft.in_door_zone(landing + 0.12));
    }

    #[test]
    fn floors_and_landings_agree() {
        let shaft = Shaft::default();
        assert_eq!(shaft.landing_m(1), 0.0);
        assert_eq!(shaft.nearest_floor(shaft.landing_m(6) + 1.2), 6);
        assert_eq!(shaft.nearest_floor(-5.0), 1);
        assert_eq!(shaft.nearest_floor(100.0), 7);
        assert!((shaft.off_landing_m(7.4) - 1.4).abs() < 1e-6);
    }
}
