//! Property tests of the limits a submitted body is read under (`entry::submission`) and of
//! the envelope's timestamp form.

use fairshare::crypto::SecretKey;
use fairshare::entry::SignedEntry;
use fairshare::entry::envelope::sign_envelope;
use fairshare::entry::submission::{BodyError, Limits, Submission, read};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// JSON objects of up to 6 levels with short keys (never `entries`).
fn json_object() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(5, 96, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-d]{0,2}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map("[a-d]{1,2}", tree, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// Every value in `v`, `v` included.
fn count_values(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count_values).sum(),
        Value::Object(map) => map.values().map(count_values).sum(),
        _ => 0,
    }
}

/// Levels of objects and arrays: a scalar is 0, `{}` is 1.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn limits(max_entries: usize, max_depth: usize, max_values: usize) -> Limits {
    Limits {
        max_entries,
        max_depth,
        max_values,
    }
}

/// `v` as JSON text with the first key of its `target`-th non-empty object (in document
/// order) written twice, and the path of that key; `None` when `v` has fewer such objects.
fn with_repeated_key(v: &Value, target: usize) -> Option<(String, String)> {
    fn write(
        v: &Value,
        path: &str,
        seen: &mut usize,
        target: usize,
        out: &mut String,
        found: &mut Option<String>,
    ) {
        match v {
            Value::Object(map) => {
                let repeat = !map.is_empty() && *seen == target;
                if !map.is_empty() {
                    *seen += 1;
                }
                out.push('{');
                for (i, (key, value)) in map.iter().enumerate() {
                    let inner = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&format!("{}:", Value::from(key.as_str())));
                    write(value, &inner, seen, target, out, found);
                    if repeat && i == 0 {
                        out.push_str(&format!(",{}:null", Value::from(key.as_str())));
                        *found = Some(inner);
                    }
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, &format!("{path}[{i}]"), seen, target, out, found);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let (mut out, mut found, mut seen) = (String::new(), None, 0);
    write(v, "", &mut seen, target, &mut out, &mut found);
    found.map(|path| (out, path))
}

fn envelope_at(ts: &str) -> Value {
    let key = SecretKey::from_seed(&[7; 32]);
    let envelope = json!({"v": 3, "type": "contribution", "actor": "alice",
        "key": key.public_key().key_id().to_string(), "nonce": "n-0000001", "ts": ts,
        "body": {"project": "novel", "kind": "draft", "measure": {"quantity": "1", "unit": "pages"},
                 "evidence": format!("commit:{}", "11".repeat(32))}});
    sign_envelope(&envelope, &key, &[]).expect("signs")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// An entry within the limits reads exactly as serde_json reads it; past the depth or
    /// the value count it is refused, and only then, naming the limit it broke.
    #[test]
    fn an_entry_is_read_whole_or_refused_by_the_limit_it_breaks(
        v in json_object(),
        max_depth in 1..8usize,
        max_values in 1..48usize,
    ) {
        let body = serde_json::to_vec(&v).expect("json");
        let (levels, values) = (depth(&v), count_values(&v));
        match read(&body, &limits(10, max_depth, max_values), |entry| entry) {
            Ok(Submission::Single(entry)) => {
                prop_assert!(levels <= max_depth && values <= max_values);
                prop_assert_eq!(entry, v);
            }
            Err(BodyError::TooDeep { max, .. }) => {
                prop_assert_eq!(max, max_depth);
                prop_assert!(levels > max_depth);
            }
            Err(BodyError::TooManyValues { max, .. }) => {
                prop_assert_eq!(max, max_values);
                prop_assert!(values > max_values);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// A batch's entries are counted as they come: up to the limit each is handed over in
    /// order, one more is refused however the body goes on.
    #[test]
    fn a_batch_is_counted_while_it_is_read(count in 0..40usize, max in 1..20usize, tail in ".{0,16}") {
        let entries: Vec<Value> = (0..count).map(|i| json!({"i": i})).collect();
        let body = serde_json::to_vec(&json!({"entries": entries})).expect("json");
        let got = read(&body, &limits(max, 16, 4096), |entry| entry);
        match count {
            0 => prop_assert_eq!(got, Err(BodyError::NoEntries { max })),
            n if n <= max => prop_assert_eq!(got, Ok(Submission::Batch(entries))),
            _ => prop_assert_eq!(got, Err(BodyError::TooManyEntries { max })),
        }
        // Past the limit, the rest is never read: it need not even be JSON.
        let mut cut = br#"{"entries":["#.to_vec();
        cut.extend(std::iter::repeat_n(&b"{},"[..], max + 1).flatten());
        cut.extend_from_slice(tail.as_bytes());
        prop_assert_eq!(
            read(&cut, &limits(max, 16, 4096), |entry| entry),
            Err(BodyError::TooManyEntries { max })
        );
    }

    /// A member name twice in one object is refused wherever the object is, with the path
    /// of the repeated name, in a single entry and inside a batch.
    #[test]
    fn a_repeated_name_is_refused_with_its_path(v in json_object(), target in 0..8usize) {
        if let Some((text, path)) = with_repeated_key(&v, target) {
            prop_assert_eq!(
                read(text.as_bytes(), &Limits::with_batch(10), |entry| entry),
                Err(BodyError::DuplicateKey { path: path.clone() })
            );
            let batch = format!(r#"{{"entries":[{{}},{text}]}}"#);
            prop_assert_eq!(
                read(batch.as_bytes(), &Limits::with_batch(10), |entry| entry),
                Err(BodyError::DuplicateKey { path: format!("entries[1].{path}") })
            );
        }
    }

    /// `ts` is accepted exactly with seconds 00 to 59 and at most 9 fractional digits.
    #[test]
    fn timestamps_have_real_seconds_and_at_most_nanoseconds(second in 0..=61u32, digits in 0..=30usize) {
        let fraction = if digits == 0 { String::new() } else { format!(".{}", "1".repeat(digits)) };
        let ts = format!("2026-12-07T12:34:{second:02}{fraction}Z");
        let parsed = SignedEntry::parse(&envelope_at(&ts));
        prop_assert_eq!(parsed.is_ok(), second <= 59 && digits <= 9, "{}: {:?}", ts, parsed.err());
    }
}

#[test]
fn a_batch_wrapper_has_only_entries() {
    let limits = Limits::with_batch(10);
    for (body, path) in [
        (r#"{"entries":[{}],"note":1}"#, "note"),
        (r#"{"note":1,"entries":[{}]}"#, "note"),
        (r#"{"entries":[{}],"entries":[{}]}"#, "entries"),
    ] {
        let got = read(body.as_bytes(), &limits, |entry| entry);
        let expected = if path == "entries" {
            BodyError::DuplicateKey { path: path.into() }
        } else {
            BodyError::WrapperField { path: path.into() }
        };
        assert_eq!(got, Err(expected), "{body}");
    }
    let long = format!(r#"{{"{}":1,"{}":2}}"#, "k".repeat(100), "k".repeat(100));
    assert_eq!(
        read(long.as_bytes(), &limits, |entry| entry),
        Err(BodyError::DuplicateKey {
            path: format!("{}…", "k".repeat(64))
        })
    );
    let not_object: Map<String, Value> = Map::new();
    assert_eq!(
        read(b"{}", &limits, |entry| entry),
        Ok(Submission::Single(Value::Object(not_object)))
    );
    assert!(matches!(
        read(b"[1]", &limits, |entry| entry),
        Err(BodyError::NotJson(_))
    ));
}
