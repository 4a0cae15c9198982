//! A strict InfluxDB v2 write front for VictoriaMetrics.
//!
//! VictoriaMetrics (the store that runs here) accepts every write with 204
//! and drops what it cannot parse later, so it never answers 400. InfluxDB
//! 2.x, which cannot run here, rejects a whole batch with 400 when one point
//! conflicts with a field's type. This front reproduces exactly that rule
//! (field types per measurement, first writer wins) and forwards accepted
//! batches unchanged to the real VictoriaMetrics behind it.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use influxdb_line_protocol::{parse_lines, FieldValue};

/// The front, listening on `port`.
pub struct StrictStore {
    pub port: u16,
    pub rejected_batches: Arc<Mutex<usize>>,
}

type Types = Arc<Mutex<HashMap<(String, String), &'static str>>>;

fn kind(v: &FieldValue<'_>) -> &'static str {
    match v {
        FieldValue::I64(_) => "integer",
        FieldValue::U64(_) => "unsigned",
        FieldValue::F64(_) => "float",
        FieldValue::String(_) => "string",
        FieldValue::Boolean(_) => "boolean",
    }
}

/// The first type conflict in `body`, recording the types of the rest
/// only if there is none (a rejected batch writes nothing).
fn conflict(types: &Types, body: &str) -> Option<String> {
    let mut map = types.lock().expect("lock");
    let mut new = Vec::new();
    for line in parse_lines(body) {
        let Ok(line) = line else {
            return Some("unable to parse".into());
        };
        for (key, value) in &line.field_set {
            let k = (line.series.measurement.to_string(), key.to_string());
            let t = kind(value);
            match map.get(&k).or_else(|| new.iter().find(|(n, _)| *n == k).map(|(_, t)| t)) {
                Some(old) if *old != t => {
                    return Some(format!(
                        "partial write: field type conflict: input field \"{}\" on measurement \"{}\" is type {t}, already exists as type {old}",
                        k.1, k.0
                    ))
                }
                Some(_) => {}
                None => new.push((k, t)),
            }
        }
    }
    map.extend(new);
    None
}

impl StrictStore {
    /// Starts the front for the VictoriaMetrics on `vm_port`; `seed` is
    /// line protocol whose field types are taken as already in the store.
    pub fn start(vm_port: u16, seed: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let types: Types = Arc::default();
        assert!(conflict(&types, seed).is_none(), "seed is consistent");
        let rejected = Arc::new(Mutex::new(0));
        let r = rejected.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (types, r) = (types.clone(), r.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, vm_port, &types, &r);
                });
            }
        });
        Self {
            port,
            rejected_batches: rejected,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn serve(
    stream: std::net::TcpStream,
    vm_port: u16,
    types: &Types,
    rejected: &Mutex<usize>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request)? == 0 {
            return Ok(());
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            if h.trim().is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let (status, text) = match conflict(types, &body) {
            Some(reason) => {
                *rejected.lock().expect("lock") += 1;
                (
                    400,
                    format!(
                        "{{\"code\":\"invalid\",\"message\":\"{}\"}}",
                        reason.replace('"', "'")
                    ),
                )
            }
            None => {
                let (s, t) = super::http::post(vm_port, &path, &body)?;
                (s, t)
            }
        };
        let reason = if status == 204 {
            "No Content"
        } else {
            "Bad Request"
        };
        let mut out = stream.try_clone()?;
        write!(out, "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n{text}", text.len())?;
        out.flush()?;
    }
}
