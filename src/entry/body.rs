//! Entry types and their bodies, each validated field by field.

use super::EntryError;
use super::currency::Currency;
use super::decimal::parse_non_negative;
use super::fairplay::{Affiliation, Dispute, Ruling};
use super::fields::Fields;
use super::ids::{ActorId, ContentDigest, EntryId, Slug};
use super::privacy::Erasure;
use super::project::{ProjectMembers, ProjectOpened, ProjectUpdated};
use crate::crypto::commit::Commitment;
use crate::crypto::{KeyId, PublicKey};
use rust_decimal::Decimal;
use serde_json::Value;

/// Longest text of a model's name or version (the only free text left in clear: it names
/// software, not a person), in characters.
const MAX_TEXT: usize = 512;
/// Most entries one contribution may build on.
pub const MAX_BUILDS_ON: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    ActorRegistered,
    KeyRotated,
    KeyRevoked,
    Contribution,
    Endorsement,
    ValueRealized,
    PolicyAdopted,
    CoalitionMeasured,
    Allocation,
    ProjectOpened,
    ProjectUpdated,
    ProjectMembers,
    LimitsSet,
    Affiliation,
    Dispute,
    Ruling,
    Erasure,
    ReadGranted,
    ReadRevoked,
}

impl EntryType {
    pub const ALL: [EntryType; 19] = [
        Self::ActorRegistered,
        Self::KeyRotated,
        Self::KeyRevoked,
        Self::Contribution,
        Self::Endorsement,
        Self::ValueRealized,
        Self::PolicyAdopted,
        Self::CoalitionMeasured,
        Self::Allocation,
        Self::ProjectOpened,
        Self::ProjectUpdated,
        Self::ProjectMembers,
        Self::LimitsSet,
        Self::Affiliation,
        Self::Dispute,
        Self::Ruling,
        Self::Erasure,
        Self::ReadGranted,
        Self::ReadRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ActorRegistered => "actor.registered",
            Self::KeyRotated => "key.rotated",
            Self::KeyRevoked => "key.revoked",
            Self::Contribution => "contribution",
            Self::Endorsement => "endorsement",
            Self::ValueRealized => "value.realized",
            Self::PolicyAdopted => "policy.adopted",
            Self::CoalitionMeasured => "coalition.measured",
            Self::Allocation => "allocation",
            Self::ProjectOpened => "project.opened",
            Self::ProjectUpdated => "project.updated",
            Self::ProjectMembers => "project.members",
            Self::LimitsSet => "limits.set",
            Self::Affiliation => "affiliation",
            Self::Dispute => "dispute",
            Self::Ruling => "ruling",
            Self::Erasure => "erasure",
            Self::ReadGranted => "read.granted",
            Self::ReadRevoked => "read.revoked",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown entry type {text:?}; known: {}", known.join(", "))
            })
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    Human,
    Ai,
    Platform,
    Regulator,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Ai => "ai",
            Self::Platform => "platform",
            Self::Regulator => "regulator",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "human" => Ok(Self::Human),
            "ai" => Ok(Self::Ai),
            "platform" => Ok(Self::Platform),
            "regulator" => Ok(Self::Regulator),
            _ => Err(format!(
                "unknown actor kind {text:?}; one of human, ai, platform, regulator"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    ActorRegistered(ActorRegistered),
    KeyRotated(KeyRotated),
    KeyRevoked(KeyRevoked),
    Contribution(Contribution),
    Endorsement(Endorsement),
    ValueRealized(ValueRealized),
    PolicyAdopted(PolicyAdopted),
    CoalitionMeasured(CoalitionMeasured),
    Allocation(AllocationRecord),
    ProjectOpened(ProjectOpened),
    ProjectUpdated(ProjectUpdated),
    ProjectMembers(ProjectMembers),
    LimitsSet(SolverLimits),
    Affiliation(Affiliation),
    Dispute(Dispute),
    Ruling(Ruling),
    Erasure(Erasure),
    /// A regulator lets an auditor read the whole log, as a regulator does.
    ReadGranted(ReadGrant),
    /// A regulator ends an auditor's read-all grant.
    ReadRevoked(ReadGrant),
}

/// The envelope's actor registers itself (or is registered by the server operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRegistered {
    pub kind: ActorKind,
    pub public_key: PublicKey,
    /// Commitment to the actor's name (PROTOCOL.md, "Commitments").
    pub name: Option<Commitment>,
    /// The human or platform accountable for an `ai` actor.
    pub operator: Option<ActorId>,
    pub model: Option<ModelProvenance>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelProvenance {
    pub name: String,
    pub version: String,
    pub weights_hash: Option<ContentDigest>,
}

/// Adds a key; the new key co-signs to prove possession. `retire` ends a current key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotated {
    pub public_key: PublicKey,
    pub retire: Option<KeyId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRevoked {
    pub key: KeyId,
    pub reason: Option<Commitment>,
}

/// The actor a `read.granted` or `read.revoked` entry is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadGrant {
    pub auditor: ActorId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub project: Slug,
    pub kind: Slug,
    pub quantity: Decimal,
    pub unit: Slug,
    /// Salted commitment to the off-ledger artifact's blake3 digest: without the salt the
    /// contributor holds, the artifact cannot be matched to the contribution.
    pub evidence: Commitment,
    pub builds_on: Vec<EntryId>,
    pub note: Option<Commitment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Reject,
}

/// A human accepts or rejects another actor's contribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endorsement {
    pub contribution: EntryId,
    pub decision: Decision,
    pub note: Option<Commitment>,
}

/// A platform declares value earned by a project, to be allocated under an adopted policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRealized {
    pub project: Slug,
    pub amount: Decimal,
    pub currency: Currency,
    /// blake3 of the adopted policy's text.
    pub policy: ContentDigest,
    pub note: Option<Commitment>,
}

/// A platform or regulator publishes a policy: its full text is in the log, so anyone can
/// recompute every allocation made under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyAdopted {
    pub name: Slug,
    pub text: String,
    /// blake3 of the text's UTF-8 bytes, checked against the text.
    pub hash: ContentDigest,
}

/// A platform records the value observed with a subset of a project's actors (an A/B test
/// with the AI switched off, say): a point of an explicit game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoalitionMeasured {
    pub project: Slug,
    pub members: Vec<ActorId>,
    pub value: Decimal,
    pub note: Option<Commitment>,
}

/// The server's allocation of a realized value, appended by the server itself. The body
/// holds the allocation (`status` "ok") or the reason it cannot be made ("failed"); both are
/// reproducible from the log, and `fairshare verify` recomputes them from the body as
/// signed (`SignedEntry::body_json`: megabytes for a large project, not copied here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRecord {
    pub value_entry: EntryId,
    pub project: Slug,
}

/// Longest policy text, in bytes.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;
/// Most members of one measured coalition (explicit games are exponential in players).
pub const MAX_COALITION_MEMBERS: usize = 25;

fn parse_key_id(text: &str) -> Result<KeyId, String> {
    KeyId::parse(text)
        .ok_or_else(|| format!("{text:?} is not a key id (16 lowercase hex characters)"))
}

fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    PublicKey::from_base64(text).map_err(|e| e.to_string())
}

impl Body {
    /// The project the entry belongs to, when its body names one (an endorsement's is its
    /// contribution's).
    pub fn project(&self) -> Option<&Slug> {
        match self {
            Body::Contribution(c) => Some(&c.project),
            Body::ValueRealized(v) => Some(&v.project),
            Body::CoalitionMeasured(m) => Some(&m.project),
            Body::Allocation(a) => Some(&a.project),
            Body::ProjectOpened(p) => Some(&p.project),
            Body::ProjectUpdated(p) => Some(&p.project),
            Body::ProjectMembers(p) => Some(&p.project),
            _ => None,
        }
    }

    /// Validates `value` as the body of an entry of type `entry_type`; `path` prefixes
    /// field names in errors.
    pub fn parse(entry_type: EntryType, value: &Value, path: &str) -> Result<Self, EntryError> {
        Ok(match entry_type {
            EntryType::ActorRegistered => {
                Body::ActorRegistered(ActorRegistered::parse(value, path)?)
            }
            EntryType::KeyRotated => Body::KeyRotated(KeyRotated::parse(value, path)?),
            EntryType::KeyRevoked => Body::KeyRevoked(KeyRevoked::parse(value, path)?),
            EntryType::Contribution => Body::Contribution(Contribution::parse(value, path)?),
            EntryType::Endorsement => Body::Endorsement(Endorsement::parse(value, path)?),
            EntryType::PolicyAdopted => Body::PolicyAdopted(PolicyAdopted::parse(value, path)?),
            EntryType::CoalitionMeasured => {
                Body::CoalitionMeasured(CoalitionMeasured::parse(value, path)?)
            }
            EntryType::Allocation => Body::Allocation(AllocationRecord::parse(value, path)?),
            EntryType::ValueRealized => Body::ValueRealized(ValueRealized::parse(value, path)?),
            EntryType::ProjectOpened => Body::ProjectOpened(ProjectOpened::parse(value, path)?),
            EntryType::ProjectUpdated => Body::ProjectUpdated(ProjectUpdated::parse(value, path)?),
            EntryType::ProjectMembers => Body::ProjectMembers(ProjectMembers::parse(value, path)?),
            EntryType::LimitsSet => Body::LimitsSet(SolverLimits::parse(value, path)?),
            EntryType::Affiliation => Body::Affiliation(Affiliation::parse(value, path)?),
            EntryType::Dispute => Body::Dispute(Dispute::parse(value, path)?),
            EntryType::Ruling => Body::Ruling(Ruling::parse(value, path)?),
            EntryType::Erasure => Body::Erasure(Erasure::parse(value, path)?),
            EntryType::ReadGranted => Body::ReadGranted(ReadGrant::parse(value, path)?),
            EntryType::ReadRevoked => Body::ReadRevoked(ReadGrant::parse(value, path)?),
        })
    }
}

impl ActorRegistered {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(
            value,
            path,
            &["kind", "public_key", "name", "operator", "model"],
        )?;
        let kind = f.parse("kind", ActorKind::parse)?;
        let operator = f.parse_opt("operator", Slug::parse)?;
        let model = if f.has("model") {
            let m = f.object("model", &["name", "version", "weights_hash"])?;
            Some(ModelProvenance {
                name: m.parse("name", non_empty_text)?,
                version: m.parse("version", non_empty_text)?,
                weights_hash: m.parse_opt("weights_hash", ContentDigest::parse)?,
            })
        } else {
            None
        };
        let is_ai = kind == ActorKind::Ai;
        for (name, present) in [("operator", operator.is_some()), ("model", model.is_some())] {
            if is_ai && !present {
                return Err(EntryError::malformed(
                    f.at(name),
                    "required for an ai actor",
                ));
            }
            if !is_ai && present {
                return Err(EntryError::malformed(
                    f.at(name),
                    "only an ai actor has this field",
                ));
            }
        }
        Ok(ActorRegistered {
            kind,
            public_key: f.parse("public_key", parse_public_key)?,
            name: f.parse_opt("name", Commitment::parse)?,
            operator,
            model,
        })
    }
}

impl KeyRotated {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["public_key", "retire"])?;
        Ok(KeyRotated {
            public_key: f.parse("public_key", parse_public_key)?,
            retire: f.parse_opt("retire", parse_key_id)?,
        })
    }
}

impl KeyRevoked {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["key", "reason"])?;
        Ok(KeyRevoked {
            key: f.parse("key", parse_key_id)?,
            reason: f.parse_opt("reason", Commitment::parse)?,
        })
    }
}

impl ReadGrant {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["auditor"])?;
        Ok(ReadGrant {
            auditor: f.parse("auditor", ActorId::parse)?,
        })
    }
}

impl Contribution {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(
            value,
            path,
            &[
                "project",
                "kind",
                "measure",
                "evidence",
                "builds_on",
                "note",
            ],
        )?;
        let measure = f.object("measure", &["quantity", "unit"])?;
        let builds_on = if f.has("builds_on") {
            parse_builds_on(&f)?
        } else {
            Vec::new()
        };
        Ok(Contribution {
            project: f.parse("project", Slug::parse)?,
            kind: f.parse("kind", Slug::parse)?,
            quantity: measure.parse("quantity", parse_non_negative)?,
            unit: measure.parse("unit", Slug::parse)?,
            evidence: f.parse("evidence", Commitment::parse)?,
            builds_on,
            note: f.parse_opt("note", Commitment::parse)?,
        })
    }
}

impl Endorsement {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["contribution", "decision", "note"])?;
        Ok(Endorsement {
            contribution: f.parse("contribution", EntryId::parse)?,
            decision: f.parse("decision", |s| match s {
                "accept" => Ok(Decision::Accept),
                "reject" => Ok(Decision::Reject),
                _ => Err(format!("{s:?} is not a decision; one of accept, reject")),
            })?,
            note: f.parse_opt("note", Commitment::parse)?,
        })
    }
}

impl PolicyAdopted {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["name", "text", "hash"])?;
        let text = f.str("text")?;
        if text.is_empty() || text.len() > MAX_POLICY_BYTES {
            return Err(EntryError::malformed(
                f.at("text"),
                format!("1 to {MAX_POLICY_BYTES} bytes"),
            ));
        }
        let hash = f.parse("hash", ContentDigest::parse)?;
        if hash.0 != crate::crypto::hash::blake3(text.as_bytes()) {
            return Err(EntryError::malformed(
                f.at("hash"),
                "is not blake3 of the text's UTF-8 bytes",
            ));
        }
        Ok(PolicyAdopted {
            name: f.parse("name", Slug::parse)?,
            text: text.to_owned(),
            hash,
        })
    }
}

impl CoalitionMeasured {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["project", "members", "value", "note"])?;
        let items = f.array("members")?;
        if items.is_empty() || items.len() > MAX_COALITION_MEMBERS {
            return Err(EntryError::malformed(
                f.at("members"),
                format!("1 to {MAX_COALITION_MEMBERS} actors"),
            ));
        }
        let members = distinct_items(&f.at("members"), items, Slug::parse)?;
        Ok(CoalitionMeasured {
            project: f.parse("project", Slug::parse)?,
            members,
            value: f.parse("value", parse_non_negative)?,
            note: f.parse_opt("note", Commitment::parse)?,
        })
    }
}

impl AllocationRecord {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(
            value,
            path,
            &[
                "value_entry",
                "project",
                "tree_size",
                "status",
                "allocation",
                "reason",
            ],
        )?;
        match f.str("status")? {
            "ok" if f.has("allocation") => {}
            "failed" if f.has("reason") => {}
            other => {
                return Err(EntryError::malformed(
                    f.at("status"),
                    format!(
                        "{other:?} needs: \"ok\" with \"allocation\", or \"failed\" with \"reason\""
                    ),
                ));
            }
        }
        Ok(AllocationRecord {
            value_entry: f.parse("value_entry", EntryId::parse)?,
            project: f.parse("project", Slug::parse)?,
        })
    }
}

impl ValueRealized {
    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(
            value,
            path,
            &["project", "amount", "currency", "policy", "note"],
        )?;
        let currency = f.parse("currency", Currency::parse)?;
        let amount = f.parse("amount", |s| {
            let amount = parse_non_negative(s)?;
            if amount.is_zero() {
                return Err("must be greater than zero".into());
            }
            if amount.normalize().scale() > currency.minor_units() {
                return Err(format!(
                    "{s:?} has more decimals than {currency}'s minor unit ({})",
                    currency.minor_units()
                ));
            }
            Ok(amount)
        })?;
        Ok(ValueRealized {
            project: f.parse("project", Slug::parse)?,
            amount,
            currency,
            policy: f.parse("policy", ContentDigest::parse)?,
            note: f.parse_opt("note", Commitment::parse)?,
        })
    }
}

fn non_empty_text(s: &str) -> Result<String, String> {
    let len = s.chars().count();
    if len == 0 || len > MAX_TEXT {
        return Err(format!("1 to {MAX_TEXT} characters"));
    }
    Ok(s.to_owned())
}

fn parse_builds_on(f: &Fields<'_>) -> Result<Vec<EntryId>, EntryError> {
    let items = f.array("builds_on")?;
    if items.len() > MAX_BUILDS_ON {
        return Err(EntryError::malformed(
            f.at("builds_on"),
            format!("at most {MAX_BUILDS_ON} entries"),
        ));
    }
    distinct_items(&f.at("builds_on"), items, EntryId::parse)
}

/// The strings of the array at `path`, each read by `parse` and listed once.
pub(super) fn distinct_items<T: PartialEq>(
    path: &str,
    items: &[Value],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, EntryError> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let text = item
            .as_str()
            .ok_or_else(|| EntryError::malformed(&path, "must be a string"))?;
        let parsed = parse(text).map_err(|m| EntryError::malformed(&path, m))?;
        if out.contains(&parsed) {
            return Err(EntryError::malformed(&path, "listed twice"));
        }
        out.push(parsed);
    }
    Ok(out)
}

// --- Solver limits (`limits.set`) ---

/// The server's solver limits, published in the log by a `limits.set` entry signed with the
/// server key; they bound every allocation from that entry on (docs/PROTOCOL.md, "Solver
/// limits"). Before the log's first `limits.set`, [`SolverLimits::DEFAULT`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SolverLimits {
    /// Most players of a game solved by exact enumeration: a policy's `solver.exact_limit`.
    pub exact_players: u64,
    /// Most marginal evaluations (permutations × players) one sampled allocation may draw.
    pub sampled_marginals: u64,
    /// Most players of a measured game: distinct actors the project's measurements name.
    pub measured_players: u64,
    /// Most `coalition.measured` entries of the project a measured game reads (each
    /// evaluation of a coalition's worth scans them).
    pub measurements: u64,
}

impl SolverLimits {
    /// The limits of a log without `limits.set`.
    pub const DEFAULT: SolverLimits = SolverLimits {
        exact_players: 20,
        sampled_marginals: 10_000_000,
        measured_players: 100,
        measurements: 256,
    };
    /// The field names, in the body's order.
    pub const FIELDS: [&'static str; 4] = [
        "exact_players",
        "sampled_marginals",
        "measured_players",
        "measurements",
    ];
    /// Largest value of each limit: an exact JSON integer.
    pub const MAX: u64 = (1 << 53) - 1;

    fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &Self::FIELDS)?;
        let limit = |name: &str| {
            f.value(name)?
                .as_u64()
                .filter(|n| (1..=Self::MAX).contains(n))
                .ok_or_else(|| {
                    EntryError::malformed(f.at(name), "must be an integer from 1 to 2^53 - 1")
                })
        };
        Ok(SolverLimits {
            exact_players: limit("exact_players")?,
            sampled_marginals: limit("sampled_marginals")?,
            measured_players: limit("measured_players")?,
            measurements: limit("measurements")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use serde_json::json;

    fn key_b64() -> String {
        SecretKey::from_seed(&[7; 32]).public_key().to_base64()
    }

    fn err(t: EntryType, v: Value) -> EntryError {
        Body::parse(t, &v, "body").expect_err("must be refused")
    }

    fn contribution() -> Value {
        json!({"project": "novel", "kind": "draft", "measure": {"quantity": "1200", "unit": "words"},
               "evidence": format!("commit:{}", "0a".repeat(32))})
    }

    #[test]
    fn valid_contribution() {
        let Body::Contribution(c) =
            Body::parse(EntryType::Contribution, &contribution(), "body").expect("valid")
        else {
            panic!("wrong body")
        };
        assert_eq!(c.quantity.to_string(), "1200");
        assert!(c.builds_on.is_empty());
    }

    #[test]
    fn contribution_field_errors_name_the_path() {
        let mut v = contribution();
        v["measure"]["quantity"] = json!(12.5);
        assert_eq!(
            err(EntryType::Contribution, v.clone()).field,
            "body.measure.quantity"
        );
        v["measure"]["quantity"] = json!("-1");
        assert_eq!(
            err(EntryType::Contribution, v.clone()).field,
            "body.measure.quantity"
        );
        v["measure"]["quantity"] = json!("1e3");
        assert_eq!(
            err(EntryType::Contribution, v).field,
            "body.measure.quantity"
        );
        let mut v = contribution();
        v["evidence"] = json!("blake3:00");
        assert_eq!(err(EntryType::Contribution, v).field, "body.evidence");
        let mut v = contribution();
        v["extra"] = json!(1);
        assert_eq!(err(EntryType::Contribution, v).field, "body.extra");
        let mut v = contribution();
        let id = "ab".repeat(32);
        v["builds_on"] = json!([id, id]);
        assert_eq!(err(EntryType::Contribution, v).field, "body.builds_on[1]");
        let mut v = contribution();
        v["project"] = json!("Bad Project");
        assert_eq!(err(EntryType::Contribution, v).field, "body.project");
    }

    #[test]
    fn value_realized_rules() {
        let policy = format!("blake3:{}", "ab".repeat(32));
        let ok =
            json!({"project": "novel", "amount": "100.50", "currency": "EUR", "policy": policy});
        assert!(Body::parse(EntryType::ValueRealized, &ok, "body").is_ok());
        for (amount, currency) in [
            ("0", "EUR"),
            ("0.00", "EUR"),
            ("1.001", "EUR"),
            ("1.5", "JPY"),
            ("-5", "EUR"),
        ] {
            let v = json!({"project": "novel", "amount": amount, "currency": currency, "policy": policy});
            assert_eq!(
                err(EntryType::ValueRealized, v).field,
                "body.amount",
                "{amount} {currency}"
            );
        }
        let v = json!({"project": "novel", "amount": "1", "currency": "EURO", "policy": policy});
        assert_eq!(err(EntryType::ValueRealized, v).field, "body.currency");
        let v = json!({"project": "novel", "amount": "1", "currency": "EUR"});
        assert_eq!(err(EntryType::ValueRealized, v).field, "body.policy");
    }

    #[test]
    fn policy_and_measured_coalition_bodies() {
        let text = "name = \"p\"\n";
        let hash = format!(
            "blake3:{}",
            crate::crypto::hash::to_hex(&crate::crypto::hash::blake3(text.as_bytes()))
        );
        let ok = json!({"name": "p", "text": text, "hash": hash});
        assert!(Body::parse(EntryType::PolicyAdopted, &ok, "body").is_ok());
        let wrong = json!({"name": "p", "text": "other", "hash": hash});
        assert_eq!(err(EntryType::PolicyAdopted, wrong).field, "body.hash");
        let ok = json!({"project": "novel", "members": ["alice", "scribe"], "value": "120.5"});
        assert!(Body::parse(EntryType::CoalitionMeasured, &ok, "body").is_ok());
        let twice = json!({"project": "novel", "members": ["alice", "alice"], "value": "1"});
        assert_eq!(
            err(EntryType::CoalitionMeasured, twice).field,
            "body.members[1]"
        );
        let empty = json!({"project": "novel", "members": [], "value": "1"});
        assert_eq!(
            err(EntryType::CoalitionMeasured, empty).field,
            "body.members"
        );
    }

    #[test]
    fn ai_registration_needs_operator_and_model() {
        let v = json!({"kind": "ai", "public_key": key_b64()});
        assert_eq!(err(EntryType::ActorRegistered, v).field, "body.operator");
        let v = json!({"kind": "ai", "public_key": key_b64(), "operator": "acme"});
        assert_eq!(err(EntryType::ActorRegistered, v).field, "body.model");
        let v = json!({"kind": "human", "public_key": key_b64(), "operator": "acme"});
        assert_eq!(err(EntryType::ActorRegistered, v).field, "body.operator");
        let ok = json!({"kind": "ai", "public_key": key_b64(), "operator": "acme",
                        "model": {"name": "scribe", "version": "2.1"}});
        assert!(Body::parse(EntryType::ActorRegistered, &ok, "body").is_ok());
        let v = json!({"kind": "robot", "public_key": key_b64()});
        assert_eq!(err(EntryType::ActorRegistered, v).field, "body.kind");
        let v = json!({"kind": "human", "public_key": "AAAA"});
        assert_eq!(err(EntryType::ActorRegistered, v).field, "body.public_key");
    }

    #[test]
    fn endorsement_and_keys() {
        let v = json!({"contribution": "ab".repeat(32), "decision": "maybe"});
        assert_eq!(err(EntryType::Endorsement, v).field, "body.decision");
        let v = json!({"key": "XYZ"});
        assert_eq!(err(EntryType::KeyRevoked, v).field, "body.key");
        let v = json!({"public_key": key_b64(), "retire": "0011"});
        assert_eq!(err(EntryType::KeyRotated, v).field, "body.retire");
        assert!(EntryType::parse("contribution").is_ok());
        assert!(EntryType::parse("allocation").is_ok());
        assert!(EntryType::parse("payment").is_err());
    }
}
