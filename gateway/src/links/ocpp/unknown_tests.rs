//! Unknown charge points through a real WebSocket and journal: the boot is
//! `Rejected` with the retry interval, other CALLs get `GenericError`, the
//! connection closes, one dead letter names the ID, nothing is recorded as
//! a reading, and the number of such connections is bounded.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value as Json;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::tests::{call, recv, Client, Rig, PASSWORD};
use super::unknown::MAX_UNKNOWN_CONNECTIONS;
use crate::journal::RecordClass;

const BOOT: &str =
    r#"[2,"b","BootNotification",{"chargePointVendor":"Acme","chargePointModel":"X1"}]"#;

/// The dead letters in the journal, as JSON.
fn letters(rig: &Rig) -> Vec<Json> {
    let mut reader = rig.journal.reader("test").unwrap();
    let entries = reader.peek(RecordClass::DeadLetter.lane(), 10_000).unwrap();
    entries
        .iter()
        .filter(|e| e.class == RecordClass::DeadLetter)
        .filter_map(|e| serde_json::from_slice(&e.payload).ok())
        .collect()
}

/// Waits (at most 10 s) until the journal holds `n` dead letters.
async fn letters_when(rig: &Rig, n: usize) -> Vec<Json> {
    for _ in 0..500 {
        let found = letters(rig);
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} dead letters, have {:?}", letters(rig));
}

/// Waits (at most 15 s) until the server closes `ws`.
async fn closed(ws: &mut Client) {
    let end = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    });
    end.await.unwrap();
}

fn rejected(rig: &Rig, reason: &str) -> u64 {
    let key = ("ocpp".to_string(), reason.to_string());
    rig.counters
        .rejected_snapshot()
        .get(&key)
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn an_unknown_boot_is_rejected_then_the_connection_closes() {
    let rig = Rig::start().await;
    let mut ws = rig.connect_as("CP-9", PASSWORD).await.unwrap();
    let beat = call(&mut ws, r#"[2,"h","Heartbeat",{}]"#.into()).await;
    assert_eq!(
        (beat[0].as_u64(), beat[2].as_str()),
        (Some(4), Some("GenericError"))
    );
    let bad = call(&mut ws, r#"[2,"x","BootNotification",{}]"#.into()).await;
    assert_eq!(
        bad[2], "OccurenceConstraintViolation",
        "a bad boot is no boot"
    );
    let boot = call(&mut ws, BOOT.into()).await;
    assert_eq!((boot[0].as_u64(), boot[1].as_str()), (Some(3), Some("b")));
    assert_eq!(boot[2]["status"], "Rejected");
    assert_eq!(boot[2]["interval"], 60, "the link's heartbeat interval");
    assert!(boot[2]["currentTime"].is_string());
    closed(&mut ws).await;

    let found = letters_when(&rig, 1).await;
    assert_eq!(found.len(), 1, "one dead letter per connection: {found:?}");
    assert_eq!(found[0]["reason"], "unknown_device");
    let detail = found[0]["detail"].as_str().unwrap();
    assert!(detail.contains("CP-9") && detail.contains("BootNotification rejected"));
    assert!(detail.contains("2 other CALLs refused"), "{detail}");
    assert_eq!(rejected(&rig, "unknown_device"), 1);
    assert_eq!(rejected(&rig, "unknown_boot"), 1);
    assert!(rig.readings(RecordClass::Telemetry).is_empty());
    assert!(rig.readings(RecordClass::Event).is_empty());
}

#[tokio::test]
async fn unknown_connections_beyond_the_limit_get_503() {
    let rig = Rig::start().await;
    let mut held = Vec::new();
    for i in 0..MAX_UNKNOWN_CONNECTIONS {
        held.push(rig.connect_as(&format!("X-{i}"), "p").await.unwrap());
    }
    match rig.connect_as("X-more", "p").await {
        Err(WsError::Http(r)) => assert_eq!(r.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(rejected(&rig, "unknown_device"), 1, "counted at once");
    // A rejected boot frees its slot.
    let boot = call(&mut held[0], BOOT.into()).await;
    assert_eq!(boot[2]["status"], "Rejected");
    closed(&mut held[0]).await;
    let mut admitted = None;
    for _ in 0..500 {
        if let Ok(ws) = rig.connect_as("X-later", "p").await {
            admitted = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted.is_some(), "a slot came free");
    // The known charge point is never held back by strangers.
    let mut ws = rig.connect().await;
    assert_eq!(
        call(&mut ws, r#"[2,"h","Heartbeat",{}]"#.into()).await[0],
        3
    );
}

#[tokio::test]
async fn hostile_input_from_an_unknown_charge_point_gets_call_errors() {
    let rig = Rig::start().await;
    let mut ws = rig.connect_as("CP-9", PASSWORD).await.unwrap();
    let garbage = call(&mut ws, "not json".into()).await;
    assert_eq!(garbage[2], "FormationViolation");
    ws.send(Message::binary(vec![0u8; 8])).await.unwrap();
    assert_eq!(recv(&mut ws).await[2], "FormationViolation");
    let boot = call(&mut ws, BOOT.into()).await;
    assert_eq!(boot[2]["status"], "Rejected", "the connection survived");
    closed(&mut ws).await;

    let mut big = rig.connect_as("CP-10", PASSWORD).await.unwrap();
    let oversized = format!(
        r#"[2,"b","BootNotification",{{"x":"{}"}}]"#,
        "a".repeat(8192)
    );
    let _ = big.send(Message::text(oversized)).await;
    closed(&mut big).await;
    assert_eq!(letters_when(&rig, 2).await.len(), 2, "one letter each");

    let url = format!("ws://{}/ocpp/CP-11", rig.central.local_addr);
    match tokio_tungstenite::connect_async(url).await {
        Err(WsError::Http(r)) => assert_eq!(r.status(), 400),
        other => panic!("expected 400, got {:?}", other.map(|_| ())),
    }
    assert!(rig.readings(RecordClass::Telemetry).is_empty());
}
