//! One simulated charging pile: boots, reports its connectors, and on
//! connector 1 runs sessions (a vehicle arrives, StartTransaction, a
//! MeterValues every tick along the power curve, StopTransaction when the
//! driver's target charge is reached), now and then a fault (Faulted with
//! an OCPP error code) that recovers a few ticks later.
//!
//! Every message waits for its `.conf`; a lost connection is reopened with
//! backoff and the unconfirmed message sent again (no new
//! BootNotification, as real piles do). It never stops before `stop`.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::Utc;
use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::messages::meter_values::{MeterValuesRequest, MeterValuesResponse};
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::status_notification::{
    StatusNotificationRequest, StatusNotificationResponse,
};
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{
    ChargePointErrorCode, ChargePointStatus, Measurand, MeterValue, Phase, ReadingContext, Reason,
    SampledValue, UnitOfMeasure,
};
use tokio_util::sync::CancellationToken;

use super::client::{ClientError, OcppClient};
use super::curve::Vehicle;
use super::{ChargerPlan, ChargerSpec, ChargerStats};

/// Something the pile has to tell the central system.
#[derive(Debug, Clone)]
enum Step {
    Status(u32, ChargePointStatus, ChargePointErrorCode),
    Start {
        meter_wh: i32,
    },
    Meter {
        meter_wh: i32,
        power_w: f64,
        soc_pct: f64,
    },
    Stop {
        meter_wh: i32,
    },
}

/// The pile's own state.
struct Pile {
    spec: ChargerSpec,
    plan: ChargerPlan,
    rng: fastrand::Rng,
    meter_wh: f64,
    vehicle: Option<Vehicle>,
    fault_ticks: u32,
    transaction: Option<i32>,
    outbox: VecDeque<Step>,
}

/// Runs one pile until `stop`.
pub async fn run_charger(
    url: String,
    spec: ChargerSpec,
    plan: ChargerPlan,
    stats: ChargerStats,
    stop: CancellationToken,
) {
    // Each pile its own reproducible world: the plan's seed and its identity.
    let seed = spec
        .charge_point_id
        .bytes()
        .fold(plan.seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let mut pile = Pile {
        rng: fastrand::Rng::with_seed(seed),
        meter_wh: 0.0,
        vehicle: None,
        fault_ticks: 0,
        transaction: None,
        outbox: (0..=spec.connectors)
            .map(|c| {
                Step::Status(
                    c,
                    ChargePointStatus::Available,
                    ChargePointErrorCode::NoError,
                )
            })
            .collect(),
        spec,
        plan,
    };
    let mut booted = false;
    let mut backoff = Duration::from_millis(200);
    while !stop.is_cancelled() {
        let password = pile.spec.password.clone();
        let connected = tokio::select! {
            () = stop.cancelled() => return,
            c = OcppClient::connect(&url, &pile.spec.charge_point_id, password.as_deref()) => c,
        };
        let result = match connected {
            Ok(mut client) => {
                backoff = Duration::from_millis(200);
                let r = pile.session(&mut client, &mut booted, &stats, &stop).await;
                client.close().await;
                r
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            stats.reconnected();
            tracing::debug!(charge_point = %pile.spec.charge_point_id, error = %e, "pile reconnects");
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

impl Pile {
    /// One connection's life: boot once, then tick until an error or stop.
    async fn session(
        &mut self,
        client: &mut OcppClient,
        booted: &mut bool,
        stats: &ChargerStats,
        stop: &CancellationToken,
    ) -> Result<(), ClientError> {
        if !*booted {
            let boot = BootNotificationRequest {
                charge_point_vendor: "RetrofitSim".into(),
                charge_point_model: "SIM-AC7".into(),
                ..Default::default()
            };
            let _: (BootNotificationResponse, _) = client.call("BootNotification", &boot).await?;
            *booted = true;
        }
        // Ticks are spread over the interval so that piles do not send at once.
        let offset = self.plan.meter_interval.mul_f64(self.rng.f64());
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::now() + offset,
            self.plan.meter_interval,
        );
        loop {
            self.flush(client, stats).await?;
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                _ = tick.tick() => self.advance(),
            }
        }
    }

    /// Sends what is queued, each once confirmed.
    async fn flush(
        &mut self,
        client: &mut OcppClient,
        stats: &ChargerStats,
    ) -> Result<(), ClientError> {
        while let Some(step) = self.outbox.front().cloned() {
            self.send(client, stats, step).await?;
            self.outbox.pop_front();
        }
        Ok(())
    }

    async fn send(
        &mut self,
        client: &mut OcppClient,
        stats: &ChargerStats,
        step: Step,
    ) -> Result<(), ClientError> {
        let now = Utc::now();
        match step {
            Step::Status(connector, status, error_code) => {
                let req = StatusNotificationRequest {
                    connector_id: connector,
                    error_code,
                    status,
                    timestamp: Some(now),
                    ..Default::default()
                };
                let _: (StatusNotificationResponse, _) =
                    client.call("StatusNotification", &req).await?;
            }
            Step::Start { meter_wh } => {
                let req = StartTransactionRequest {
                    connector_id: 1,
                    id_tag: self.plan.id_tag.clone(),
                    meter_start: meter_wh,
                    reservation_id: None,
                    timestamp: now,
                };
                let (conf, _): (StartTransactionResponse, _) =
                    client.call("StartTransaction", &req).await?;
                self.transaction = Some(conf.transaction_id);
                stats.session_started();
            }
            Step::Meter {
                meter_wh,
                power_w,
                soc_pct,
            } => {
                let req = MeterValuesRequest {
                    connector_id: 1,
                    transaction_id: self.transaction,
                    meter_value: vec![meter_value(now, meter_wh, power_w, soc_pct)],
                };
                let (_, took): (MeterValuesResponse, _) = client.call("MeterValues", &req).await?;
                stats.confirmed(took);
            }
            Step::Stop { meter_wh } => {
                let Some(transaction_id) = self.transaction.take() else {
                    return Ok(());
                };
                let req = StopTransactionRequest {
                    meter_stop: meter_wh,
                    timestamp: now,
                    transaction_id,
                    reason: Some(Reason::EVDisconnected),
                    ..Default::default()
                };
                let _: (StopTransactionResponse, _) = client.call("StopTransaction", &req).await?;
            }
        }
        Ok(())
    }

    /// One tick of the pile's world.
    fn advance(&mut self) {
        use ChargePointErrorCode as E;
        use ChargePointStatus as S;
        if self.fault_ticks > 0 {
            self.fault_ticks -= 1;
            if self.fault_ticks == 0 {
                self.outbox
                    .push_back(Step::Status(1, S::Available, E::NoError));
            }
            return;
        }
        let seconds = self.plan.meter_interval.as_secs_f64() * self.plan.speed;
        match self.vehicle.as_mut() {
            Some(vehicle) => {
                self.meter_wh += vehicle.charge(self.plan.max_power_w, seconds);
                let (power_w, soc_pct, done) = (
                    vehicle.power_w(self.plan.max_power_w),
                    vehicle.soc_pct,
                    vehicle.is_done(),
                );
                let meter_wh = self.meter_wh.round() as i32;
                self.outbox.push_back(Step::Meter {
                    meter_wh,
                    power_w,
                    soc_pct,
                });
                if done {
                    self.vehicle = None;
                    self.outbox.extend([
                        Step::Stop { meter_wh },
                        Step::Status(1, S::Finishing, E::NoError),
                        Step::Status(1, S::Available, E::NoError),
                    ]);
                }
            }
            None if self.rng.f64() < self.plan.fault_chance => {
                let codes = [
                    E::GroundFailure,
                    E::HighTemperature,
                    E::OverCurrentFailure,
                    E::PowerMeterFailure,
                ];
                let code = codes[self.rng.usize(..codes.len())].clone();
                self.fault_ticks = self.rng.u32(1..=3);
                self.outbox.push_back(Step::Status(1, S::Faulted, code));
            }
            None if self.rng.f64() < self.plan.arrival_chance => {
                self.vehicle = Some(Vehicle {
                    battery_wh: self.rng.f64().mul_add(40_000.0, 40_000.0),
                    soc_pct: self.rng.f64().mul_add(40.0, 10.0),
                    target_pct: self.rng.f64().mul_add(20.0, 80.0),
                });
                let meter_wh = self.meter_wh.round() as i32;
                self.outbox.extend([
                    Step::Status(1, S::Preparing, E::NoError),
                    Step::Start { meter_wh },
                    Step::Status(1, S::Charging, E::NoError),
                ]);
            }
            None => {}
        }
    }
}

fn sample(
    value: f64,
    measurand: Measurand,
    unit: UnitOfMeasure,
    phase: Option<Phase>,
) -> SampledValue {
    SampledValue {
        value: format!("{value:.3}"),
        context: Some(ReadingContext::SamplePeriodic),
        measurand: Some(measurand),
        phase,
        unit: Some(unit),
        ..Default::default()
    }
}

fn meter_value(
    now: chrono::DateTime<Utc>,
    meter_wh: i32,
    power_w: f64,
    soc_pct: f64,
) -> MeterValue {
    let amps = power_w / 230.0;
    MeterValue {
        timestamp: now,
        sampled_value: vec![
            sample(
                f64::from(meter_wh) / 1000.0,
                Measurand::EnergyActiveImportRegister,
                UnitOfMeasure::KWh,
                None,
            ),
            sample(
                power_w / 1000.0,
                Measurand::PowerActiveImport,
                UnitOfMeasure::Kw,
                None,
            ),
            sample(
                amps,
                Measurand::CurrentImport,
                UnitOfMeasure::A,
                Some(Phase::L1),
            ),
            sample(
                230.0,
                Measurand::Voltage,
                UnitOfMeasure::V,
                Some(Phase::L1N),
            ),
            SampledValue {
                location: Some(rust_ocpp::v1_6::types::Location::Ev),
                ..sample(soc_pct, Measurand::SoC, UnitOfMeasure::Percent, None)
            },
        ],
    }
}
