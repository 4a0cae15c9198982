//! Simulated Modbus RTU devices on a pseudo-terminal serial line: the
//! level transmitter of a drainage well that fills with rain, the rain
//! gauge beside it and the energy meter of an EV charger circuit
//! ([`model`]), served as slaves by `tokio-modbus` ([`slaves`]), for the
//! demo and the bus benchmark ([`bench`]).
//!
//! It only answers what the gateway asks; it never writes to the gateway.

pub mod bench;
pub mod demo_bus;
pub mod model;
pub mod slaves;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use self::model::SiteModel;
use self::slaves::{serve, Bus, BusService};

/// How often the model advances.
const TICK: Duration = Duration::from_millis(100);

/// The simulated devices, running until stopped.
pub struct ModbusSite {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl ModbusSite {
    /// Serves the devices on the line at `node_end` (`baud` as the
    /// gateway opens it), their time running `speed` times real time.
    pub fn start(node_end: PathBuf, baud: u32, speed: f64) -> Self {
        let stop = CancellationToken::new();
        let bus: Bus = Arc::new(Mutex::new(HashMap::new()));
        let mut model = SiteModel::default();
        model.write(&mut bus.lock().unwrap_or_else(PoisonError::into_inner));
        let ticker = {
            let (bus, stop) = (bus.clone(), stop.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(TICK);
                while tokio::select! { _ = stop.cancelled() => false, _ = tick.tick() => true } {
                    model.step(TICK.as_secs_f64() * speed);
                    model.write(&mut bus.lock().unwrap_or_else(PoisonError::into_inner));
                }
            })
        };
        let server = {
            let stop = stop.clone();
            tokio::spawn(
                async move { serve(&node_end, baud, BusService::new(bus, None), stop).await },
            )
        };
        Self {
            stop,
            tasks: vec![ticker, server],
        }
    }

    /// Stops serving and waits for the tasks.
    pub async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
