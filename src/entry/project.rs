//! The bodies of a project's own entries: `project.opened` (its owner fixes its terms),
//! `project.updated` (the owner changes them) and `project.members` (the owner admits or
//! removes members). Who may sign them is in `ledger::rules`.

use super::EntryError;
use super::body::distinct_items;
use super::currency::Currency;
use super::fields::Fields;
use super::ids::{ActorId, ContentDigest, Slug};
use crate::crypto::commit::Commitment;

/// Most policies a project admits, and most platforms that realize value on it besides its
/// owner.
pub const MAX_PROJECT_LIST: usize = 16;
/// Most actors one `project.members` entry admits or removes.
pub const MAX_MEMBERS_CHANGE: usize = 256;

/// Who may contribute and endorse in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Only the owner and the members it admitted (the default).
    Members,
    /// Anyone registered.
    Open,
}

impl Membership {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "members" => Ok(Self::Members),
            "open" => Ok(Self::Open),
            _ => Err(format!(
                "{text:?} is not a membership; one of members, open"
            )),
        }
    }
}

/// A platform opens a project: it becomes its owner, and fixes its terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectOpened {
    pub project: Slug,
    /// Every value realized on the project is in this currency.
    pub currency: Currency,
    pub membership: Membership,
    /// The adopted policies value may be realized under.
    pub policies: Vec<ContentDigest>,
    /// The platforms besides the owner that may realize value on the project.
    pub realizers: Vec<ActorId>,
    pub note: Option<Commitment>,
}

/// The owner changes a project's terms: each field present replaces the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectUpdated {
    pub project: Slug,
    /// Hands the project over to another platform.
    pub owner: Option<ActorId>,
    pub policies: Option<Vec<ContentDigest>>,
    pub realizers: Option<Vec<ActorId>>,
    pub note: Option<Commitment>,
}

/// The owner admits actors to a project, or removes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectMembers {
    pub project: Slug,
    pub admit: Vec<ActorId>,
    pub remove: Vec<ActorId>,
}

/// The distinct items of the optional list `name`, at most `most`.
fn list<T: PartialEq>(
    f: &Fields<'_>,
    name: &str,
    most: usize,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Vec<T>>, EntryError> {
    if !f.has(name) {
        return Ok(None);
    }
    let items = f.array(name)?;
    if items.len() > most {
        return Err(EntryError::malformed(
            f.at(name),
            format!("at most {most} items"),
        ));
    }
    distinct_items(&f.at(name), items, parse).map(Some)
}

impl ProjectOpened {
    pub(super) fn parse(value: &serde_json::Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(
            value,
            path,
            &[
                "project",
                "currency",
                "membership",
                "policies",
                "realizers",
                "note",
            ],
        )?;
        Ok(ProjectOpened {
            project: f.parse("project", Slug::parse)?,
            currency: f.parse("currency", Currency::parse)?,
            membership: f
                .parse_opt("membership", Membership::parse)?
                .unwrap_or(Membership::Members),
            policies: list(&f, "policies", MAX_PROJECT_LIST, ContentDigest::parse)?
                .unwrap_or_default(),
            realizers: list(&f, "realizers", MAX_PROJECT_LIST, Slug::parse)?.unwrap_or_default(),
            note: f.parse_opt("note", Commitment::parse)?,
        })
    }
}

impl ProjectUpdated {
    pub(super) fn parse(value: &serde_json::Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(
            value,
            path,
            &["project", "owner", "policies", "realizers", "note"],
        )?;
        let updated = ProjectUpdated {
            project: f.parse("project", Slug::parse)?,
            owner: f.parse_opt("owner", Slug::parse)?,
            policies: list(&f, "policies", MAX_PROJECT_LIST, ContentDigest::parse)?,
            realizers: list(&f, "realizers", MAX_PROJECT_LIST, Slug::parse)?,
            note: f.parse_opt("note", Commitment::parse)?,
        };
        if updated.owner.is_none() && updated.policies.is_none() && updated.realizers.is_none() {
            return Err(EntryError::malformed(
                path,
                "changes nothing: give \"owner\", \"policies\" or \"realizers\"",
            ));
        }
        Ok(updated)
    }
}

impl ProjectMembers {
    pub(super) fn parse(value: &serde_json::Value, path: &str) -> Result<Self, EntryError> {
        let f = Fields::new(value, path, &["project", "admit", "remove"])?;
        let admit = list(&f, "admit", MAX_MEMBERS_CHANGE, Slug::parse)?.unwrap_or_default();
        let remove = list(&f, "remove", MAX_MEMBERS_CHANGE, Slug::parse)?.unwrap_or_default();
        if admit.is_empty() && remove.is_empty() {
            return Err(EntryError::malformed(
                path,
                "changes nothing: give \"admit\" or \"remove\"",
            ));
        }
        if let Some(i) = remove.iter().position(|a| admit.contains(a)) {
            return Err(EntryError::malformed(
                format!("{}[{i}]", f.at("remove")),
                "also admitted by the same entry",
            ));
        }
        Ok(ProjectMembers {
            project: f.parse("project", Slug::parse)?,
            admit,
            remove,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::entry::body::{Body, EntryType};
    use serde_json::json;

    fn field(entry_type: EntryType, body: serde_json::Value) -> String {
        Body::parse(entry_type, &body, "body")
            .expect_err("must be refused")
            .field
    }

    #[test]
    fn project_bodies_name_the_refused_field() {
        let policy = format!("blake3:{}", "ab".repeat(32));
        let opened = json!({"project": "novel", "currency": "EUR", "policies": [policy]});
        let Ok(Body::ProjectOpened(p)) = Body::parse(EntryType::ProjectOpened, &opened, "body")
        else {
            panic!("valid")
        };
        assert_eq!(p.membership, super::Membership::Members, "the default");
        let twice = json!({"project": "novel", "currency": "EUR", "policies": [policy, policy]});
        assert_eq!(field(EntryType::ProjectOpened, twice), "body.policies[1]");
        let open = json!({"project": "novel", "currency": "EUR", "membership": "all"});
        assert_eq!(field(EntryType::ProjectOpened, open), "body.membership");
        let nothing = json!({"project": "novel"});
        assert_eq!(field(EntryType::ProjectUpdated, nothing), "body");
        let both = json!({"project": "novel", "admit": ["a", "b"], "remove": ["b"]});
        assert_eq!(field(EntryType::ProjectMembers, both), "body.remove[0]");
        let empty = json!({"project": "novel", "admit": []});
        assert_eq!(field(EntryType::ProjectMembers, empty), "body");
    }
}
