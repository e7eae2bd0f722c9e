//! What accepting an entry records: the projection rows (actors, keys, references to
//! earlier entries, projects) the rules read, and the effects that change them. The rules
//! themselves are in `ledger::rules`.

use super::body::{ActorKind, EntryType, SolverLimits};
use super::ids::{ActorId, ContentDigest, EntryId, Slug};
use crate::crypto::{KeyId, PublicKey};

/// The actor id under which the server appends its own entries (allocations); no one can
/// register it.
pub const SERVER_ACTOR: &str = "server";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRecord {
    pub kind: ActorKind,
    pub operator: Option<ActorId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRecord {
    pub public_key: PublicKey,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    pub entry_type: EntryType,
    pub actor: ActorId,
    /// The project its body names (`Body::project`); read back from the store, an
    /// endorsement carries its contribution's. The rules read it for value entries only.
    pub project: Option<Slug>,
}

/// What the log says about a project so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectRecord {
    pub has_contributions: bool,
    /// Its terms since its `project.opened` (as last updated); `None` before it is opened.
    pub terms: Option<ProjectTerms>,
}

/// What a project's owner fixed: `project.opened`, then each `project.updated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectTerms {
    pub owner: ActorId,
    /// ISO 4217 code of every value realized on the project.
    pub currency: String,
    /// Only the owner and admitted members contribute and endorse.
    pub members_only: bool,
    /// The adopted policies value may be realized under.
    pub policies: Vec<ContentDigest>,
    /// The platforms besides the owner that may realize value.
    pub realizers: Vec<ActorId>,
}

impl ProjectTerms {
    pub fn may_realize(&self, actor: &ActorId) -> bool {
        &self.owner == actor || self.realizers.contains(actor)
    }
}

/// A change to the projections (actors, keys, policies, projects) that accepting the entry makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    RegisterActor {
        actor: ActorId,
        kind: ActorKind,
        operator: Option<ActorId>,
        public_key: PublicKey,
    },
    AddKey {
        actor: ActorId,
        public_key: PublicKey,
    },
    RevokeKey {
        actor: ActorId,
        key: KeyId,
    },
    AdoptPolicy {
        hash: ContentDigest,
        name: Slug,
    },
    /// The project's first contribution.
    FirstContribution {
        project: Slug,
    },
    /// `project.opened` or `project.updated`: the project's terms from now on.
    SetTerms {
        project: Slug,
        terms: ProjectTerms,
    },
    /// `project.members`: `actor` is a member of `project` from now on, or no longer.
    SetMember {
        project: Slug,
        actor: ActorId,
        member: bool,
    },
    Allocate {
        value_entry: EntryId,
    },
    /// `limits.set`: the solver limits from this entry on.
    SetLimits(SolverLimits),
    /// What the measured game of a policy adopted with it may cost.
    PricePolicy {
        hash: ContentDigest,
        cost: PolicyCost,
    },
    /// A `coalition.measured` entry of the project, naming these members.
    Measure {
        project: Slug,
        members: Vec<ActorId>,
    },
    /// `read.granted` or `read.revoked`: whether `auditor` reads the whole log from now on.
    SetReadAll {
        auditor: ActorId,
        granted: bool,
    },
}

// --- Solver limits ---

/// What the measured game of an adopted policy may cost to solve (a policy without one
/// solves in closed form): exactly up to `exact_limit` players, beyond by `samples`
/// permutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyCost {
    pub exact_limit: u64,
    pub samples: u64,
}

/// A project's measurements so far: how many `coalition.measured` entries, and how many
/// distinct actors they name (the players of its measured game, at most).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeasuredSize {
    pub measurements: u64,
    pub players: u64,
}
