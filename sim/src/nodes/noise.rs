//! Seeded randomness for the physics models: measurement noise and random
//! waiting times. Every draw comes from the caller's `fastrand::Rng`, so a
//! model seeded the same way replays exactly; nothing here reads a clock
//! or a global generator.

/// Approximately normal noise with standard deviation `sigma` (the sum of
/// four uniforms: bounded, which suits a sensor model).
pub fn gaussian(rng: &mut fastrand::Rng, sigma: f32) -> f32 {
    let sum: f32 = (0..4).map(|_| rng.f32()).sum();
    (sum - 2.0) * sigma * 3f32.sqrt()
}

/// An exponentially distributed wait (a Poisson process) with the given
/// mean, in milliseconds; at least 1 ms.
pub fn exponential_ms(rng: &mut fastrand::Rng, mean_ms: u64) -> u64 {
    let u = rng.f64();
    let wait = -(1.0 - u).ln() * mean_ms as f64;
    (wait.round() as u64).max(1)
}

/// A uniform draw in `low..high`.
pub fn between(rng: &mut fastrand::Rng, low: f32, high: f32) -> f32 {
    low + (high - low) * rng.f32()
}

/// A seed for one node of a run: the run's seed mixed with the node's
/// address, so nodes differ but each replays.
pub fn node_seed(run_seed: u64, address: u16) -> u64 {
    run_seed ^ u64::from(address).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_has_the_asked_spread_and_replays() {
        let mut rng = fastrand::Rng::with_seed(7);
        let draws: Vec<f32> = (0..20_000).map(|_| gaussian(&mut rng, 0.5)).collect();
        let mean = draws.iter().sum::<f32>() / draws.len() as f32;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / draws.len() as f32;
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "{}", var.sqrt());
        let mut again = fastrand::Rng::with_seed(7);
        assert_eq!(gaussian(&mut again, 0.5), draws[0]);
    }

    #[test]
    fn waits_average_their_mean() {
        let mut rng = fastrand::Rng::with_seed(3);
        let total: u64 = (0..10_000).map(|_| exponential_ms(&mut rng, 1_000)).sum();
        let mean = total as f64 / 10_000.0;
        assert!((mean - 1_000.0).abs() < 50.0, "{mean}");
        assert_ne!(node_seed(1, 1), node_seed(1, 2));
    }
}
