//! `retrofit-sim nodes`: runs the simulated edge nodes of one serial link
//! of a gateway config against a real gateway, with a scenario.
//!
//! Two ways to reach the gateway:
//! - `--port PATH`: an existing serial device (a USB RS-485 adapter wired
//!   to the gateway's bus, or a pseudo-terminal made elsewhere), opened at
//!   the link's `baud`;
//! - without it: a pseudo-terminal pair (made in-process, [`crate::pty`])
//!   whose gateway end is created at the link's `port` path (which must
//!   not exist yet and must lie outside `/dev`), for a gateway on the same
//!   machine; the gateway opens it when it appears.
//!
//! Prints the nodes' own account every couple of seconds and a closing
//! line; stops on Ctrl-C or after `--duration`. Never touches MQTT.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use retrofit_protocols::Id;
use tokio_util::sync::CancellationToken;

use crate::nodes::report::render_status;
use crate::nodes::{serial_buses, start_bus, BusStatus, RunPlan, SerialBus};
use crate::pty::PtyPair;

/// How often the nodes' account is printed.
const REPORT_EVERY: Duration = Duration::from_secs(2);

/// What to run.
#[derive(Debug, Clone)]
pub struct NodesOptions {
    /// The gateway config's text.
    pub config: String,
    /// Which serial link (needed when the config has several).
    pub link: Option<Id>,
    /// An existing serial device for the nodes' end.
    pub port: Option<PathBuf>,
    pub plan: RunPlan,
    pub duration: Option<Duration>,
}

/// The serial link to simulate.
fn chosen_bus(text: &str, link: Option<&Id>) -> anyhow::Result<SerialBus> {
    let mut buses = serial_buses(text)?;
    let index = match link {
        Some(id) => buses
            .iter()
            .position(|b| &b.link == id)
            .with_context(|| format!("the config has no serial link {id}"))?,
        None if buses.len() == 1 => 0,
        None => {
            let ids: Vec<String> = buses.iter().map(|b| b.link.to_string()).collect();
            bail!(
                "the config has {} serial links ({}); choose one with --link",
                ids.len(),
                ids.join(", ")
            );
        }
    };
    Ok(buses.swap_remove(index))
}

/// Runs the nodes until `cancel` fires or the duration passes; their
/// final account.
pub async fn run_nodes(opts: NodesOptions, cancel: CancellationToken) -> anyhow::Result<BusStatus> {
    let bus = chosen_bus(&opts.config, opts.link.as_ref())?;
    let (node_end, _pty) = match &opts.port {
        Some(port) => {
            anyhow::ensure!(port.exists(), "--port {} does not exist", port.display());
            println!("nodes on {} at {} baud", port.display(), bus.baud);
            (port.clone(), None)
        }
        None => {
            if bus.port.starts_with("/dev") {
                bail!(
                    "link {}'s port {} is a device: pass --port with the serial adapter wired \
                     to the gateway, or give the link a port outside /dev (e.g. /tmp/{}) for a \
                     pseudo-terminal to a gateway on this machine",
                    bus.link,
                    bus.port.display(),
                    bus.link
                );
            }
            let pty = PtyPair::with_gateway_end(&bus.port)
                .with_context(|| format!("link {}: pseudo-terminal at its port", bus.link))?;
            println!(
                "pseudo-terminal pair: gateway end {} (link {}'s port), nodes on {}",
                pty.gateway_end.display(),
                bus.link,
                pty.node_end.display()
            );
            (pty.node_end.clone(), Some(pty))
        }
    };
    println!(
        "{} nodes, scenario {} at {}x, seed {}; Ctrl-C to stop",
        bus.nodes.len(),
        opts.plan.scenario,
        opts.plan.speed,
        opts.plan.seed
    );
    let nodes = start_bus(&bus, node_end, opts.plan)?;
    let started = Instant::now();
    let end = opts.duration.map(|d| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.tick().await;
    loop {
        let until_end = crate::duration_arg::sleep_until_end(end);
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = until_end => break,
            _ = tick.tick() => {}
        }
        if nodes.has_ended() {
            break;
        }
        print!(
            "{}",
            render_status(&nodes.status(), started.elapsed().as_secs())
        );
    }
    let status = nodes.stop()?;
    print!("{}", render_status(&status, started.elapsed().as_secs()));
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_BUSES: &str = r#"
        [[link]]
        id = "bus-a"
        type = "serial"
        port = "/dev/ttyA"
        [[link]]
        id = "bus-b"
        type = "serial"
        port = "/dev/ttyB"
        [[device]]
        id = "lift-1"
        kind = "elevator"
        link = "bus-a"
        address = 1
        [[device]]
        id = "drain-1"
        kind = "drainage"
        link = "bus-b"
        address = 1
    "#;

    #[test]
    fn picks_the_named_link_or_asks_for_one() {
        let err = chosen_bus(TWO_BUSES, None).unwrap_err().to_string();
        assert!(err.contains("2 serial links (bus-a, bus-b)"), "{err}");
        let b = chosen_bus(TWO_BUSES, Some(&Id::parse("bus-b").unwrap())).unwrap();
        assert_eq!(b.nodes[0].device.as_str(), "drain-1");
        let missing = chosen_bus(TWO_BUSES, Some(&Id::parse("bus-c").unwrap()));
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("no serial link bus-c"));
    }
}
