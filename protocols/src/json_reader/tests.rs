use super::*;
use alloc::string::ToString;
use alloc::vec::Vec;
use proptest::prelude::*;
use serde_json::Value as Json;

fn skips(text: &str) -> core::result::Result<(), JsonError> {
    let mut r = JsonReader::new(text);
    r.skip()?;
    r.finish()
}

/// Reads any value back into serde_json's tree, through the typed calls.
fn read_value(r: &mut JsonReader<'_>) -> Result<Json> {
    Ok(match r.peek_kind()? {
        JsonKind::Object => {
            let mut map = serde_json::Map::new();
            r.object(|r, key| {
                let value = read_value(r)?;
                map.insert(key.into_owned(), value);
                Ok(())
            })?;
            Json::Object(map)
        }
        JsonKind::Array => {
            let mut items = Vec::new();
            r.array(|r| read_value(r).map(|v| items.push(v)))?;
            Json::Array(items)
        }
        JsonKind::String => Json::String(r.str()?.into_owned()),
        JsonKind::Number => serde_json::Number::from_f64(r.f64()?).map_or(Json::Null, Json::Number),
        JsonKind::Bool => Json::Bool(r.bool()?),
        JsonKind::Null => r.null().map(|()| Json::Null)?,
    })
}

fn read_all(text: &str) -> Result<Json> {
    let mut r = JsonReader::new(text);
    let v = read_value(&mut r)?;
    r.finish().map(|()| v)
}

/// Numbers as f64, so both sides compare alike.
fn as_floats(v: &Json) -> Json {
    match v {
        Json::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Json::Array(a) => Json::Array(a.iter().map(as_floats).collect()),
        Json::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), as_floats(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn reads_members_and_skips_the_rest() {
    let text =
        r#" {"a": {"x": [1, {"y": null}], "z": "\u00e9\n"}, "b" : -12.5e-1, "c":[true,false]} "#;
    let mut seen = Vec::new();
    let mut r = JsonReader::new(text);
    r.object(|r, key| {
        match key.as_ref() {
            "b" => seen.push(r.f64()?.to_string()),
            _ => r.skip()?,
        }
        Ok(())
    })
    .unwrap();
    r.finish().unwrap();
    assert_eq!(seen, ["-1.25"]);
    assert_eq!(
        read_all(text).unwrap(),
        as_floats(&serde_json::from_str(text).unwrap())
    );
}

#[test]
fn strings_borrow_unless_escaped() {
    let mut r =
        JsonReader::new(r#"["plain long enough to span words", "t\"ab\tend", "\ud83d\ude00"]"#);
    let mut got = Vec::new();
    r.array(|r| r.str().map(|s| got.push(s))).unwrap();
    assert!(matches!(
        got[0],
        Cow::Borrowed("plain long enough to span words")
    ));
    assert_eq!(got[1], "t\"ab\tend");
    assert!(matches!(got[1], Cow::Owned(_)));
    assert_eq!(got[2], "\u{1F600}");
}

#[test]
fn refuses_malformed_text_as_syntax() {
    for bad in [
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[1 2]",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "+1",
        "tru",
        "nul",
        "\"abc",
        "\"a\u{1}b\"",
        "\"\\x\"",
        "\"\\u12G4\"",
        "[1]]",
        "{} {}",
        "[\"\\ud800\"",
        "NaN",
        "\"\\",
    ] {
        let e = skips(bad).unwrap_err();
        assert!(e.is_syntax(), "{bad:?}: {e}");
    }
}

#[test]
fn decoded_strings_refuse_lone_surrogates_skipped_ones_pass() {
    for text in [r#""\ud800""#, r#""\udc00x""#, r#""\ud800\u0041""#] {
        assert!(
            JsonReader::new(text).str().unwrap_err().is_syntax(),
            "{text}"
        );
        assert!(skips(text).is_ok(), "{text}");
    }
}

#[test]
fn wrong_kinds_are_value_errors() {
    let mut r = JsonReader::new("\"7\"");
    assert_eq!(
        r.integer::<u32>().unwrap_err(),
        JsonError::Value {
            at: 0,
            field: "",
            problem: "expected a number"
        }
    );
    let e = JsonReader::new(" 1.5").integer::<u32>().unwrap_err();
    assert_eq!(e.in_field("fCnt").to_string(), "fCnt: expected an integer");
    assert!(!JsonReader::new("-1")
        .integer::<u32>()
        .unwrap_err()
        .is_syntax());
    assert!(!JsonReader::new("4294967296")
        .integer::<u32>()
        .unwrap_err()
        .is_syntax());
    assert!(!JsonReader::new("1e400").f64().unwrap_err().is_syntax());
    assert!(!JsonReader::new("[1]")
        .object(|_, _| Ok(()))
        .unwrap_err()
        .is_syntax());
    assert!(JsonReader::new("?").str().unwrap_err().is_syntax());
}

#[test]
fn nesting_is_bounded_without_recursion() {
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    assert!(skips(&deep(MAX_DEPTH)).is_ok());
    assert!(skips(&deep(MAX_DEPTH + 1)).unwrap_err().is_syntax());
    assert!(skips(&"[{\"a\":".repeat(100_000)).is_err());
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Json::from),
        ".*".prop_map(Json::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((".*", inner), 0..6)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// Bytes that matter to the grammar, for mutations.
const SIGNIFICANT: &[u8] = b"{}[]:,\"\\ -+.eE0123456789tfnul\x01\n";

proptest! {
    #[test]
    fn reads_back_what_serde_json_writes(v in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) };
        let text = text.unwrap();
        prop_assert!(skips(&text).is_ok());
        prop_assert_eq!(read_all(&text).unwrap(), as_floats(&v));
    }

    /// Mutated documents: valid exactly when serde_json says so.
    #[test]
    fn judges_validity_like_serde_json(
        v in json_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(SIGNIFICANT)), 1..4),
    ) {
        let mut bytes = serde_json::to_vec(&v).unwrap();
        for (at, op, b) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, b),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ if i < bytes.len() => bytes[i] = b,
                _ => bytes.push(b),
            }
        }
        let Ok(text) = core::str::from_utf8(&bytes) else { return Ok(()) };
        let serde_ok = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
        prop_assert_eq!(skips(text).is_ok(), serde_ok, "{}", text);
    }

    #[test]
    fn numbers_match_serde_json(text in "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?") {
        let ours = JsonReader::new(&text).f64().ok();
        let theirs = serde_json::from_str::<f64>(&text).ok();
        prop_assert_eq!(ours.map(f64::to_bits), theirs.map(f64::to_bits), "{}", text);
    }
}
