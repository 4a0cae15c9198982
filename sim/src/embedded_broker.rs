//! The demo's own MQTT broker: `rumqttd` as a library, on loopback, on the
//! first free port from 18830 up (so it never clashes with a system broker
//! on 1883). It runs on its own threads for the life of the process; the
//! demo never exposes it beyond 127.0.0.1.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use anyhow::Context;

use retrofit_gateway::broker::BrokerUrl;

/// Ports probed for the embedded broker.
const PORTS: std::ops::Range<u16> = 18830..18930;

fn free_port() -> anyhow::Result<u16> {
    PORTS
        .clone()
        .find(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, *p)).is_ok())
        .with_context(|| format!("no free port in {PORTS:?} for the embedded broker"))
}

fn broker_config(listen: SocketAddr) -> anyhow::Result<rumqttd::Config> {
    let text = format!(
        r#"
        id = 0
        [router]
        id = 0
        max_connections = 1000
        max_outgoing_packet_count = 500
        max_segment_size = 4194304
        max_segment_count = 10

        [v4.1]
        name = "retrofit-sim-broker"
        listen = "{listen}"
        next_connection_delay_ms = 1
        [v4.1.connections]
        connection_timeout_ms = 60000
        max_payload_size = 131072
        max_inflight_count = 500
        dynamic_filters = true
        "#
    );
    Ok(toml::from_str(&text)?)
}

/// Starts the broker on its own thread and returns its URL. rumqttd
/// announces no readiness; its clients wait for CONNACK with a bound.
pub fn start_embedded_broker() -> anyhow::Result<BrokerUrl> {
    let port = free_port()?;
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut broker = rumqttd::Broker::new(broker_config(listen)?);
    std::thread::Builder::new()
        .name("embedded-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })?;
    Ok(BrokerUrl {
        host: Ipv4Addr::LOCALHOST.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_template_is_valid() {
        let config = broker_config("127.0.0.1:18830".parse().unwrap()).unwrap();
        let servers = config.v4.unwrap();
        assert_eq!(servers["1"].listen.port(), 18830);
        assert_eq!(servers["1"].connections.max_payload_size, 131_072);
    }
}
