//! The car's vertical motion: a drive that accelerates at a fixed rate to
//! its rated speed and decelerates so that it stops at the target landing
//! (a trapezoidal speed profile), and the machine brake that stops it
//! where it is when power fails. Reports the acceleration of each step,
//! which is what the car's accelerometer feels. Never moves a car whose
//! brake is applied.

/// How fast the drive may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriveProfile {
    pub speed_mps: f32,
    pub accel_mps2: f32,
}

impl DriveProfile {
    /// Normal service: 1.0 m/s, 0.8 m/s² (a typical added residential lift).
    pub const SERVICE: DriveProfile = DriveProfile {
        speed_mps: 1.0,
        accel_mps2: 0.8,
    };
    /// Re-leveling after a stop between floors.
    pub const RELEVEL: DriveProfile = DriveProfile {
        speed_mps: 0.3,
        accel_mps2: 0.5,
    };
}

/// Deceleration of the machine brake, m/s².
pub const BRAKE_MPS2: f32 = 2.5;
/// Closer than this to the target (and slow) counts as arrived, m.
const ARRIVED_M: f32 = 0.003;

/// Position, speed and this step's acceleration (all upward positive).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Car {
    pub position_m: f32,
    pub velocity_mps: f32,
    pub accel_mps2: f32,
}

impl Car {
    pub fn at(position_m: f32) -> Self {
        Self {
            position_m,
            ..Self::default()
        }
    }

    pub fn is_still(&self) -> bool {
        self.velocity_mps == 0.0
    }

    /// One step of `dt_s` towards `target_m`; true once stopped there.
    pub fn drive(&mut self, target_m: f32, profile: DriveProfile, dt_s: f32) -> bool {
        let remaining = target_m - self.position_m;
        if remaining.abs() <= ARRIVED_M && self.velocity_mps.abs() <= profile.accel_mps2 * dt_s {
            self.stop_at(target_m, dt_s);
            return true;
        }
        let stopping_speed = (2.0 * profile.accel_mps2 * remaining.abs()).sqrt();
        let wanted = remaining.signum() * profile.speed_mps.min(stopping_speed);
        let max_change = profile.accel_mps2 * dt_s;
        let change = (wanted - self.velocity_mps).clamp(-max_change, max_change);
        self.move_by(change, dt_s);
        let overshot = (target_m - self.position_m).signum() != remaining.signum();
        if overshot {
            self.stop_at(target_m, dt_s);
        }
        overshot
    }

    /// One step of braking to a standstill where the car is.
    pub fn brake(&mut self, dt_s: f32) {
        let max_change = BRAKE_MPS2 * dt_s;
        let change = (-self.velocity_mps).clamp(-max_change, max_change);
        self.move_by(change, dt_s);
    }

    /// Stands still: no acceleration.
    pub fn hold(&mut self) {
        self.accel_mps2 = 0.0;
    }

    fn move_by(&mut self, change: f32, dt_s: f32) {
        let before = self.velocity_mps;
        self.velocity_mps += change;
        self.accel_mps2 = change / dt_s;
        self.position_m += 0.5 * (before + self.velocity_mps) * dt_s;
    }

    fn stop_at(&mut self, target_m: f32, dt_s: f32) {
        self.accel_mps2 = -self.velocity_mps / dt_s;
        self.velocity_mps = 0.0;
        self.position_m = target_m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f32 = 0.05;

    #[test]
    fn a_trip_accelerates_cruises_and_stops_at_the_landing() {
        let mut car = Car::at(0.0);
        let mut steps = 0;
        let mut top_speed: f32 = 0.0;
        while !car.drive(12.0, DriveProfile::SERVICE, DT) {
            top_speed = top_speed.max(car.velocity_mps);
            assert!(car.accel_mps2.abs() <= 0.8 + 1e-3, "{car:?}");
            steps += 1;
            assert!(steps < 1_000, "never arrived: {car:?}");
        }
        assert_eq!((car.position_m, car.velocity_mps), (12.0, 0.0));
        assert!((top_speed - 1.0).abs() < 1e-3);
        let seconds = steps as f32 * DT;
        assert!((12.5..14.0).contains(&seconds), "{seconds} s for 12 m");
    }

    #[test]
    fn the_brake_stops_the_car_within_a_short_distance() {
        let mut car = Car::at(5.0);
        car.velocity_mps = -1.0;
        for _ in 0..20 {
            car.brake(DT);
        }
        assert!(car.is_still());
        assert!((car.position_m - 4.8).abs() < 0.02, "{car:?}");
    }
}
