//! What accepting an entry records: the projection rows (actors, keys, references to
//! earlier entries, projects) the rules read, and the effects that change them. The rules
//! themselves are in `ledger::rules`.

use super::body::{ActorKind, EntryType};
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
    /// The currency of the project's first realized value: later ones must match.
    pub currency: Option<String>,
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
    OpenProject {
        project: Slug,
    },
    /// The project's first realized value fixes its currency.
    FixCurrency {
        project: Slug,
        currency: String,
    },
    Allocate {
        value_entry: EntryId,
    },
}
