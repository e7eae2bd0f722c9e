//! The bodies of fair play's entries: `affiliation` (an actor declares that it is
//! controlled by, employed by or operated for another, or a regulator records it),
//! `dispute` (an actor contests an entry, with a reason) and `ruling` (a regulator decides
//! a dispute, with one effect on later allocations). Who may sign them is in
//! `ledger::rules`; how rulings change allocations is in `policy::rulings`.

use super::EntryError;
use super::body::distinct_items;
use super::decimal::parse_non_negative;
use super::fields::Fields;
use super::ids::{ActorId, EntryId, Slug};
use crate::crypto::commit::Commitment;
use rust_decimal::Decimal;
use serde_json::Value;

/// Most actors one merge ruling treats as one player.
pub const MAX_MERGED: usize = 64;

/// How an affiliate depends on its principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    ControlledBy,
    EmployedBy,
    OperatedFor,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ControlledBy => "controlled_by",
            Self::EmployedBy => "employed_by",
            Self::OperatedFor => "operated_for",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        [Self::ControlledBy, Self::EmployedBy, Self::OperatedFor]
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a relation; one of controlled_by, employed_by, operated_for"
                )
            })
    }
}

/// `affiliate` is controlled by, employed by or operated for `principal`. Signed by the
/// affiliate itself (a declaration) or by a regulator (a finding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affiliation {
    pub affiliate: ActorId,
    pub relation: Relation,
    pub principal: ActorId,
}

/// An actor contests an entry (a contribution, an endorsement, a measurement, an
/// affiliation or an allocation). `reason` is free text, kept in its own field so that it
/// can enter the leaf as a commitment like every other free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    pub target: EntryId,
    /// Salted commitment to the dispute's reason (free text: personal data, PRIVACY.md).
    pub reason: Commitment,
}

/// What a ruling does to the allocations whose value entry comes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulingEffect {
    /// Nothing changes (the dispute is dismissed).
    None,
    /// The disputed contribution or endorsement no longer counts.
    Exclude,
    /// The disputed measurement no longer counts.
    Void,
    /// The actors play as one player (the first listed stands for them), whose payout is
    /// split among them by `share` (exact decimals adding up to 1).
    Merge(Vec<MergedMember>),
}

impl RulingEffect {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Exclude => "exclude",
            Self::Void => "void",
            Self::Merge(_) => "merge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedMember {
    pub actor: ActorId,
    pub share: Decimal,
}

/// A regulator decides `dispute`. A later ruling on the same dispute replaces this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruling {
    pub dispute: EntryId,
    pub effect: RulingEffect,
    /// Salted commitment to the ruling's reason, if it gives one.
    pub reason: Option<Commitment>,
}

impl Affiliation {
    pub(super) fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["affiliate", "relation", "principal"])?;
        let affiliation = Affiliation {
            affiliate: f.parse("affiliate", Slug::parse)?,
            relation: f.parse("relation", Relation::parse)?,
            principal: f.parse("principal", Slug::parse)?,
        };
        if affiliation.affiliate == affiliation.principal {
            return Err(EntryError::malformed(
                f.at("principal"),
                "an actor is not its own principal",
            ));
        }
        Ok(affiliation)
    }
}

impl Dispute {
    pub(super) fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["target", "reason"])?;
        Ok(Dispute {
            target: f.parse("target", EntryId::parse)?,
            reason: f.parse("reason", Commitment::parse)?,
        })
    }
}

impl Ruling {
    pub(super) fn parse(value: &Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["dispute", "effect", "members", "reason"])?;
        let effect = match f.str("effect")? {
            "none" => RulingEffect::None,
            "exclude" => RulingEffect::Exclude,
            "void" => RulingEffect::Void,
            "merge" => RulingEffect::Merge(merged_members(&f)?),
            other => {
                return Err(EntryError::malformed(
                    f.at("effect"),
                    format!("{other:?} is not an effect; one of none, exclude, void, merge"),
                ));
            }
        };
        if !matches!(effect, RulingEffect::Merge(_)) && f.has("members") {
            return Err(EntryError::malformed(
                f.at("members"),
                "only a merge names members",
            ));
        }
        Ok(Ruling {
            dispute: f.parse("dispute", EntryId::parse)?,
            effect,
            reason: f.parse_opt("reason", Commitment::parse)?,
        })
    }
}

/// `"actor:share"` items: at least two distinct actors, positive shares adding up to 1.
fn merged_members(f: &Fields<'_>) -> Result<Vec<MergedMember>, EntryError> {
    let path = f.at("members");
    let items = f.array("members")?;
    if items.len() < 2 || items.len() > MAX_MERGED {
        return Err(EntryError::malformed(
            &path,
            format!("2 to {MAX_MERGED} \"actor:share\" items"),
        ));
    }
    let members = distinct_items(&path, items, |text| {
        let (actor, share) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not \"actor:share\""))?;
        let share = parse_non_negative(share)?;
        if share.is_zero() {
            return Err("a share must be greater than zero".into());
        }
        Ok(MergedMember {
            actor: Slug::parse(actor)?,
            share,
        })
    })?;
    for (i, m) in members.iter().enumerate() {
        if members[..i].iter().any(|o| o.actor == m.actor) {
            return Err(EntryError::malformed(
                format!("{path}[{i}]"),
                "actor listed twice",
            ));
        }
    }
    if members.iter().map(|m| m.share).sum::<Decimal>() != Decimal::ONE {
        return Err(EntryError::malformed(&path, "the shares must add up to 1"));
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::body::{Body, EntryType};
    use serde_json::json;

    fn field(t: EntryType, v: Value) -> String {
        Body::parse(t, &v, "body")
            .expect_err("must be refused")
            .field
    }

    #[test]
    fn affiliation_names_two_actors_and_a_relation() {
        let ok = json!({"affiliate": "ann", "relation": "employed_by", "principal": "acme"});
        assert!(Body::parse(EntryType::Affiliation, &ok, "body").is_ok());
        let own = json!({"affiliate": "ann", "relation": "employed_by", "principal": "ann"});
        assert_eq!(field(EntryType::Affiliation, own), "body.principal");
        let bad = json!({"affiliate": "ann", "relation": "friend_of", "principal": "acme"});
        assert_eq!(field(EntryType::Affiliation, bad), "body.relation");
    }

    #[test]
    fn dispute_needs_a_target_and_a_reason() {
        let target = "ab".repeat(32);
        let reason = format!("commit:{}", "ef".repeat(32));
        let ok = json!({"target": target, "reason": reason});
        assert!(Body::parse(EntryType::Dispute, &ok, "body").is_ok());
        // Free text never enters a leaf: only its commitment does.
        let clear = json!({"target": target, "reason": "copied"});
        assert_eq!(field(EntryType::Dispute, clear), "body.reason");
        let none = json!({"target": target});
        assert_eq!(field(EntryType::Dispute, none), "body.reason");
    }

    #[test]
    fn ruling_effects_and_merge_shares() {
        let dispute = "cd".repeat(32);
        for effect in ["none", "exclude", "void"] {
            let ok = json!({"dispute": dispute, "effect": effect});
            assert!(
                Body::parse(EntryType::Ruling, &ok, "body").is_ok(),
                "{effect}"
            );
        }
        let merge = json!({"dispute": dispute, "effect": "merge", "members": ["acme:0.5", "ann:0.25", "bob:0.25"]});
        let Ok(Body::Ruling(r)) = Body::parse(EntryType::Ruling, &merge, "body") else {
            panic!("a valid merge")
        };
        assert_eq!(r.effect.as_str(), "merge");
        for (members, at) in [
            (json!(["acme:0.5", "ann:0.4"]), "body.members"),
            (json!(["acme:1"]), "body.members"),
            (json!(["acme:0.5", "acme:0.5"]), "body.members[1]"),
            (json!(["acme:1", "ann:0"]), "body.members[1]"),
            (json!(["acme", "ann:1"]), "body.members[0]"),
        ] {
            let v = json!({"dispute": dispute, "effect": "merge", "members": members});
            assert_eq!(field(EntryType::Ruling, v), at, "{members}");
        }
        let stray = json!({"dispute": dispute, "effect": "void", "members": ["a:0.5", "b:0.5"]});
        assert_eq!(field(EntryType::Ruling, stray), "body.members");
        let unknown = json!({"dispute": dispute, "effect": "fine"});
        assert_eq!(field(EntryType::Ruling, unknown), "body.effect");
    }

    proptest::proptest! {
        /// A merge is accepted exactly when its shares are positive and add up to 1; any
        /// item text is refused or read, never a panic.
        #[test]
        fn merge_shares_are_accepted_exactly_when_they_add_up_to_one(
            cents in proptest::collection::vec(0u32..=100, 2..6),
            junk in "\\PC{0,12}",
        ) {
            let members: Vec<String> = cents
                .iter()
                .enumerate()
                .map(|(i, c)| format!("a{i}:{}", Decimal::new(i64::from(*c), 2)))
                .collect();
            let v = json!({"dispute": "cd".repeat(32), "effect": "merge", "members": members});
            let valid = cents.iter().all(|c| *c > 0) && cents.iter().sum::<u32>() == 100;
            proptest::prop_assert_eq!(Body::parse(EntryType::Ruling, &v, "body").is_ok(), valid);
            let v = json!({"dispute": "cd".repeat(32), "effect": "merge", "members": [junk, "b:1"]});
            let _ = Body::parse(EntryType::Ruling, &v, "body");
        }
    }
}
