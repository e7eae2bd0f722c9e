//! The signed envelope: `{ v, type, actor, key, nonce, ts, body }`, its signing message and
//! the leaf bytes the log stores and hashes (PROTOCOL.md gives the exact bytes).

use super::body::{Body, EntryType};
use super::fields::Fields;
use super::ids::{ActorId, EntryId, Nonce, Slug};
use super::{EntryError, Rejection};
use crate::crypto::{CryptoError, KeyId, SecretKey, Signature, canonical};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Domain prefix of every entry signature, so a signature over an entry can never be
/// replayed as a signature over anything else the keys sign.
pub const SIGNING_PREFIX: &[u8] = b"fairshare/entry/v1\n";

/// The protocol version every envelope states (`"v"`), and the one the verifier checks:
/// v2 added projects with owners and attested registrations (PROTOCOL.md).
pub const PROTOCOL_VERSION: u64 = 3;

/// `"fairshare/entry/v1\n" || JCS(envelope)`, from the envelope's canonical bytes: what the
/// signature and co-signatures sign.
fn signing_message_of(canonical_envelope: &[u8]) -> Vec<u8> {
    [SIGNING_PREFIX, canonical_envelope].concat()
}

/// Largest integer JSON number allowed anywhere in an envelope: beyond 2^53 canonical JSON
/// implementations disagree, so amounts and quantities travel as decimal strings.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub entry_type: EntryType,
    pub actor: ActorId,
    pub key: KeyId,
    pub nonce: Nonce,
    pub ts: DateTime<Utc>,
    pub body: Body,
}

impl Envelope {
    /// The JSON of an envelope before it is signed, `{ v: 2, type, actor, key, nonce, ts,
    /// body }`: how the server, the command line and the demo make entries. Nothing is
    /// validated here; signing and [`SignedEntry::parse`] do that.
    pub fn unsigned(
        entry_type: EntryType,
        actor: &str,
        key: KeyId,
        nonce: &str,
        ts: &str,
        body: Value,
    ) -> Value {
        json!({
            "v": PROTOCOL_VERSION, "type": entry_type.as_str(), "actor": actor, "key": key.to_string(),
            "nonce": nonce, "ts": ts, "body": body,
        })
    }
}

/// A further signature over the same signing message, by another actor (an ai actor's
/// operator) or by a key being added (proof of possession).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    pub actor: ActorId,
    pub key: KeyId,
    pub signature: Signature,
}

/// An entry as submitted: the validated envelope plus the exact JSON it was signed as.
#[derive(Debug, Clone)]
pub struct SignedEntry {
    pub envelope: Envelope,
    envelope_json: Value,
    canonical_envelope: Vec<u8>,
    pub signature: Signature,
    pub cosignatures: Vec<Cosignature>,
}

impl SignedEntry {
    /// Stateless validation of `{ "envelope", "signature", "cosignatures"? }`. Signatures are
    /// decoded but not verified here: which key verifies them depends on the ledger's state.
    pub fn parse(value: &Value) -> Result<Self, EntryError> {
        Self::parse_owned(value.clone())
    }

    /// [`SignedEntry::parse`] of a value the caller gives up: the envelope is kept without
    /// a copy (a submitted batch's entries are read this way, one at a time).
    pub fn parse_owned(mut value: Value) -> Result<Self, EntryError> {
        let envelope_json = value.get_mut("envelope").map(Value::take);
        let f = Fields::new(&value, "", &["envelope", "signature", "cosignatures"])?;
        let envelope_json = envelope_json
            .ok_or_else(|| EntryError::malformed("envelope", "required field is missing"))?;
        let (envelope, canonical_envelope) = Self::validate(&envelope_json)?;
        let signature = f.parse("signature", |s| {
            Signature::from_base64(s).map_err(|e| e.to_string())
        })?;
        let cosignatures = if f.has("cosignatures") {
            f.array("cosignatures")?
                .iter()
                .enumerate()
                .map(|(i, c)| parse_cosignature(c, &format!("cosignatures[{i}]")))
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            envelope,
            envelope_json,
            canonical_envelope,
            signature,
            cosignatures,
        })
    }

    /// The entry `key` signs over `envelope_json`, validated as [`SignedEntry::parse`]
    /// would: how the server makes its own entries. An allocation envelope is megabytes,
    /// so it is taken by value and canonicalized once (`sign_envelope` then `parse`
    /// would copy it twice and canonicalize it twice).
    pub fn sign(envelope_json: Value, key: &SecretKey) -> Result<Self, EntryError> {
        let (envelope, canonical_envelope) = Self::validate(&envelope_json)?;
        let signature = key.sign(&signing_message_of(&canonical_envelope));
        Ok(Self {
            envelope,
            envelope_json,
            canonical_envelope,
            signature,
            cosignatures: Vec::new(),
        })
    }

    /// The parsed envelope and its canonical bytes.
    fn validate(envelope_json: &Value) -> Result<(Envelope, Vec<u8>), EntryError> {
        check_numbers(envelope_json, "envelope")?;
        let envelope = parse_envelope(envelope_json)?;
        let canonical_envelope = canonical::to_vec(envelope_json)
            .map_err(|e| EntryError::malformed("envelope", e.to_string()))?;
        Ok((envelope, canonical_envelope))
    }

    /// The envelope's `body` as signed (for records kept whole, such as an allocation's
    /// outcome).
    pub fn body_json(&self) -> &Value {
        &self.envelope_json["body"]
    }

    /// Reads a stored leaf back into its entry and `received_at` (no canonical-form check:
    /// the offline verifier does that).
    pub fn from_leaf(leaf: &[u8]) -> Result<(Self, String), String> {
        let mut value: Value =
            serde_json::from_slice(leaf).map_err(|e| format!("not JSON: {e}"))?;
        let received_at = value
            .as_object_mut()
            .and_then(|object| object.remove("received_at"))
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or("no received_at")?;
        Ok((
            Self::parse_owned(value).map_err(|e| e.to_string())?,
            received_at,
        ))
    }

    /// `ts` must lie within `skew` of the server clock `now`.
    pub fn check_timestamp(
        &self,
        now: DateTime<Utc>,
        skew: chrono::Duration,
    ) -> Result<(), EntryError> {
        let drift = self.envelope.ts.signed_duration_since(now);
        if drift > skew || drift < -skew {
            return Err(EntryError::new(
                Rejection::Timestamp,
                "envelope.ts",
                format!(
                    "{} is {} s from the server clock ({}); the limit is {} s",
                    format_timestamp(self.envelope.ts),
                    drift.num_seconds(),
                    format_timestamp(now),
                    skew.num_seconds()
                ),
            ));
        }
        Ok(())
    }

    /// `"fairshare/entry/v1\n" || JCS(envelope)`: what the signature and co-signatures sign.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message_of(&self.canonical_envelope)
    }

    pub fn canonical_envelope(&self) -> &[u8] {
        &self.canonical_envelope
    }

    /// The leaf bytes: JCS of `{ envelope, signature, cosignatures (when any), received_at }`.
    ///
    /// Assembled from canonical parts instead of canonicalizing the whole object again (this
    /// runs under the append lock): JCS writes members sorted by key ("cosignatures" <
    /// "envelope" < "received_at" < "signature"), each value in its own canonical form.
    pub fn leaf_bytes(&self, received_at: &str) -> Vec<u8> {
        let quoted = |text: &str| canonical::to_vec(&Value::from(text)).unwrap_or_default();
        let mut leaf = Vec::with_capacity(self.canonical_envelope.len() + 256);
        leaf.push(b'{');
        if !self.cosignatures.is_empty() {
            leaf.extend_from_slice(b"\"cosignatures\":");
            leaf.extend(canonical::to_vec(&self.cosignatures_json()).unwrap_or_default());
            leaf.push(b',');
        }
        leaf.extend_from_slice(b"\"envelope\":");
        leaf.extend_from_slice(&self.canonical_envelope);
        leaf.extend_from_slice(b",\"received_at\":");
        leaf.extend(quoted(received_at));
        leaf.extend_from_slice(b",\"signature\":");
        leaf.extend(quoted(&self.signature.to_base64()));
        leaf.push(b'}');
        leaf
    }

    /// The entry as clients submit it.
    pub fn to_json(&self) -> Value {
        let mut value =
            json!({"envelope": self.envelope_json, "signature": self.signature.to_base64()});
        if !self.cosignatures.is_empty() {
            value["cosignatures"] = self.cosignatures_json();
        }
        value
    }

    fn cosignatures_json(&self) -> Value {
        self.cosignatures
            .iter()
            .map(|c| json!({"actor": c.actor.as_str(), "key": c.key.to_string(), "signature": c.signature.to_base64()}))
            .collect()
    }

    /// Whether `leaf` (bytes the log stored) holds this same envelope and signature: a
    /// resubmission, answered with the original receipt.
    pub fn matches_leaf(&self, leaf: &[u8]) -> bool {
        let Ok(stored) = serde_json::from_slice::<Value>(leaf) else {
            return false;
        };
        let same_signature =
            stored["signature"].as_str() == Some(self.signature.to_base64().as_str());
        same_signature
            && canonical::to_vec(&stored["envelope"]).is_ok_and(|c| c == self.canonical_envelope)
    }

    /// Whether `other` is the same signed entry (same envelope bytes and signature).
    pub fn same_signed_content(&self, other: &SignedEntry) -> bool {
        self.canonical_envelope == other.canonical_envelope && self.signature == other.signature
    }

    /// Every `EntryId` the body names (`builds_on`, an endorsed contribution, an allocated
    /// value, a disputed entry, a ruled dispute, the entries an erasure names).
    pub fn referenced_entries(&self) -> Vec<EntryId> {
        match &self.envelope.body {
            Body::Contribution(c) => c.builds_on.clone(),
            Body::Endorsement(e) => vec![e.contribution],
            Body::Allocation(a) => vec![a.value_entry],
            Body::Dispute(d) => vec![d.target],
            Body::Ruling(r) => vec![r.dispute],
            Body::Erasure(e) => e.erased.iter().map(|f| f.entry).collect(),
            _ => Vec::new(),
        }
    }
}

/// Signs `envelope` (a JSON object) with `key`, then adds co-signatures: the client side of
/// the protocol, used by `fairshare sign` and by tests.
pub fn sign_envelope(
    envelope: &Value,
    key: &SecretKey,
    cosigners: &[(ActorId, &SecretKey)],
) -> Result<Value, CryptoError> {
    let message = signing_message_of(&canonical::to_vec(envelope)?);
    let mut entry = json!({"envelope": envelope, "signature": key.sign(&message).to_base64()});
    if !cosigners.is_empty() {
        entry["cosignatures"] = cosigners
            .iter()
            .map(|(actor, k)| {
                json!({"actor": actor.as_str(), "key": k.public_key().key_id().to_string(),
                       "signature": k.sign(&message).to_base64()})
            })
            .collect();
    }
    Ok(entry)
}

/// RFC 3339 UTC with microseconds, the one timestamp form the server writes.
pub fn format_timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_envelope(value: &Value) -> Result<Envelope, EntryError> {
    let f = Fields::new(
        value,
        "envelope",
        &["v", "type", "actor", "key", "nonce", "ts", "body"],
    )?;
    if f.value("v")?.as_u64() != Some(PROTOCOL_VERSION) {
        return Err(EntryError::malformed(
            "envelope.v",
            format!(
                "must be the number {PROTOCOL_VERSION}: this is protocol v{PROTOCOL_VERSION} (personal data as salted commitments); entries of earlier versions are refused"
            ),
        ));
    }
    let entry_type = f.parse("type", EntryType::parse)?;
    Ok(Envelope {
        entry_type,
        actor: f.parse("actor", Slug::parse)?,
        key: f.parse("key", |s| {
            KeyId::parse(s).ok_or_else(|| "not a key id (16 lowercase hex characters)".into())
        })?,
        nonce: f.parse("nonce", Nonce::parse)?,
        ts: f.parse("ts", parse_utc_timestamp)?,
        body: Body::parse(entry_type, f.value("body")?, "envelope.body")?,
    })
}

fn parse_cosignature(value: &Value, path: &str) -> Result<Cosignature, EntryError> {
    let f = Fields::new(value, path, &["actor", "key", "signature"])?;
    Ok(Cosignature {
        actor: f.parse("actor", Slug::parse)?,
        key: f.parse("key", |s| {
            KeyId::parse(s).ok_or_else(|| "not a key id (16 lowercase hex characters)".into())
        })?,
        signature: f.parse("signature", |s| {
            Signature::from_base64(s).map_err(|e| e.to_string())
        })?,
    })
}

/// Most digits after the seconds' decimal point: nanoseconds, what the clock keeps. More
/// would be dropped, so two different signed texts would name the same instant.
const MAX_FRACTION_DIGITS: usize = 9;

/// RFC 3339 in UTC, written with a trailing `Z`, seconds 00 to 59 (no leap second: UTC
/// clocks here repeat or smear it, and chrono would fold `:60` into the next second) and at
/// most [`MAX_FRACTION_DIGITS`] fractional digits.
fn parse_utc_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    let fraction_digits = text
        .get(19..text.len().saturating_sub(1))
        .and_then(|f| f.strip_prefix('.'))
        .map_or(0, str::len);
    let well_formed = text.len() >= 20
        && text.ends_with('Z')
        && text.as_bytes().get(10) == Some(&b'T')
        && text.get(17..19).is_some_and(|seconds| seconds < "60")
        && fraction_digits <= MAX_FRACTION_DIGITS;
    well_formed
        .then(|| DateTime::parse_from_rfc3339(text).ok())
        .flatten()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "{text:?} is not an RFC 3339 UTC timestamp like 2026-11-29T17:00:00Z (seconds \
                 00 to 59, at most {MAX_FRACTION_DIGITS} fractional digits)"
            )
        })
}

/// Only integers within ±(2^53 - 1) may appear as JSON numbers (see [`MAX_SAFE_INTEGER`]).
fn check_numbers(value: &Value, path: &str) -> Result<(), EntryError> {
    match value {
        Value::Number(n) => {
            let safe = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
            if safe {
                Ok(())
            } else {
                Err(EntryError::malformed(
                    path,
                    "JSON numbers must be integers of magnitude below 2^53; write amounts and quantities as decimal strings",
                ))
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_numbers(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_numbers(v, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed(&[1; 32])
    }

    fn envelope() -> Value {
        json!({"v": 3, "type": "contribution", "actor": "alice", "key": key().public_key().key_id().to_string(),
               "nonce": "n-0000001", "ts": "2026-11-29T12:00:00Z",
               "body": {"project": "novel", "kind": "draft", "measure": {"quantity": "10", "unit": "pages"},
                        "evidence": format!("commit:{}", "11".repeat(32))}})
    }

    fn parse_err(mut edit: impl FnMut(&mut Value)) -> EntryError {
        let mut env = envelope();
        edit(&mut env);
        let signed = sign_envelope(&env, &key(), &[]).expect("signs");
        SignedEntry::parse(&signed).expect_err("must be refused")
    }

    #[test]
    fn an_unsigned_envelope_is_the_one_clients_sign() {
        let built = Envelope::unsigned(
            EntryType::Contribution,
            "alice",
            key().public_key().key_id(),
            "n-0000001",
            "2026-11-29T12:00:00Z",
            envelope()["body"].clone(),
        );
        assert_eq!(built, envelope());
        let entry = SignedEntry::sign(built, &key()).expect("valid");
        assert_eq!(entry.envelope.entry_type, EntryType::Contribution);
    }

    #[test]
    fn signed_entry_round_trip() {
        let signed = sign_envelope(&envelope(), &key(), &[]).expect("signs");
        let entry = SignedEntry::parse(&signed).expect("valid");
        assert_eq!(
            key()
                .public_key()
                .verify(&entry.signing_message(), &entry.signature),
            Ok(())
        );
        assert!(
            entry
                .signing_message()
                .starts_with(b"fairshare/entry/v1\n{\"actor\":\"alice\"")
        );
        assert_eq!(entry.to_json(), signed);
        let leaf =
            String::from_utf8(entry.leaf_bytes("2026-11-29T12:00:01.000000Z")).expect("utf-8");
        assert!(
            leaf.starts_with("{\"envelope\":{\"actor\":\"alice\""),
            "{leaf}"
        );
        assert!(
            leaf.contains("},\"received_at\":\"2026-11-29T12:00:01.000000Z\",\"signature\":\""),
            "{leaf}"
        );
        assert!(entry.matches_leaf(leaf.as_bytes()));
        assert!(!leaf.contains("cosignatures"));
    }

    #[test]
    fn assembled_leaf_equals_canonicalizing_the_whole_leaf() {
        let cosigner = SecretKey::from_seed(&[2; 32]);
        let actor = ActorId::parse("bob").expect("slug");
        for cosigners in [vec![], vec![(actor, &cosigner)]] {
            let signed = sign_envelope(&envelope(), &key(), &cosigners).expect("signs");
            let entry = SignedEntry::parse(&signed).expect("valid");
            let mut whole = signed.clone();
            whole["received_at"] = json!("2026-11-29T12:00:01.000000Z");
            let expected = canonical::to_vec(&whole).expect("canonical");
            assert_eq!(entry.leaf_bytes("2026-11-29T12:00:01.000000Z"), expected);
        }
    }

    #[test]
    fn envelope_field_errors() {
        assert_eq!(parse_err(|e| e["v"] = json!(1)).field, "envelope.v");
        assert_eq!(
            parse_err(|e| e["type"] = json!("payment")).field,
            "envelope.type"
        );
        assert_eq!(
            parse_err(|e| e["actor"] = json!("Alice")).field,
            "envelope.actor"
        );
        assert_eq!(parse_err(|e| e["key"] = json!("zz")).field, "envelope.key");
        assert_eq!(
            parse_err(|e| e["nonce"] = json!("short")).field,
            "envelope.nonce"
        );
        assert_eq!(
            parse_err(|e| e["ts"] = json!("2026-11-29 12:00:00")).field,
            "envelope.ts"
        );
        assert_eq!(
            parse_err(|e| e["ts"] = json!("2026-11-29T12:00:00+01:00")).field,
            "envelope.ts"
        );
        assert_eq!(
            parse_err(|e| e["extra"] = json!(true)).field,
            "envelope.extra"
        );
        assert_eq!(
            parse_err(|e| e["body"]["measure"]["quantity"] = json!(1.5)).field,
            "envelope.body.measure.quantity"
        );
        assert_eq!(
            parse_err(|e| e["body"]["note"] = json!(9007199254740993u64)).field,
            "envelope.body.note"
        );
    }

    #[test]
    fn signature_encoding_errors() {
        let mut signed = sign_envelope(&envelope(), &key(), &[]).expect("signs");
        signed["signature"] = json!("AAAA");
        assert_eq!(
            SignedEntry::parse(&signed).expect_err("short").field,
            "signature"
        );
        let mut signed = sign_envelope(&envelope(), &key(), &[]).expect("signs");
        signed["cosignatures"] = json!([{"actor": "bob", "key": "00", "signature": "x"}]);
        assert_eq!(
            SignedEntry::parse(&signed).expect_err("bad").field,
            "cosignatures[0].key"
        );
    }

    #[test]
    fn timestamp_skew() {
        let entry = SignedEntry::parse(&sign_envelope(&envelope(), &key(), &[]).expect("signs"))
            .expect("valid");
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("ts")
                .with_timezone(&Utc)
        };
        let skew = chrono::Duration::minutes(5);
        assert!(
            entry
                .check_timestamp(at("2026-11-29T12:04:59Z"), skew)
                .is_ok()
        );
        assert!(
            entry
                .check_timestamp(at("2026-11-29T11:55:01Z"), skew)
                .is_ok()
        );
        let late = entry
            .check_timestamp(at("2026-11-29T12:05:01Z"), skew)
            .expect_err("too old");
        assert_eq!(late.rejection, Rejection::Timestamp);
        assert!(
            entry
                .check_timestamp(at("2026-11-29T11:54:00Z"), skew)
                .is_err()
        );
    }
}
