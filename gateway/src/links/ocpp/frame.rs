//! OCPP-J framing (OCPP 1.6 JSON, §4): `[2, id, action, payload]` CALL,
//! `[3, id, payload]` CALLRESULT, `[4, id, code, description, details]`
//! CALLERROR, and the CallError codes.
//!
//! Parsing validates the envelope only; payloads are decoded by the
//! handlers. This module never panics on input: anything that is not a
//! well-formed message becomes a [`CallError`] to send back.

use serde_json::{json, Value};

/// Longest message ID (OCPP-J: at most 36 characters).
pub const MAX_MESSAGE_ID_LEN: usize = 36;
/// The ID used in a CALLERROR when the input had no usable ID.
const UNKNOWN_ID: &str = "-1";

/// The OCPP-J 1.6 CallError codes (the spec's spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    NotImplemented,
    NotSupported,
    InternalError,
    ProtocolError,
    SecurityError,
    FormationViolation,
    PropertyConstraintViolation,
    OccurenceConstraintViolation,
    TypeConstraintViolation,
    GenericError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotImplemented => "NotImplemented",
            Self::NotSupported => "NotSupported",
            Self::InternalError => "InternalError",
            Self::ProtocolError => "ProtocolError",
            Self::SecurityError => "SecurityError",
            Self::FormationViolation => "FormationViolation",
            Self::PropertyConstraintViolation => "PropertyConstraintViolation",
            Self::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            Self::TypeConstraintViolation => "TypeConstraintViolation",
            Self::GenericError => "GenericError",
        }
    }
}

/// A CALLERROR to send (or one received).
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub id: String,
    pub code: String,
    pub description: String,
}

impl CallError {
    pub fn new(id: &str, code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            code: code.as_str().to_string(),
            description: description.into(),
        }
    }

    /// The CALLERROR for a payload serde refused: a missing field is an
    /// occurrence violation, a wrong JSON type a type violation, a value
    /// outside an enum a property violation.
    pub fn from_payload(id: &str, action: &str, e: &serde_json::Error) -> Self {
        let text = e.to_string();
        let code = if text.starts_with("missing field") {
            ErrorCode::OccurenceConstraintViolation
        } else if text.starts_with("invalid type") {
            ErrorCode::TypeConstraintViolation
        } else if text.starts_with("unknown variant") || text.starts_with("invalid value") {
            ErrorCode::PropertyConstraintViolation
        } else {
            ErrorCode::FormationViolation
        };
        Self::new(id, code, format!("{action}: {text}"))
    }

    pub fn to_text(&self) -> String {
        // Descriptions are bounded so the reply stays small.
        let description: String = self.description.chars().take(255).collect();
        json!([4, self.id, self.code, description, {}]).to_string()
    }
}

/// One OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    CallResult {
        id: String,
        payload: Value,
    },
    CallError(CallError),
}

/// The text of a CALL.
pub fn call_text(id: &str, action: &str, payload: &Value) -> String {
    json!([2, id, action, payload]).to_string()
}

/// The text of a CALLRESULT.
pub fn result_text(id: &str, payload: &Value) -> String {
    json!([3, id, payload]).to_string()
}

/// Parses one message. A message that cannot be understood is the
/// CALLERROR to reply with; its ID is the message's when it had one.
pub fn parse(text: &str) -> Result<Frame, CallError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        CallError::new(
            UNKNOWN_ID,
            ErrorCode::FormationViolation,
            format!("not JSON: {e}"),
        )
    })?;
    let Value::Array(items) = value else {
        return Err(CallError::new(
            UNKNOWN_ID,
            ErrorCode::FormationViolation,
            "a message is a JSON array",
        ));
    };
    let id = message_id(&items)?;
    let violation = |what: &str| CallError::new(&id, ErrorCode::FormationViolation, what);
    match (items.first().and_then(Value::as_u64), items.len()) {
        (Some(2), 4) => {
            let action = items[2]
                .as_str()
                .filter(|a| !a.is_empty() && a.len() <= 64)
                .ok_or_else(|| violation("the action must be a short string"))?;
            Ok(Frame::Call {
                id: id.clone(),
                action: action.to_string(),
                payload: payload(&items[3])
                    .ok_or_else(|| violation("the payload must be an object"))?,
            })
        }
        (Some(3), 3) => Ok(Frame::CallResult {
            payload: payload(&items[2])
                .ok_or_else(|| violation("the payload must be an object"))?,
            id,
        }),
        (Some(4), 4 | 5) => Ok(Frame::CallError(CallError {
            code: text_at(&items, 2),
            description: text_at(&items, 3),
            id,
        })),
        (Some(2..=4), _) => Err(violation("wrong number of elements for the message type")),
        _ => Err(CallError::new(
            &id,
            ErrorCode::ProtocolError,
            "unknown message type (2, 3 or 4)",
        )),
    }
}

/// The message ID: a string of at most 36 characters.
fn message_id(items: &[Value]) -> Result<String, CallError> {
    match items.get(1) {
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_MESSAGE_ID_LEN => {
            Ok(id.clone())
        }
        Some(Value::String(_)) => Err(CallError::new(
            UNKNOWN_ID,
            ErrorCode::FormationViolation,
            format!("the message ID must be 1 to {MAX_MESSAGE_ID_LEN} characters"),
        )),
        _ => Err(CallError::new(
            UNKNOWN_ID,
            ErrorCode::FormationViolation,
            "the message ID must be a string",
        )),
    }
}

fn payload(v: &Value) -> Option<Value> {
    v.is_object().then(|| v.clone())
}

fn text_at(items: &[Value], i: usize) -> String {
    items
        .get(i)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(255)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> String {
        parse(text).unwrap_err().code
    }

    #[test]
    fn parses_the_three_message_types() {
        let call = parse(r#"[2,"a1","Heartbeat",{}]"#).unwrap();
        assert_eq!(
            call,
            Frame::Call {
                id: "a1".into(),
                action: "Heartbeat".into(),
                payload: json!({})
            }
        );
        let result = parse(r#"[3,"x",{"status":"Accepted"}]"#).unwrap();
        assert!(matches!(result, Frame::CallResult { id, .. } if id == "x"));
        let error = parse(r#"[4,"y","NotSupported","no",{}]"#).unwrap();
        assert!(matches!(error, Frame::CallError(e) if e.code == "NotSupported"));
    }

    #[test]
    fn hostile_envelopes_become_call_errors() {
        for text in [
            "",
            "{",
            "null",
            "{}",
            "\"x\"",
            "[]",
            "[2]",
            "[2,1,\"A\",{}]",
            "[2,null]",
        ] {
            assert_eq!(code_of(text), "FormationViolation", "{text:?}");
        }
        let long_id = format!(r#"[2,"{}","Heartbeat",{{}}]"#, "i".repeat(37));
        assert_eq!(code_of(&long_id), "FormationViolation");
        assert_eq!(code_of(r#"[9,"a",{}]"#), "ProtocolError");
        assert_eq!(code_of(r#"["2","a","Heartbeat",{}]"#), "ProtocolError");
        let bad_payload = parse(r#"[2,"k","Heartbeat",[]]"#).unwrap_err();
        assert_eq!(
            (bad_payload.id.as_str(), bad_payload.code.as_str()),
            ("k", "FormationViolation")
        );
        assert_eq!(code_of(r#"[2,"k","Heartbeat",{},1]"#), "FormationViolation");
        assert_eq!(code_of(r#"[2,"k",7,{}]"#), "FormationViolation");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(code_of(&deep), "FormationViolation");
    }

    #[test]
    fn replies_are_ocpp_j_arrays() {
        assert_eq!(result_text("a", &json!({})), r#"[3,"a",{}]"#);
        let e = CallError::new("a", ErrorCode::NotImplemented, "x\"y");
        assert_eq!(e.to_text(), r#"[4,"a","NotImplemented","x\"y",{}]"#);
    }
}
