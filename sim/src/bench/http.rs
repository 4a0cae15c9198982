//! A minimal HTTP/1.0 GET over loopback TCP for the bench's own
//! VictoriaMetrics (health, flush, export). Every request is bounded by a
//! timeout; it never talks to anything but 127.0.0.1.

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long one request may take, connection to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// GET `path` on 127.0.0.1:`port`; returns (status, body).
pub async fn get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    tokio::time::timeout(REQUEST_TIMEOUT, exchange(port, path))
        .await
        .with_context(|| format!("GET {path}: no answer within {REQUEST_TIMEOUT:?}"))?
}

async fn exchange(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse_response(&String::from_utf8_lossy(&raw))
}

fn parse_response(text: &str) -> anyhow::Result<(u16, String)> {
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("not an HTTP response")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_status_and_body() {
        let (status, body) = parse_response("HTTP/1.1 204 No Content\r\nA: b\r\n\r\nhi").unwrap();
        assert_eq!((status, body.as_str()), (204, "hi"));
        assert!(parse_response("garbage").is_err());
    }

    #[test]
    fn encodes_a_selector() {
        assert_eq!(encode("{a=~\"b|c\"}"), "%7Ba%3D~%22b%7Cc%22%7D");
    }
}
