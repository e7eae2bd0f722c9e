//! Personal data in entries (PROTOCOL.md, "Commitments, disclosures and erasures"): which
//! body fields are salted commitments, the disclosures that open them, and the body of an
//! `erasure` entry. Nothing here holds a cleartext in a leaf.

use super::EntryError;
use super::body::{Body, EntryType};
use super::fields::Fields;
use super::ids::{ContentDigest, EntryId};
use crate::crypto::commit::{Commitment, Purpose, Salt};
use serde_json::Value;

/// Longest disclosed text (a name, note or reason), in characters.
pub const MAX_DISCLOSED_CHARS: usize = 512;
/// Most fields one erasure names: each is four JSON values, within a body's value limit.
pub const MAX_ERASED: usize = 1000;

/// A body field that holds a commitment instead of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommittedField {
    /// `actor.registered.name`.
    Name,
    /// The `note` of a contribution, endorsement, value realization, measured coalition or
    /// project opening or update.
    Note,
    /// The `reason` of a key revocation, a dispute or a ruling.
    Reason,
    /// `contribution.evidence`: the content is the artifact's digest, `blake3:<hex>`.
    Evidence,
}

impl CommittedField {
    pub const ALL: [CommittedField; 4] = [Self::Name, Self::Note, Self::Reason, Self::Evidence];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Note => "note",
            Self::Reason => "reason",
            Self::Evidence => "evidence",
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a committed field; one of name, note, reason, evidence")
            })
    }

    /// Each field has its own commitment context, so one field's opening never opens another.
    pub fn purpose(self) -> Purpose {
        match self {
            Self::Name => Purpose::ActorName,
            Self::Note => Purpose::Note,
            Self::Reason => Purpose::Reason,
            Self::Evidence => Purpose::Evidence,
        }
    }

    /// The committed fields an entry of this type may carry.
    pub fn of(entry_type: EntryType) -> &'static [CommittedField] {
        match entry_type {
            EntryType::ActorRegistered => &[Self::Name],
            EntryType::KeyRevoked | EntryType::Dispute | EntryType::Ruling => &[Self::Reason],
            EntryType::Contribution => &[Self::Evidence, Self::Note],
            EntryType::Endorsement
            | EntryType::ValueRealized
            | EntryType::CoalitionMeasured
            | EntryType::ProjectOpened
            | EntryType::ProjectUpdated => &[Self::Note],
            EntryType::KeyRotated
            | EntryType::PolicyAdopted
            | EntryType::Allocation
            | EntryType::ProjectMembers
            | EntryType::LimitsSet
            | EntryType::Affiliation
            | EntryType::Erasure
            | EntryType::ReadGranted
            | EntryType::ReadRevoked => &[],
        }
    }
}

impl Body {
    /// The commitment this body holds in `field`, if it has one.
    pub fn commitment(&self, field: CommittedField) -> Option<Commitment> {
        match (self, field) {
            (Body::ActorRegistered(a), CommittedField::Name) => a.name,
            (Body::KeyRevoked(k), CommittedField::Reason) => k.reason,
            (Body::Dispute(d), CommittedField::Reason) => Some(d.reason),
            (Body::Ruling(r), CommittedField::Reason) => r.reason,
            (Body::Contribution(c), CommittedField::Evidence) => Some(c.evidence),
            (Body::Contribution(c), CommittedField::Note) => c.note,
            (Body::Endorsement(e), CommittedField::Note) => e.note,
            (Body::ValueRealized(v), CommittedField::Note) => v.note,
            (Body::CoalitionMeasured(m), CommittedField::Note) => m.note,
            (Body::ProjectOpened(p), CommittedField::Note) => p.note,
            (Body::ProjectUpdated(p), CommittedField::Note) => p.note,
            _ => None,
        }
    }
}

/// A cleartext and the salt that open one committed field of one entry.
#[derive(Clone, PartialEq, Eq)]
pub struct Disclosure {
    pub field: CommittedField,
    pub cleartext: String,
    pub salt: Salt,
}

impl std::fmt::Debug for Disclosure {
    // Personal data: never in debug output, so never in a log line by accident.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Disclosure({})", self.field.as_str())
    }
}

impl Disclosure {
    /// Checks the cleartext's form: evidence is a `blake3:` digest, text at most
    /// [`MAX_DISCLOSED_CHARS`] characters.
    pub fn new(field: CommittedField, cleartext: String, salt: Salt) -> Result<Self, String> {
        let disclosure = Disclosure {
            field,
            cleartext,
            salt,
        };
        disclosure.content()?;
        Ok(disclosure)
    }

    /// A fresh commitment to `cleartext` for `field`, with its disclosure.
    pub fn commit(field: CommittedField, cleartext: String) -> Result<(Commitment, Self), String> {
        let salt = Salt::random().map_err(|e| e.to_string())?;
        let disclosure = Self::new(field, cleartext, salt)?;
        Ok((disclosure.commitment()?, disclosure))
    }

    /// The bytes committed to: the raw 32-byte digest for evidence, else the UTF-8 text.
    fn content(&self) -> Result<Vec<u8>, String> {
        if self.field == CommittedField::Evidence {
            return ContentDigest::parse(&self.cleartext).map(|d| d.0.to_vec());
        }
        if self.cleartext.chars().count() > MAX_DISCLOSED_CHARS {
            return Err(format!("at most {MAX_DISCLOSED_CHARS} characters"));
        }
        Ok(self.cleartext.as_bytes().to_vec())
    }

    pub fn commitment(&self) -> Result<Commitment, String> {
        Ok(Commitment::new(
            self.field.purpose(),
            &self.salt,
            &self.content()?,
        ))
    }

    /// Whether this disclosure opens `body`'s commitment in its field.
    pub fn opens(&self, body: &Body) -> bool {
        body.commitment(self.field)
            .is_some_and(|c| self.commitment().is_ok_and(|mine| mine == c))
    }
}

/// Most disclosures one deposit carries (an entry has at most two committed fields; a
/// deposit names one entry).
const MAX_DEPOSIT: usize = 4;

/// A deposit (`POST /v1/disclosures`): `{"entry": "<id>", "disclosures": [{"field",
/// "cleartext", "salt"}]}`, each field once. Whether they open the entry's commitments is
/// checked against its leaf by the service.
pub fn parse_deposit(value: &Value) -> Result<(EntryId, Vec<Disclosure>), EntryError> {
    let f = Fields::new(value, "", &["entry", "disclosures"])?;
    let entry = f.parse("entry", EntryId::parse)?;
    let items = f.array("disclosures")?;
    if items.is_empty() || items.len() > MAX_DEPOSIT {
        return Err(EntryError::malformed(
            "disclosures",
            format!("1 to {MAX_DEPOSIT} disclosures"),
        ));
    }
    let mut disclosures: Vec<Disclosure> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("disclosures[{i}]");
        let g = Fields::new(item, &at, &["field", "cleartext", "salt"])?;
        let field = g.parse("field", CommittedField::parse)?;
        if disclosures.iter().any(|d| d.field == field) {
            return Err(EntryError::malformed(g.at("field"), "listed twice"));
        }
        let salt = g.parse("salt", Salt::parse)?;
        let cleartext = g.str("cleartext")?.to_owned();
        disclosures.push(
            Disclosure::new(field, cleartext, salt)
                .map_err(|m| EntryError::malformed(g.at("cleartext"), m))?,
        );
    }
    Ok((entry, disclosures))
}

/// On whose authority an erasure is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The data subject: the actor whose entries hold the fields.
    Subject,
    /// A registered regulator's order.
    Regulator,
    /// The server's retention setting (signed by the server key).
    Retention,
}

impl Authority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Regulator => "regulator",
            Self::Retention => "retention",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "subject" => Ok(Self::Subject),
            "regulator" => Ok(Self::Regulator),
            "retention" => Ok(Self::Retention),
            _ => Err(format!(
                "{text:?} is not an authority; one of subject, regulator, retention"
            )),
        }
    }
}

/// One field an erasure removes from the disclosure store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErasedField {
    pub entry: EntryId,
    pub field: CommittedField,
    /// The commitment the field holds (the disclosure store deletes only what opens it).
    pub commitment: Commitment,
}

/// The body of an `erasure` entry: which commitments were erased and on whose authority,
/// never what they held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub authority: Authority,
    pub erased: Vec<ErasedField>,
}

impl Erasure {
    pub(super) fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["authority", "erased"])?;
        let authority = f.parse("authority", Authority::parse)?;
        let items = f.array("erased")?;
        if items.is_empty() || items.len() > MAX_ERASED {
            return Err(EntryError::malformed(
                f.at("erased"),
                format!("1 to {MAX_ERASED} fields"),
            ));
        }
        let mut erased = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{}[{i}]", f.at("erased"));
            let g = Fields::new(item, &at, &["entry", "field", "commitment"])?;
            let named = ErasedField {
                entry: g.parse("entry", EntryId::parse)?,
                field: g.parse("field", CommittedField::parse)?,
                commitment: g.parse("commitment", Commitment::parse)?,
            };
            if erased
                .iter()
                .any(|e: &ErasedField| (e.entry, e.field) == (named.entry, named.field))
            {
                return Err(EntryError::malformed(at, "names a field listed before"));
            }
            erased.push(named);
        }
        Ok(Erasure { authority, erased })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn erasure(items: Value) -> Result<Body, EntryError> {
        Body::parse(
            EntryType::Erasure,
            &json!({"authority": "subject", "erased": items}),
            "body",
        )
    }

    #[test]
    fn erasure_bodies() {
        let item = json!({"entry": "ab".repeat(32), "field": "note", "commitment": format!("commit:{}", "01".repeat(32))});
        assert!(erasure(json!([item])).is_ok());
        assert_eq!(
            erasure(json!([item, item])).expect_err("twice").field,
            "body.erased[1]"
        );
        assert_eq!(erasure(json!([])).expect_err("empty").field, "body.erased");
        let mut bad = item.clone();
        bad["field"] = json!("kind");
        assert_eq!(
            erasure(json!([bad])).expect_err("field").field,
            "body.erased[0].field"
        );
        let mut bad = item.clone();
        bad["commitment"] = json!(format!("blake3:{}", "01".repeat(32)));
        assert_eq!(
            erasure(json!([bad])).expect_err("commitment").field,
            "body.erased[0].commitment"
        );
        let v = json!({"authority": "anyone", "erased": [item]});
        assert_eq!(
            Body::parse(EntryType::Erasure, &v, "body")
                .expect_err("authority")
                .field,
            "body.authority"
        );
    }

    #[test]
    fn deposits_name_the_path_of_each_refusal() {
        let salt = "ab".repeat(32);
        let ok = json!({"entry": "cd".repeat(32), "disclosures": [
            {"field": "note", "cleartext": "hi", "salt": salt},
            {"field": "evidence", "cleartext": format!("blake3:{}", "ef".repeat(32)), "salt": salt}]});
        let (_, disclosures) = parse_deposit(&ok).expect("valid");
        assert_eq!(disclosures.len(), 2);
        let cases = [
            (
                json!({"entry": "cd".repeat(32), "disclosures": []}),
                "disclosures",
            ),
            (
                json!({"entry": "x", "disclosures": [{"field": "note", "cleartext": "", "salt": salt}]}),
                "entry",
            ),
            (
                json!({"entry": "cd".repeat(32), "disclosures": [{"field": "note", "cleartext": "", "salt": "00"}]}),
                "disclosures[0].salt",
            ),
            (
                json!({"entry": "cd".repeat(32), "disclosures": [{"field": "note", "cleartext": "", "salt": salt},
                                                              {"field": "note", "cleartext": "", "salt": salt}]}),
                "disclosures[1].field",
            ),
            (
                json!({"entry": "cd".repeat(32), "disclosures": [{"field": "evidence", "cleartext": "a.pdf", "salt": salt}]}),
                "disclosures[0].cleartext",
            ),
            (
                json!({"entry": "cd".repeat(32), "disclosures": [{"field": "note", "cleartext": "", "salt": salt, "extra": 1}]}),
                "disclosures[0].extra",
            ),
        ];
        for (value, path) in cases {
            assert_eq!(
                parse_deposit(&value).expect_err("refused").field,
                path,
                "{value}"
            );
        }
    }

    #[test]
    fn disclosures_open_only_their_field() {
        let (note, disclosure) =
            Disclosure::commit(CommittedField::Note, "thanks, Bob".into()).expect("commits");
        let body = json!({"contribution": "ab".repeat(32), "decision": "accept", "note": note.to_string()});
        let body = Body::parse(EntryType::Endorsement, &body, "body").expect("valid");
        assert!(disclosure.opens(&body));
        let wrong = Disclosure::new(CommittedField::Note, "thanks, Bob!".into(), disclosure.salt)
            .expect("form");
        assert!(!wrong.opens(&body));
        let other_field =
            Disclosure::new(CommittedField::Name, "thanks, Bob".into(), disclosure.salt)
                .expect("form");
        assert!(!other_field.opens(&body));
        assert!(
            Disclosure::new(
                CommittedField::Evidence,
                "not a digest".into(),
                disclosure.salt
            )
            .is_err()
        );
        assert!(Disclosure::new(CommittedField::Note, "x".repeat(513), disclosure.salt).is_err());
    }
}
