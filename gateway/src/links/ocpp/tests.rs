//! The ocpp link through a real WebSocket, the real intake and a real
//! journal in a temp dir: config checks, the `.conf` that follows the
//! commit, CallErrors that leave the connection up, a reconnect that
//! replaces the old connection, and every operator command.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use retrofit_protocols::reading::{Body, Reading};
use retrofit_protocols::{DeviceKind, Id, Source, Timestamp, Value};
use rust_ocpp::v1_6::messages::change_availability::ChangeAvailabilityRequest;
use rust_ocpp::v1_6::messages::remote_start_transaction::RemoteStartTransactionRequest;
use rust_ocpp::v1_6::messages::remote_stop_transaction::RemoteStopTransactionRequest;
use rust_ocpp::v1_6::messages::reset::ResetRequest;
use rust_ocpp::v1_6::messages::trigger_message::TriggerMessageRequest;
use rust_ocpp::v1_6::messages::unlock_connector::UnlockConnectorRequest;
use rust_ocpp::v1_6::types::{
    AvailabilityType, MessageTrigger, RemoteStartStopStatus, ResetRequestStatus, UnlockStatus,
};
use serde_json::{json, Value as Json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::{ChargePointConfig, CommandError, OcppCentral, OcppLinkConfig};
use crate::clock::SeqClock;
use crate::config::Config;
use crate::counters::Counters;
use crate::devices::Device;
use crate::intake::{GatewayIdentity, Intake};
use crate::journal::{Journal, JournalConfig, RecordClass};
use crate::links::subscriber::LinkContext;
use crate::presence::{self, PresenceBook};

pub(super) type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub(super) const CP: &str = "CP-1";
pub(super) const PASSWORD: &str = "s3cret";

pub(super) struct Rig {
    dir: tempfile::TempDir,
    pub(super) journal: Journal,
    pub(super) central: OcppCentral,
    pub(super) counters: Arc<Counters>,
    _stop: tokio_util::sync::DropGuard,
}

fn secret(dir: &std::path::Path) -> crate::config::secret::SecretFile {
    let path = dir.join("cp.pass");
    std::fs::write(&path, format!("{PASSWORD}\n")).unwrap();
    let toml = format!("p = {:?}", path.display().to_string());
    #[derive(serde::Deserialize)]
    struct P {
        p: crate::config::secret::SecretFile,
    }
    toml::from_str::<P>(&toml).unwrap().p
}

impl Rig {
    pub(super) async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), &JournalConfig::default(), &["test"]).unwrap();
        let site = Id::parse("site-a").unwrap();
        let identity = Arc::new(GatewayIdentity {
            site: site.clone(),
            gateway: Id::parse("gw").unwrap(),
            seq: SeqClock::default(),
        });
        let (intake, _writer) = Intake::start(journal.clone(), identity);
        let device = Arc::new(Device {
            id: Id::parse("pile-1").unwrap(),
            kind: DeviceKind::EvCharger,
            link: Id::parse("piles").unwrap(),
            expected_interval_s: 300,
            grace_s: 900,
        });
        let stop = CancellationToken::new();
        let book = PresenceBook::new(
            site.clone(),
            std::slice::from_ref(&device),
            crate::clock::now(),
        );
        let (presence, _) = presence::start(book, intake.clone(), None, stop.clone());
        let cp = ChargePointConfig {
            device,
            connectors: 2,
            password: Some(secret(dir.path())),
        };
        let config = OcppLinkConfig {
            id: Id::parse("piles").unwrap(),
            site,
            listen: "127.0.0.1:0".parse().unwrap(),
            heartbeat_interval_s: 60,
            id_tags: ["TAG-1".to_string()].into(),
            charge_points: [(CP.to_string(), cp)].into(),
            data_dir: dir.path().to_path_buf(),
        };
        let counters = Arc::new(Counters::default());
        let ctx = LinkContext {
            intake,
            link: config.id.clone(),
            source: Source::Ocpp,
            counters: counters.clone(),
            presence,
        };
        let central = OcppCentral::start(Arc::new(config), ctx, stop.clone())
            .await
            .unwrap();
        Self {
            dir,
            journal,
            central,
            counters,
            _stop: stop.drop_guard(),
        }
    }

    pub(super) async fn connect_as(
        &self,
        cp: &str,
        password: &str,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let url = format!("ws://{}/ocpp/{cp}", self.central.local_addr);
        let mut request = url.into_client_request().unwrap();
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{cp}:{password}"),
        );
        let headers = request.headers_mut();
        headers.insert("Sec-WebSocket-Protocol", "ocpp1.6".parse().unwrap());
        headers.insert("Authorization", format!("Basic {auth}").parse().unwrap());
        tokio_tungstenite::connect_async(request)
            .await
            .map(|(ws, _)| ws)
    }

    pub(super) async fn connect(&self) -> Client {
        self.connect_as(CP, PASSWORD).await.unwrap()
    }

    pub(super) fn readings(&self, class: RecordClass) -> Vec<Reading> {
        let mut reader = self.journal.reader("test").unwrap();
        let entries = reader.peek(class.lane(), 10_000).unwrap();
        entries
            .into_iter()
            .filter(|e| e.class == class)
            .filter_map(|e| Reading::from_json(&e.payload).ok())
            .filter(|r| r.source == Source::Ocpp)
            .collect()
    }

    fn dead_letters(&self) -> usize {
        let mut reader = self.journal.reader("test").unwrap();
        let entries = reader.peek(RecordClass::DeadLetter.lane(), 10_000).unwrap();
        entries
            .iter()
            .filter(|e| e.class == RecordClass::DeadLetter)
            .count()
    }
}

pub(super) async fn recv(ws: &mut Client) -> Json {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap();
        if let Message::Text(t) = next.unwrap().unwrap() {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

pub(super) async fn call(ws: &mut Client, text: String) -> Json {
    ws.send(Message::text(text)).await.unwrap();
    recv(ws).await
}

fn metric(r: &Reading, name: &str) -> Option<Value> {
    match &r.body {
        Body::Telemetry(m) => m
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_status_conf_follows_its_commit() {
    let rig = Rig::start().await;
    let mut ws = rig.connect().await;
    let boot = call(
        &mut ws,
        r#"[2,"b1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#.into(),
    )
    .await;
    assert_eq!(boot[0], 3);
    assert_eq!(boot[2]["status"], "Accepted");
    assert_eq!(boot[2]["interval"], 60);
    let status = r#"[2,"s1","StatusNotification",{"connectorId":2,"errorCode":"GroundFailure","status":"Faulted","timestamp":"2026-12-01T10:00:00Z","vendorErrorCode":"E42"}]"#;
    assert_eq!(call(&mut ws, status.into()).await, json!([3, "s1", {}]));
    // The reply came: the reading and the alarm are already in the journal.
    let telemetry = rig.readings(RecordClass::Telemetry);
    assert_eq!(telemetry.len(), 1);
    assert_eq!(telemetry[0].connector, Some(2));
    assert_eq!(telemetry[0].ts, Timestamp::from_millis(1_796_119_200_000));
    assert_eq!(
        metric(&telemetry[0], "status"),
        Some(Value::text("faulted").unwrap())
    );
    assert_eq!(
        metric(&telemetry[0], "error_code"),
        Some(Value::text("ground_failure").unwrap())
    );
    let events = rig.readings(RecordClass::Event);
    let Body::Event(raised) = &events[0].body else {
        panic!()
    };
    assert_eq!(
        (raised.event.as_str(), raised.state.as_str()),
        ("charger_fault", "raised")
    );
    assert!(raised.detail.as_str().contains("E42"));
    let recovered = status
        .replace("s1", "s2")
        .replace("Faulted", "Available")
        .replace("GroundFailure", "NoError");
    assert_eq!(call(&mut ws, recovered).await[0], 3);
    let events = rig.readings(RecordClass::Event);
    let Body::Event(cleared) = &events[1].body else {
        panic!()
    };
    assert_eq!(cleared.state.as_str(), "cleared");
    assert_eq!(cleared.alarm_id, raised.alarm_id);
}

#[tokio::test]
async fn a_session_has_one_transaction_id_and_reports_energy_duration_and_reason() {
    let rig = Rig::start().await;
    let mut ws = rig.connect().await;
    let start = r#"[2,"t1","StartTransaction",{"connectorId":1,"idTag":"TAG-1","meterStart":1000,"timestamp":"2026-12-01T10:00:00Z"}]"#;
    let conf = call(&mut ws, start.into()).await;
    assert_eq!(conf[2]["idTagInfo"]["status"], "Accepted");
    let tx = conf[2]["transactionId"].as_i64().unwrap();
    // The same StartTransaction again (its conf lost) is the same transaction.
    assert_eq!(
        call(&mut ws, start.replace("t1", "t2")).await[2]["transactionId"],
        tx
    );
    let store = super::transactions::TransactionStore::open(rig.dir.path()).unwrap();
    assert_eq!(store.open_on(CP, 1).unwrap(), Some(tx as i32));
    let stop = format!(
        r#"[2,"t3","StopTransaction",{{"transactionId":{tx},"meterStop":8500,"timestamp":"2026-12-01T10:30:00Z","reason":"EVDisconnected"}}]"#
    );
    assert_eq!(call(&mut ws, stop).await[0], 3);
    let events = rig.readings(RecordClass::Event);
    let names: Vec<_> = events
        .iter()
        .filter_map(|r| match &r.body {
            Body::Event(e) => Some((e.event.as_str().to_string(), e.detail.as_str().to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(names[0].0, "session_started");
    assert_eq!(names[2].0, "session_stopped");
    assert!(
        names[2]
            .1
            .contains("7500 Wh in 1800 s, reason ev_disconnected"),
        "{}",
        names[2].1
    );
    let end = rig.readings(RecordClass::Telemetry).pop().unwrap();
    assert_eq!(
        metric(&end, "session_energy_wh"),
        Some(Value::Number(7500.0))
    );
    assert_eq!(metric(&end, "energy_wh"), Some(Value::Number(8500.0)));
}

#[tokio::test]
async fn bad_messages_get_call_errors_and_the_connection_survives() {
    let rig = Rig::start().await;
    let mut ws = rig.connect().await;
    for (text, code) in [
        ("not json", "FormationViolation"),
        (r#"[2,"x1","Teleport",{}]"#, "NotImplemented"),
        (
            r#"[2,"x2","StatusNotification",{"connectorId":1}]"#,
            "OccurenceConstraintViolation",
        ),
        (
            r#"[2,"x3","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]"#,
            "TypeConstraintViolation",
        ),
        (
            r#"[2,"x4","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Asleep"}]"#,
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"x5","StatusNotification",{"connectorId":7,"errorCode":"NoError","status":"Available"}]"#,
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"x6","Authorize",{"idTag":"123456789012345678901"}]"#,
            "PropertyConstraintViolation",
        ),
        (r#"[5,"x7",{}]"#, "ProtocolError"),
    ] {
        let reply = call(&mut ws, text.into()).await;
        assert_eq!(reply[0], 4, "{text}");
        assert_eq!(reply[2], code, "{text}: {reply}");
    }
    // An unexpected CALLRESULT gets no reply; the next CALL still works.
    ws.send(Message::text(r#"[3,"never-sent",{}]"#))
        .await
        .unwrap();
    let beat = call(&mut ws, r#"[2,"h","Heartbeat",{}]"#.into()).await;
    assert_eq!(beat[0], 3);
    assert!(beat[2]["currentTime"].is_string());
    assert_eq!(rig.dead_letters(), 8);
}

#[tokio::test]
async fn wrong_passwords_are_refused_with_401() {
    let rig = Rig::start().await;
    match rig.connect_as(CP, "wrong").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let mut ws = rig.connect().await;
    assert_eq!(
        call(&mut ws, r#"[2,"h","Heartbeat",{}]"#.into()).await[0],
        3
    );
}

#[tokio::test]
async fn a_reconnect_replaces_the_old_connection() {
    let rig = Rig::start().await;
    let mut old = rig.connect().await;
    let mut new = rig.connect().await;
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match old.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    });
    closed.await.unwrap();
    assert_eq!(
        call(&mut new, r#"[2,"h","Heartbeat",{}]"#.into()).await[0],
        3
    );
}

/// Answers the next CALL with `reply` (a CALLRESULT payload) or a CALLERROR.
async fn answer(ws: &mut Client, expect_action: &str, reply: Option<Json>) -> Json {
    let request = recv(ws).await;
    assert_eq!(request[0], 2);
    assert_eq!(request[2], expect_action);
    let id = request[1].clone();
    let text = match reply {
        Some(payload) => json!([3, id, payload]),
        None => json!([4, id, "NotSupported", "no", {}]),
    };
    ws.send(Message::text(text.to_string())).await.unwrap();
    request[3].clone()
}

#[tokio::test]
async fn operator_commands_reach_the_charge_point_and_return_its_answer() {
    let rig = Rig::start().await;
    let commands = rig.central.commands.clone();
    let not_connected = commands
        .reset(
            CP,
            ResetRequest {
                kind: ResetRequestStatus::Soft,
            },
        )
        .await;
    assert!(matches!(not_connected, Err(CommandError::NotConnected(_))));
    let mut ws = rig.connect().await;
    let c = commands.clone();
    let issued = tokio::spawn(async move {
        let start = RemoteStartTransactionRequest {
            connector_id: Some(1),
            id_tag: "TAG-1".into(),
            charging_profile: None,
        };
        let started = c.remote_start(CP, start).await.unwrap();
        let stopped = c
            .remote_stop(CP, RemoteStopTransactionRequest { transaction_id: 5 })
            .await
            .unwrap();
        let reset = c
            .reset(
                CP,
                ResetRequest {
                    kind: ResetRequestStatus::Hard,
                },
            )
            .await;
        let availability = ChangeAvailabilityRequest {
            connector_id: 0,
            kind: AvailabilityType::Inoperative,
        };
        let changed = c.change_availability(CP, availability).await.unwrap();
        let unlocked = c
            .unlock_connector(CP, UnlockConnectorRequest { connector_id: 2 })
            .await
            .unwrap();
        let trigger = TriggerMessageRequest {
            requested_message: MessageTrigger::StatusNotification,
            connector_id: Some(1),
        };
        let triggered = c.trigger_message(CP, trigger).await.unwrap();
        (started, stopped, reset, changed, unlocked, triggered)
    });
    let start = answer(
        &mut ws,
        "RemoteStartTransaction",
        Some(json!({"status":"Accepted"})),
    )
    .await;
    assert_eq!(start, json!({"connectorId":1,"idTag":"TAG-1"}));
    let stop = answer(
        &mut ws,
        "RemoteStopTransaction",
        Some(json!({"status":"Rejected"})),
    )
    .await;
    assert_eq!(stop, json!({"transactionId":5}));
    assert_eq!(answer(&mut ws, "Reset", None).await, json!({"type":"Hard"}));
    let availability = answer(
        &mut ws,
        "ChangeAvailability",
        Some(json!({"status":"Scheduled"})),
    )
    .await;
    assert_eq!(availability, json!({"connectorId":0,"type":"Inoperative"}));
    answer(
        &mut ws,
        "UnlockConnector",
        Some(json!({"status":"Unlocked"})),
    )
    .await;
    let trigger = answer(
        &mut ws,
        "TriggerMessage",
        Some(json!({"status":"Accepted"})),
    )
    .await;
    assert_eq!(trigger["requestedMessage"], "StatusNotification");
    let (started, stopped, reset, changed, unlocked, triggered) = issued.await.unwrap();
    assert_eq!(started.status, RemoteStartStopStatus::Accepted);
    assert_eq!(stopped.status, RemoteStartStopStatus::Rejected);
    assert!(matches!(reset, Err(CommandError::Refused(e)) if e.code == "NotSupported"));
    assert_eq!(serde_json::to_value(changed.status).unwrap(), "Scheduled");
    assert_eq!(unlocked.status, UnlockStatus::Unlocked);
    assert_eq!(serde_json::to_value(triggered.status).unwrap(), "Accepted");
}

fn config_errors(extra: &str) -> String {
    let base = r#"
[gateway]
id = "gw"
site = "site-a"
data_dir = "/tmp/x"
[mqtt]
url = "mqtt://127.0.0.1:1883"
"#;
    match Config::parse(&format!("{base}{extra}"), "t.toml") {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn config_problems_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("p");
    std::fs::write(&pass, "pw").unwrap();
    let pass = pass.display().to_string();
    let device = |extra: &str| {
        format!("[[device]]\nid = \"pile-1\"\nkind = \"ev_charger\"\nlink = \"piles\"\n{extra}\n")
    };
    let link = "[[link]]\nid = \"piles\"\ntype = \"ocpp\"\nlisten = \"127.0.0.1:8180\"\n";
    let good = device(&format!(
        "charge_point_id = \"CP-1\"\nconnectors = 2\npassword_file = {pass:?}"
    ));
    assert_eq!(
        config_errors(&format!("{link}id_tags = [\"A\"]\n{good}")),
        ""
    );
    let open = device("charge_point_id = \"CP-1\"\nconnectors = 1");
    let unauthenticated = config_errors(&format!("{link}{open}"));
    assert_eq!(unauthenticated, "", "password_file is optional");
    for (text, expect) in [
        (
            format!("[[link]]\nid = \"piles\"\ntype = \"ocpp\"\n{good}"),
            "needs listen",
        ),
        (
            format!("{}{good}", link.replace("127.0.0.1:8180", "nowhere")),
            "listen must be IP:PORT",
        ),
        (
            format!("{link}heartbeat_interval_s = 0\n{good}"),
            "heartbeat_interval_s must be",
        ),
        (format!("{link}id_tags = [\"\"]\n{good}"), "each id tag"),
        (
            format!("{link}port = \"/dev/x\"\n{good}"),
            "key port does not apply",
        ),
        (
            format!("{link}{}", good.replace("connectors = 2", "connectors = 0")),
            "connectors must be between",
        ),
        (
            format!("{link}{}", good.replace("connectors = 2\n", "")),
            "needs connectors",
        ),
        (
            format!("{link}{}", good.replace("CP-1", "CP 1")),
            "charge_point_id must be",
        ),
        (
            format!("{link}{}", good.replace("ev_charger", "parking")),
            "must be of kind ev_charger",
        ),
        (
            format!("{link}{}", device("connectors = 1")),
            "needs charge_point_id",
        ),
        (
            format!(
                "{link}{}",
                good.replace("connectors = 2", "connectors = 2\naddress = 3")
            ),
            "key address does not apply",
        ),
        (
            format!("{link}{}", good.replace(&pass, "/nonexistent/p")),
            "cannot read secret file",
        ),
    ] {
        let e = config_errors(&text);
        assert!(e.contains(expect), "{expect}: {e}");
        assert!(e.starts_with("t.toml:"), "{e}");
    }
}

#[test]
fn ocpp_enum_values_become_snake_case() {
    use rust_ocpp::v1_6::types::{ChargePointErrorCode, ChargePointStatus};
    assert_eq!(
        super::session::snake(&ChargePointStatus::SuspendedEVSE),
        "suspended_evse"
    );
    assert_eq!(
        super::session::snake(&ChargePointStatus::SuspendedEV),
        "suspended_ev"
    );
    assert_eq!(
        super::session::snake(&ChargePointErrorCode::EVCommunicationError),
        "ev_communication_error"
    );
    assert_eq!(
        super::session::snake(&ChargePointErrorCode::NoError),
        "no_error"
    );
    assert_eq!(
        super::session::snake(&rust_ocpp::v1_6::types::Reason::EVDisconnected),
        "ev_disconnected"
    );
}

#[tokio::test]
async fn an_oversized_message_is_refused_and_the_connection_survives() {
    let rig = Rig::start().await;
    let mut ws = rig.connect().await;
    let padding = "x".repeat(70 * 1024);
    let big = format!(r#"[2,"big","DataTransfer",{{"vendorId":"V","data":"{padding}"}}]"#);
    let reply = call(&mut ws, big).await;
    assert_eq!(
        (reply[0].as_i64(), reply[2].as_str()),
        (Some(4), Some("FormationViolation"))
    );
    let beat = call(&mut ws, r#"[2,"h","Heartbeat",{}]"#.into()).await;
    assert_eq!(beat[0], 3);
    // The dead letter is committed on its own; wait for it (bounded).
    let mut reader = rig.journal.reader("test").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let letters = loop {
        let letters = reader.peek(RecordClass::DeadLetter.lane(), 10).unwrap();
        if !letters.is_empty() || std::time::Instant::now() > deadline {
            break letters;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let letter: Json = serde_json::from_slice(&letters[0].payload).unwrap();
    assert_eq!(letter["reason"], "oversized", "{letter}");
}
