//! Who reads what (DESIGN.md, "Who reads what"; PROTOCOL.md, "Access rules"): one table
//! giving every route its [`Rule`], and [`authorize`], the one function that applies it to
//! a request's [`Requester`]. Handlers hold no access checks: a request reaches one only
//! when its rule allowed it.

use super::AppState;
use super::allocations::involves;
use super::auth::{Requester, Role};
use super::error::ApiError;
use crate::client::layout;
use crate::entry::{ActorId, EntryId, Slug};
use crate::store::LeafEntry;
use axum::http::Method;
use serde_json::Value;
use std::collections::HashMap;

/// Who may use a route. Regulators and auditors pass every rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, without a signature: what makes the log verifiable by strangers.
    Public,
    /// Regulators and auditors only: the whole log, or figures over all of it.
    Everything,
    /// The actor named by `{id}`.
    OwnActor,
    /// The actor that signed entry `{seq}`.
    OwnEntry,
    /// The owner and current members of project `{id}`.
    ProjectMembers,
    /// The parties of the allocation `{id}` (or of the allocation of value entry `{id}`):
    /// its players, their payees, the value's realizer, and the project's owner and members.
    AllocationParties,
    /// A list of allocations filtered by `actor=` the requester, or by `project=` one it
    /// belongs to.
    AllocationList,
    /// The actor that signed entry `{entry}` (an entry id): the data subject of the
    /// personal data its commitments open. `--public-reads` never makes it public.
    DataSubject,
    /// Tiles: hash tiles are public (hashes, like proofs); entry bundles (`entries/...`)
    /// hold whole leaves, like leaf pages, and are for regulators and auditors only.
    Tile,
}

/// Every route and its rule. A route missing here is refused to all but regulators and
/// auditors (see [`rule_of`]), so a new route is private until it is listed.
pub const RULES: &[(&str, &str, Rule)] = &[
    ("GET", layout::HEALTH, Rule::Public),
    ("GET", layout::HEALTHZ, Rule::Public),
    ("GET", layout::READYZ, Rule::Public),
    // Counters and latencies by route template: no entry, actor or project appears.
    ("GET", layout::METRICS, Rule::Public),
    // An entry carries its own signature, checked by the ledger's rules.
    ("POST", layout::ENTRIES, Rule::Public),
    ("GET", layout::ENTRY, Rule::OwnEntry),
    ("GET", layout::ACTOR, Rule::OwnActor),
    ("GET", layout::LOG_KEY, Rule::Public),
    ("GET", layout::LOG_CHECKPOINT, Rule::Public),
    ("GET", layout::LOG_CHECKPOINT_OF_SIZE, Rule::Public),
    // Proofs are hashes: they show that an entry is in the log, never what it holds.
    ("GET", layout::INCLUSION_PROOF, Rule::Public),
    ("GET", layout::CONSISTENCY_PROOF, Rule::Public),
    ("GET", layout::LOG_ENTRIES, Rule::Everything),
    ("GET", layout::LOG_TILE, Rule::Tile),
    // A proof bundle carries the entry: its signer's, like the entry.
    ("GET", layout::ENTRY_PROOF, Rule::OwnEntry),
    // Witnesses read checkpoints and post cosignatures, which carry their own signatures.
    ("GET", layout::LOG_CHECKPOINT_TO_COSIGN, Rule::Public),
    ("POST", layout::LOG_COSIGNATURES, Rule::Public),
    ("GET", layout::ALLOCATIONS, Rule::AllocationList),
    ("GET", layout::ALLOCATION, Rule::AllocationParties),
    ("POST", layout::ALLOCATION_RETRY, Rule::AllocationParties),
    ("GET", layout::ALLOCATION_STATUS, Rule::AllocationParties),
    ("GET", layout::ALLOCATOR, Rule::Everything),
    ("GET", layout::PROJECT, Rule::ProjectMembers),
    ("GET", layout::PROJECT_CONTRIBUTIONS, Rule::ProjectMembers),
    // Policies are the published rules of division: everyone may read what applies.
    ("GET", layout::POLICY, Rule::Public),
    ("GET", layout::AUDIT_CONCENTRATION, Rule::Everything),
    ("GET", layout::AUDIT_REPORT, Rule::Everything),
    // A deposit proves itself: each opening must match its leaf's commitment, which only
    // the holder of the salt can make.
    ("POST", layout::DISCLOSURES, Rule::Public),
    ("GET", layout::DISCLOSURE, Rule::DataSubject),
];

/// The rule of `method` on the route template `route`; `None` for a request no route
/// matched (it answers 404 or 405 whoever asks).
pub fn rule_of(method: &Method, route: Option<&str>, public_reads: bool) -> Option<Rule> {
    let route = route?;
    // HEAD is answered by the GET route.
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let listed = RULES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, rule)| *rule);
    match listed {
        // Personal data stays private whatever the log's reads are.
        Some(Rule::DataSubject) => Some(Rule::DataSubject),
        // `--public-reads`: the log as it was before signed requests, fully public.
        _ if public_reads => Some(Rule::Public),
        Some(rule) => Some(rule),
        // A method the route does not answer: its 405 says which it does.
        None if RULES.iter().any(|(_, r, _)| *r == route) => None,
        None => Some(Rule::Everything),
    }
}

/// The request as the rules see it: the route's parameters and the query.
pub struct Target<'a> {
    /// `{name}` segments of the route template with the path's values.
    pub path: HashMap<&'a str, &'a str>,
    pub query: HashMap<String, String>,
}

impl<'a> Target<'a> {
    /// Pairs the route template's `{name}` segments with the path's segments; a
    /// `{*name}` segment takes the rest of the path.
    pub fn new(route: &'a str, path: &'a str, query: Option<&str>) -> Self {
        let mut params = HashMap::new();
        let mut rest = path.trim_start_matches('/');
        for template in route.trim_start_matches('/').split('/') {
            let (value, after) = rest.split_once('/').unwrap_or((rest, ""));
            if let Some(name) = template
                .strip_prefix("{*")
                .and_then(|t| t.strip_suffix('}'))
            {
                params.insert(name, rest);
                break;
            }
            if let Some(name) = template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                params.insert(name, value);
            }
            rest = after;
        }
        let query = query.and_then(|q| query_pairs(q).ok()).unwrap_or_default();
        Self {
            path: params,
            query,
        }
    }

    fn param(&self, name: &str) -> &str {
        self.path.get(name).copied().unwrap_or_default()
    }
}

/// The query's pairs, as the handlers' `Query` extractor reads them.
fn query_pairs(query: &str) -> Result<HashMap<String, String>, ApiError> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| ApiError::BadRequest("the query does not parse".into()))?;
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Applies `rule` to `requester` for `target`: `Ok` to let the request through, else the
/// 401 (a signature is needed) or 403 (this signer may not) that refuses it.
pub async fn authorize(
    state: &AppState,
    requester: &Requester,
    rule: Rule,
    target: &Target<'_>,
) -> Result<(), ApiError> {
    let hash_tile = rule == Rule::Tile && !target.param("path").starts_with("entries/");
    if rule == Rule::Public || hash_tile || requester.reads_everything() {
        return Ok(());
    }
    let Some(actor) = requester.actor() else {
        return Err(ApiError::Unauthenticated(
            "this route needs a signed request (PROTOCOL.md, \"Signed requests\")".into(),
        ));
    };
    let allowed = match rule {
        Rule::Public => true,
        Rule::Everything | Rule::Tile => false,
        Rule::OwnActor => target.param("id") == actor.as_str(),
        Rule::OwnEntry => own_entry(state, actor, target.param("seq")).await?,
        Rule::DataSubject => data_subject(state, actor, target.param("entry")).await?,
        Rule::ProjectMembers => in_project(state, actor, target.param("id")).await?,
        Rule::AllocationParties => allocation_party(state, actor, target.param("id")).await?,
        Rule::AllocationList => allocation_list(state, actor, &target.query).await?,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(refusal(rule, requester.role(), actor)))
    }
}

/// Why `actor` was refused, for the problem's detail.
fn refusal(rule: Rule, role: Role, actor: &ActorId) -> String {
    let who = match role {
        Role::Public | Role::Actor => format!("actor {actor}"),
        Role::Auditor | Role::Regulator => format!("{role:?} {actor}"),
    };
    let what = match rule {
        Rule::Public => "nothing",
        Rule::Everything | Rule::Tile => "only a regulator or an auditor reads this",
        Rule::OwnActor => "an actor reads only its own record",
        Rule::OwnEntry => "an actor reads only the entries it signed",
        Rule::DataSubject => {
            "personal data is shown only to its subject and to regulators and auditors"
        }
        Rule::ProjectMembers => "only the project's owner and members read this",
        Rule::AllocationParties => {
            "only the allocation's parties and its project's owner and members read this"
        }
        Rule::AllocationList => {
            "list allocations with actor=<yourself> or project=<a project of yours>"
        }
    };
    format!("{who} may not: {what}")
}

async fn own_entry(state: &AppState, actor: &ActorId, seq: &str) -> Result<bool, ApiError> {
    // A malformed number belongs to no one; the handler never sees it.
    let Ok(seq) = seq.parse::<u64>() else {
        return Ok(false);
    };
    Ok(state.store.entry_signer(seq).await?.as_deref() == Some(actor.as_str()))
}

async fn data_subject(state: &AppState, actor: &ActorId, entry: &str) -> Result<bool, ApiError> {
    let Ok(entry) = EntryId::parse(entry) else {
        return Ok(false);
    };
    Ok(state.store.entry_signer_by_id(&entry).await?.as_deref() == Some(actor.as_str()))
}

async fn in_project(state: &AppState, actor: &ActorId, project: &str) -> Result<bool, ApiError> {
    match Slug::parse(project) {
        Ok(project) => Ok(state.store.in_project(&project, actor).await?),
        Err(_) => Ok(false),
    }
}

/// The `envelope` of a stored leaf; a leaf that does not read is a damaged store.
fn envelope((seq, _, leaf): &LeafEntry) -> Result<Value, ApiError> {
    let stored: Value = serde_json::from_slice(leaf).map_err(|e| {
        ApiError::Store(crate::store::StoreError::Corrupt(format!(
            "leaf {seq}: {e}"
        )))
    })?;
    Ok(stored["envelope"].clone())
}

/// Whether `actor` is a party of the allocation (or pending allocation) `id`, or belongs
/// to its project. Unknown ids are refused like others' (their existence is not told).
async fn allocation_party(state: &AppState, actor: &ActorId, id: &str) -> Result<bool, ApiError> {
    let Ok(id) = EntryId::parse(id) else {
        return Ok(false);
    };
    let allocation = match state.store.entry_by_id(&id, "allocation").await? {
        Some(row) => Some(row),
        None => state.store.allocation_of(&id).await?,
    };
    let value_id = match &allocation {
        Some(row) => {
            let body = envelope(row)?["body"].clone();
            if involves(&body, actor.as_str()) {
                return Ok(true);
            }
            body["value_entry"]
                .as_str()
                .and_then(|v| EntryId::parse(v).ok())
        }
        None => Some(id),
    };
    let value = match value_id {
        Some(value_id) => state.store.entry_by_id(&value_id, "value.realized").await?,
        None => None,
    };
    let Some(value) = value else {
        return Ok(false);
    };
    let value = envelope(&value)?;
    if value["actor"] == actor.as_str() {
        return Ok(true);
    }
    in_project(
        state,
        actor,
        value["body"]["project"].as_str().unwrap_or_default(),
    )
    .await
}

async fn allocation_list(
    state: &AppState,
    actor: &ActorId,
    query: &HashMap<String, String>,
) -> Result<bool, ApiError> {
    if query.get("actor").is_some_and(|a| a == actor.as_str()) {
        return Ok(true);
    }
    match query.get("project") {
        Some(project) => in_project(state, actor, project).await,
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_pairs_the_template_with_the_path() {
        let target = Target::new(
            "/v1/entries/{seq}/proof",
            "/v1/entries/12/proof",
            Some("a=1"),
        );
        assert_eq!(target.param("seq"), "12");
        assert_eq!(target.query.get("a").map(String::as_str), Some("1"));
        let tile = Target::new(layout::LOG_TILE, "/v1/log/tile/entries/000.p/5", None);
        assert_eq!(tile.param("path"), "entries/000.p/5");
    }

    #[test]
    fn every_route_has_one_rule_and_public_reads_open_all_but_personal_data() {
        for (method, route, rule) in RULES {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            assert_eq!(rule_of(&method, Some(route), false), Some(*rule), "{route}");
            let public = match rule {
                Rule::DataSubject => Rule::DataSubject,
                _ => Rule::Public,
            };
            assert_eq!(rule_of(&method, Some(route), true), Some(public), "{route}");
        }
        assert_eq!(
            rule_of(&Method::GET, Some("/v1/unlisted"), false),
            Some(Rule::Everything)
        );
        assert_eq!(rule_of(&Method::GET, None, false), None);
    }
}
