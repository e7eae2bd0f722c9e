//! Stateful validation: who may sign what, given the ledger as it stands. Pure: the ledger
//! passes a [`LedgerView`] that already includes the earlier entries of the same batch.

use crate::crypto::{KeyId, PublicKey, Signature, SignatureCheck, verify_batch};
use crate::entry::body::{
    ActorKind, ActorRegistered, AllocationRecord, Body, CoalitionMeasured, Contribution,
    Endorsement, EntryType, KeyRevoked, KeyRotated, PolicyAdopted, ReadGrant, SolverLimits,
    ValueRealized,
};
use crate::entry::envelope::Envelope;
use crate::entry::fairplay::{Affiliation, Dispute, Ruling, RulingEffect};
use crate::entry::privacy::{Authority, CommittedField, Erasure};
use crate::entry::project::{Membership, ProjectMembers, ProjectOpened, ProjectUpdated};
use crate::entry::record::{
    ActorRecord, Effect, EntryRef, KeyRecord, MeasuredSize, PolicyCost, ProjectRecord,
    ProjectTerms, SERVER_ACTOR,
};
use crate::entry::{ActorId, ContentDigest, EntryError, EntryId, Rejection, SignedEntry, Slug};
use rayon::prelude::*;

/// What the rules need to know about the ledger.
pub trait LedgerView {
    fn actor(&self, id: &ActorId) -> Option<ActorRecord>;
    fn key(&self, actor: &ActorId, key: &KeyId) -> Option<KeyRecord>;
    fn active_key_count(&self, actor: &ActorId) -> usize;
    fn entry(&self, id: &EntryId) -> Option<EntryRef>;
    fn policy_adopted(&self, hash: &ContentDigest) -> bool;
    /// Whether an allocation entry already answers this value entry.
    fn allocated(&self, value_entry: &EntryId) -> bool;
    fn project(&self, project: &Slug) -> ProjectRecord;
    /// Whether the project's owner admitted `actor` (and has not removed it since).
    fn member(&self, project: &Slug, actor: &ActorId) -> bool;
    /// The solver limits in force: the last `limits.set`, else [`SolverLimits::DEFAULT`].
    fn limits(&self) -> SolverLimits;
    /// What the adopted policy's measured game may cost, when it has one.
    fn policy_cost(&self, hash: &ContentDigest) -> Option<PolicyCost>;
    /// The project's measurements so far.
    fn measured(&self, project: &Slug) -> MeasuredSize;
}

/// Who may register a human or ai actor through the API. Platforms and regulators are
/// attested whatever this says (the operator's key or a regulator's co-signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegistrationPolicy {
    /// Anyone proving possession of a key registers a human or ai actor.
    Open,
    /// A human or ai registration also needs a co-signature from a registered platform.
    PlatformCosigned,
}

#[derive(Debug, Clone)]
pub struct RuleSettings {
    pub registration: RegistrationPolicy,
    /// The server's own key: a registration signed by it was made by the server operator
    /// (`fairshare actor register`).
    pub server_key: PublicKey,
}

/// The outcome of the rules: the effects, and the signatures that still have to verify
/// (checked afterwards, in parallel, by the ledger).
#[derive(Debug, Clone)]
pub struct Checked {
    pub effects: Vec<Effect>,
    pub signatures: Vec<(PublicKey, Signature)>,
}

/// Applies every stateful rule to `entry`.
pub fn check(
    entry: &SignedEntry,
    view: &dyn LedgerView,
    settings: &RuleSettings,
) -> Result<Checked, EntryError> {
    let env = &entry.envelope;
    let signer_key = resolve_signer(entry, view, settings)?;
    let cosigners = resolve_cosigners(entry, view)?;
    let signatures = slot_signatures(entry, signer_key, &cosigners);
    let ctx = Context {
        env,
        view,
        settings,
        signer_key,
        signer_kind: view.actor(&env.actor).map(|a| a.kind),
        cosigners: &cosigners,
    };
    let effects = match &env.body {
        Body::ActorRegistered(reg) => registration(&ctx, reg)?,
        Body::KeyRotated(rot) => key_rotation(&ctx, rot)?,
        Body::KeyRevoked(rev) => key_revocation(&ctx, rev)?,
        Body::Contribution(c) => contribution(&ctx, c)?,
        Body::Endorsement(e) => endorsement(&ctx, e)?,
        Body::ValueRealized(v) => value_realization(&ctx, v)?,
        Body::PolicyAdopted(p) => policy_adoption(&ctx, p)?,
        Body::Allocation(a) => allocation(&ctx, a)?,
        Body::CoalitionMeasured(m) => coalition_measurement(&ctx, m)?,
        Body::ProjectOpened(p) => project_opening(&ctx, p)?,
        Body::ProjectUpdated(p) => project_update(&ctx, p)?,
        Body::ProjectMembers(p) => project_membership(&ctx, p)?,
        Body::LimitsSet(limits) => limits_setting(&ctx, limits)?,
        Body::Affiliation(a) => affiliation(&ctx, a)?,
        Body::Dispute(d) => dispute(&ctx, d)?,
        Body::Ruling(r) => ruling(&ctx, r)?,
        Body::Erasure(e) => erasure(&ctx, e)?,
        Body::ReadGranted(grant) => read_grant(&ctx, grant, true)?,
        Body::ReadRevoked(grant) => read_grant(&ctx, grant, false)?,
    };
    Ok(Checked {
        effects,
        signatures,
    })
}

/// What the rules of every entry type read: the envelope, the ledger, and who signed.
struct Context<'a> {
    env: &'a Envelope,
    view: &'a dyn LedgerView,
    settings: &'a RuleSettings,
    /// The key that made the main signature.
    signer_key: PublicKey,
    /// The signer's kind, when it is registered.
    signer_kind: Option<ActorKind>,
    cosigners: &'a [Cosigner],
}

impl Context<'_> {
    fn cosigned_by_kind(&self, kind: ActorKind) -> bool {
        self.cosigners.iter().any(|c| c.kind == Some(kind))
    }

    /// Whether the server operator signed (`fairshare actor register`).
    fn by_operator(&self) -> bool {
        self.signer_key == self.settings.server_key
    }
}

fn not_permitted<T>(field: &str, message: impl Into<String>) -> Result<T, EntryError> {
    Err(EntryError::new(Rejection::NotPermitted, field, message))
}

fn unknown_reference<T>(
    field: impl Into<String>,
    message: impl Into<String>,
) -> Result<T, EntryError> {
    Err(EntryError::new(Rejection::UnknownReference, field, message))
}

fn registration(ctx: &Context<'_>, reg: &ActorRegistered) -> Result<Vec<Effect>, EntryError> {
    let env = ctx.env;
    if env.actor.as_str() == SERVER_ACTOR {
        return not_permitted(
            "envelope.actor",
            format!("{SERVER_ACTOR:?} is reserved for the server's own entries"),
        );
    }
    if ctx.view.actor(&env.actor).is_some() {
        return Err(EntryError::new(
            Rejection::Conflict,
            "envelope.actor",
            format!("actor {} is already registered", env.actor),
        ));
    }
    let attested = ctx.by_operator() || ctx.cosigned_by_kind(ActorKind::Regulator);
    match reg.kind {
        // Platforms realize value and adopt policies, regulators read everything: whatever
        // the registration setting, an accountable party vouches for them.
        ActorKind::Platform | ActorKind::Regulator if !attested => {
            return not_permitted(
                "cosignatures",
                format!(
                    "a {} is registered by the log operator (the log's key) or co-signed by a registered regulator",
                    reg.kind.as_str()
                ),
            );
        }
        ActorKind::Ai => ai_operator(ctx, reg)?,
        _ => {}
    }
    let needs_platform = ctx.settings.registration == RegistrationPolicy::PlatformCosigned
        && matches!(reg.kind, ActorKind::Human | ActorKind::Ai);
    if needs_platform && !ctx.by_operator() && !ctx.cosigned_by_kind(ActorKind::Platform) {
        return not_permitted(
            "cosignatures",
            "this server registers actors only with a registered platform's co-signature",
        );
    }
    Ok(vec![Effect::RegisterActor {
        actor: env.actor.clone(),
        kind: reg.kind,
        operator: reg.operator.clone(),
        public_key: reg.public_key,
    }])
}

/// An ai actor's operator: a registered human or platform, co-signing the registration
/// unless the server operator makes it.
fn ai_operator(ctx: &Context<'_>, reg: &ActorRegistered) -> Result<(), EntryError> {
    let operator = reg.operator.as_ref().ok_or_else(|| {
        EntryError::malformed("envelope.body.operator", "required for an ai actor")
    })?;
    match ctx.view.actor(operator).map(|a| a.kind) {
        Some(ActorKind::Human | ActorKind::Platform) => {}
        Some(_) => {
            return not_permitted(
                "envelope.body.operator",
                format!("operator {operator} must be a human or platform actor"),
            );
        }
        None => {
            return Err(EntryError::new(
                Rejection::UnknownReference,
                "envelope.body.operator",
                format!("operator {operator} is not registered"),
            ));
        }
    }
    if !ctx.by_operator() && !ctx.cosigners.iter().any(|c| &c.actor == operator) {
        return not_permitted(
            "cosignatures",
            format!("an ai actor's registration needs its operator {operator}'s co-signature"),
        );
    }
    Ok(())
}

fn key_rotation(ctx: &Context<'_>, rot: &KeyRotated) -> Result<Vec<Effect>, EntryError> {
    let actor = &ctx.env.actor;
    let new_id = rot.public_key.key_id();
    if ctx.view.key(actor, &new_id).is_some() {
        return Err(EntryError::new(
            Rejection::Conflict,
            "envelope.body.public_key",
            format!("key {new_id} is already a key of {actor}"),
        ));
    }
    if !ctx
        .cosigners
        .iter()
        .any(|c| &c.actor == actor && c.key == new_id)
    {
        return not_permitted(
            "cosignatures",
            format!("the new key {new_id} must co-sign the rotation (proof of possession)"),
        );
    }
    let mut effects = vec![Effect::AddKey {
        actor: actor.clone(),
        public_key: rot.public_key,
    }];
    if let Some(retire) = rot.retire {
        require_active_key(ctx.view, actor, retire, "envelope.body.retire")?;
        effects.push(Effect::RevokeKey {
            actor: actor.clone(),
            key: retire,
        });
    }
    Ok(effects)
}

fn key_revocation(ctx: &Context<'_>, rev: &KeyRevoked) -> Result<Vec<Effect>, EntryError> {
    let actor = &ctx.env.actor;
    require_active_key(ctx.view, actor, rev.key, "envelope.body.key")?;
    if ctx.view.active_key_count(actor) <= 1 {
        return not_permitted(
            "envelope.body.key",
            "cannot revoke an actor's last active key; rotate to a new key with \"retire\" instead",
        );
    }
    Ok(vec![Effect::RevokeKey {
        actor: actor.clone(),
        key: rev.key,
    }])
}

/// `read.granted` and `read.revoked`: a regulator decides who else reads the whole log
/// (PROTOCOL.md, "Who reads what"); the auditor is a registered actor.
fn read_grant(
    ctx: &Context<'_>,
    grant: &ReadGrant,
    granted: bool,
) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind != Some(ActorKind::Regulator) {
        return not_permitted(
            "envelope.actor",
            "only a regulator grants or revokes reading the whole log",
        );
    }
    if ctx.view.actor(&grant.auditor).is_none() {
        return unknown_reference(
            "envelope.body.auditor",
            format!("no actor {} is registered", grant.auditor),
        );
    }
    Ok(vec![Effect::SetReadAll {
        auditor: grant.auditor.clone(),
        granted,
    }])
}

fn contribution(ctx: &Context<'_>, c: &Contribution) -> Result<Vec<Effect>, EntryError> {
    require_member(ctx, &c.project, "envelope.body.project")?;
    let first =
        (!ctx.view.project(&c.project).has_contributions).then(|| Effect::FirstContribution {
            project: c.project.clone(),
        });
    for (i, id) in c.builds_on.iter().enumerate() {
        let field = format!("envelope.body.builds_on[{i}]");
        match ctx.view.entry(id) {
            Some(r) if r.entry_type == EntryType::Contribution => {}
            Some(r) => {
                return Err(EntryError::new(
                    Rejection::UnknownReference,
                    field,
                    format!(
                        "entry {id} is a {}, not a contribution",
                        r.entry_type.as_str()
                    ),
                ));
            }
            None => {
                return Err(EntryError::new(
                    Rejection::UnknownReference,
                    field,
                    format!("no entry {id} in the log"),
                ));
            }
        }
    }
    Ok(first.into_iter().collect())
}

fn endorsement(ctx: &Context<'_>, e: &Endorsement) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind != Some(ActorKind::Human) {
        return not_permitted("envelope.actor", "only human actors endorse contributions");
    }
    let field = "envelope.body.contribution";
    match ctx.view.entry(&e.contribution) {
        Some(r) if r.entry_type != EntryType::Contribution => Err(EntryError::new(
            Rejection::UnknownReference,
            field,
            format!(
                "entry {} is a {}, not a contribution",
                e.contribution,
                r.entry_type.as_str()
            ),
        )),
        Some(r) if r.actor == ctx.env.actor => {
            not_permitted(field, "an actor cannot endorse its own contribution")
        }
        Some(r) => {
            if let Some(project) = &r.project {
                require_member(ctx, project, field)?;
            }
            Ok(Vec::new())
        }
        None => Err(EntryError::new(
            Rejection::UnknownReference,
            field,
            format!("no entry {} in the log", e.contribution),
        )),
    }
}

fn value_realization(ctx: &Context<'_>, v: &ValueRealized) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind != Some(ActorKind::Platform) {
        return not_permitted(
            "envelope.actor",
            "only platform actors declare realized value",
        );
    }
    let terms = realizer_terms(ctx, &v.project)?;
    if !ctx.view.policy_adopted(&v.policy) {
        return unknown_reference(
            "envelope.body.policy",
            format!("no policy {} was adopted", v.policy),
        );
    }
    if !terms.policies.contains(&v.policy) {
        return not_permitted(
            "envelope.body.policy",
            format!(
                "project {} does not admit policy {}; its owner {} admits policies (project.updated)",
                v.project, v.policy, terms.owner
            ),
        );
    }
    within_limits(ctx.view, v)?;
    if !ctx.view.project(&v.project).has_contributions {
        return unknown_reference(
            "envelope.body.project",
            format!("project {} has no contributions to allocate to", v.project),
        );
    }
    if terms.currency != v.currency.code() {
        return Err(EntryError::new(
            Rejection::Conflict,
            "envelope.body.currency",
            format!(
                "currency mismatch: project {} realizes value in {}, not {}",
                v.project, terms.currency, v.currency
            ),
        ));
    }
    Ok(Vec::new())
}

fn policy_adoption(ctx: &Context<'_>, p: &PolicyAdopted) -> Result<Vec<Effect>, EntryError> {
    if !matches!(
        ctx.signer_kind,
        Some(ActorKind::Platform | ActorKind::Regulator)
    ) {
        return not_permitted(
            "envelope.actor",
            "only platform and regulator actors adopt policies",
        );
    }
    if ctx.view.policy_adopted(&p.hash) {
        return Err(EntryError::new(
            Rejection::Conflict,
            "envelope.body.hash",
            format!("policy {} is already adopted", p.hash),
        ));
    }
    let policy = crate::policy::Policy::parse(p.text.as_bytes()).map_err(|e| {
        EntryError::malformed("envelope.body.text", format!("not a valid policy: {e}"))
    })?;
    let mut effects = vec![Effect::AdoptPolicy {
        hash: p.hash,
        name: p.name.clone(),
    }];
    if let Some(cost) = policy_cost(&policy) {
        fits_limits(&cost, &ctx.view.limits(), "envelope.body.text")?;
        effects.push(Effect::PricePolicy { hash: p.hash, cost });
    }
    Ok(effects)
}

fn allocation(ctx: &Context<'_>, a: &AllocationRecord) -> Result<Vec<Effect>, EntryError> {
    if ctx.env.actor.as_str() != SERVER_ACTOR || ctx.signer_key != ctx.settings.server_key {
        return not_permitted("envelope.actor", "only the server appends allocations");
    }
    match ctx.view.entry(&a.value_entry) {
        Some(r) if r.entry_type == EntryType::ValueRealized => {
            if r.project.as_ref() != Some(&a.project) {
                return Err(EntryError::malformed(
                    "envelope.body.project",
                    format!(
                        "the allocation names project {}, its value entry {} is of project {}",
                        a.project,
                        a.value_entry,
                        r.project.as_ref().map_or("none", Slug::as_str)
                    ),
                ));
            }
        }
        _ => {
            return Err(EntryError::new(
                Rejection::UnknownReference,
                "envelope.body.value_entry",
                format!("no value.realized entry {}", a.value_entry),
            ));
        }
    }
    if ctx.view.allocated(&a.value_entry) {
        return Err(EntryError::new(
            Rejection::Conflict,
            "envelope.body.value_entry",
            format!("value entry {} is already allocated", a.value_entry),
        ));
    }
    Ok(vec![Effect::Allocate {
        value_entry: a.value_entry,
    }])
}

fn coalition_measurement(
    ctx: &Context<'_>,
    m: &CoalitionMeasured,
) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind != Some(ActorKind::Platform) {
        return not_permitted(
            "envelope.actor",
            "only platform actors record measured coalitions",
        );
    }
    realizer_terms(ctx, &m.project)?;
    for (i, member) in m.members.iter().enumerate() {
        if ctx.view.actor(member).is_none() {
            return Err(EntryError::new(
                Rejection::UnknownReference,
                format!("envelope.body.members[{i}]"),
                format!("actor {member} is not registered"),
            ));
        }
    }
    Ok(vec![Effect::Measure {
        project: m.project.clone(),
        members: m.members.clone(),
    }])
}

// --- Fair play: affiliations, disputes and rulings (docs/PROTOCOL.md, "Fair play") ---

fn require_registered(ctx: &Context<'_>, actor: &ActorId, field: &str) -> Result<(), EntryError> {
    if ctx.view.actor(actor).is_none() {
        return unknown_reference(field, format!("actor {actor} is not registered"));
    }
    Ok(())
}

/// The affiliate declares its own affiliation; a regulator may record anyone's.
fn affiliation(ctx: &Context<'_>, a: &Affiliation) -> Result<Vec<Effect>, EntryError> {
    if a.affiliate != ctx.env.actor && ctx.signer_kind != Some(ActorKind::Regulator) {
        return not_permitted(
            "envelope.body.affiliate",
            "an actor declares only its own affiliations; a regulator records others'",
        );
    }
    require_registered(ctx, &a.affiliate, "envelope.body.affiliate")?;
    require_registered(ctx, &a.principal, "envelope.body.principal")?;
    Ok(Vec::new())
}

/// The entry types a dispute may contest.
const DISPUTABLE: [EntryType; 5] = [
    EntryType::Contribution,
    EntryType::Endorsement,
    EntryType::CoalitionMeasured,
    EntryType::Affiliation,
    EntryType::Allocation,
];

fn dispute(ctx: &Context<'_>, d: &Dispute) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind.is_none() {
        return not_permitted("envelope.actor", "only registered actors file disputes");
    }
    match ctx.view.entry(&d.target) {
        Some(r) if DISPUTABLE.contains(&r.entry_type) => Ok(Vec::new()),
        Some(r) => unknown_reference(
            "envelope.body.target",
            format!(
                "entry {} is a {}: a dispute contests a contribution, an endorsement, a \
                 coalition.measured, an affiliation or an allocation",
                d.target,
                r.entry_type.as_str()
            ),
        ),
        None => unknown_reference(
            "envelope.body.target",
            format!("no entry {} in the log", d.target),
        ),
    }
}

/// A regulator rules on a dispute. An effect that does not fit the disputed entry
/// (`exclude` of a measurement, say) changes nothing: `policy::rulings` applies each effect
/// only to the entry types it names.
fn ruling(ctx: &Context<'_>, r: &Ruling) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind != Some(ActorKind::Regulator) {
        return not_permitted("envelope.actor", "only regulators rule on disputes");
    }
    if !matches!(ctx.view.entry(&r.dispute), Some(d) if d.entry_type == EntryType::Dispute) {
        return unknown_reference(
            "envelope.body.dispute",
            format!("no dispute {} in the log", r.dispute),
        );
    }
    if let RulingEffect::Merge(members) = &r.effect {
        for (i, m) in members.iter().enumerate() {
            require_registered(ctx, &m.actor, &format!("envelope.body.members[{i}]"))?;
        }
    }
    Ok(Vec::new())
}

/// An erasure is made by the data subject (the actor whose entries hold every named field),
/// a registered regulator, or the server's retention setting (the server key); it names
/// existing entries and fields their type commits to. It changes no projection: the
/// disclosure store acts on it once it is in the log.
fn erasure(ctx: &Context<'_>, e: &Erasure) -> Result<Vec<Effect>, EntryError> {
    let permitted = match e.authority {
        Authority::Subject => ctx.env.actor.as_str() != SERVER_ACTOR,
        Authority::Regulator => ctx.signer_kind == Some(ActorKind::Regulator),
        Authority::Retention => {
            ctx.env.actor.as_str() == SERVER_ACTOR && ctx.signer_key == ctx.settings.server_key
        }
    };
    if !permitted {
        return not_permitted(
            "envelope.body.authority",
            format!(
                "{} cannot order an erasure on the authority of {:?}",
                ctx.env.actor,
                e.authority.as_str()
            ),
        );
    }
    for (i, named) in e.erased.iter().enumerate() {
        let at = format!("envelope.body.erased[{i}]");
        let Some(target) = ctx.view.entry(&named.entry) else {
            return unknown_reference(format!("{at}.entry"), format!("no entry {}", named.entry));
        };
        if !CommittedField::of(target.entry_type).contains(&named.field) {
            return unknown_reference(
                format!("{at}.field"),
                format!(
                    "a {} entry has no committed field {:?}",
                    target.entry_type.as_str(),
                    named.field.as_str()
                ),
            );
        }
        if e.authority == Authority::Subject && target.actor != ctx.env.actor {
            return not_permitted(
                &format!("{at}.entry"),
                format!(
                    "entry {} is {}'s: only its subject or a regulator erases it",
                    named.entry, target.actor
                ),
            );
        }
    }
    Ok(Vec::new())
}

// --- Solver limits: what an allocation may cost, published by `limits.set` ---

fn limits_setting(ctx: &Context<'_>, limits: &SolverLimits) -> Result<Vec<Effect>, EntryError> {
    if ctx.env.actor.as_str() != SERVER_ACTOR || ctx.signer_key != ctx.settings.server_key {
        return not_permitted(
            "envelope.actor",
            "only the server publishes its solver limits",
        );
    }
    Ok(vec![Effect::SetLimits(*limits)])
}

/// What solving `policy`'s measured game may cost; `None` without one (closed forms only).
pub fn policy_cost(policy: &crate::policy::Policy) -> Option<PolicyCost> {
    policy.measured.as_ref().map(|_| PolicyCost {
        exact_limit: policy.solver.exact_limit as u64,
        samples: policy.solver.samples,
    })
}

fn exceeded<T>(field: &str, limit: &str, message: String) -> Result<T, EntryError> {
    Err(EntryError::new(
        Rejection::LimitExceeded,
        field,
        format!("{message}: beyond the log's solver limit {limit}"),
    ))
}

/// A policy's worst case under `limits`: enumerating `exact_limit` players, or sampling its
/// measured game with as many players as the limits allow.
fn fits_limits(cost: &PolicyCost, limits: &SolverLimits, field: &str) -> Result<(), EntryError> {
    if cost.exact_limit > limits.exact_players {
        return exceeded(
            field,
            "exact_players",
            format!(
                "the policy solves up to {} players exactly, the limit is {}",
                cost.exact_limit, limits.exact_players
            ),
        );
    }
    let worst = cost.samples.saturating_mul(limits.measured_players);
    if worst > limits.sampled_marginals {
        return exceeded(
            field,
            "sampled_marginals",
            format!(
                "the policy's {} permutations of up to {} players are {worst} marginal \
                 evaluations, the limit is {}",
                cost.samples, limits.measured_players, limits.sampled_marginals
            ),
        );
    }
    Ok(())
}

/// A realized value whose measured game would cost more than the limits allow: its policy
/// (under the limits in force now), the project's measurements and their players.
fn within_limits(view: &dyn LedgerView, v: &ValueRealized) -> Result<(), EntryError> {
    let Some(cost) = view.policy_cost(&v.policy) else {
        return Ok(());
    };
    let limits = view.limits();
    fits_limits(&cost, &limits, "envelope.body.policy")?;
    let size = view.measured(&v.project);
    if size.measurements > limits.measurements {
        return exceeded(
            "envelope.body.project",
            "measurements",
            format!(
                "project {} has {} coalition.measured entries, the limit is {}",
                v.project, size.measurements, limits.measurements
            ),
        );
    }
    if size.players > limits.measured_players {
        return exceeded(
            "envelope.body.project",
            "measured_players",
            format!(
                "the measured game of project {} has {} players, the limit is {}",
                v.project, size.players, limits.measured_players
            ),
        );
    }
    Ok(())
}

/// The terms of `project`, which must have been opened (`field` names it in the entry).
fn opened_terms(
    ctx: &Context<'_>,
    project: &Slug,
    field: &str,
) -> Result<ProjectTerms, EntryError> {
    ctx.view.project(project).terms.ok_or_else(|| {
        EntryError::new(
            Rejection::UnknownReference,
            field,
            format!("project {project} was never opened (a platform opens it: project.opened)"),
        )
    })
}

/// The signer must be the project's owner or one of its realizers: who may speak for the
/// value it earns.
fn realizer_terms(ctx: &Context<'_>, project: &Slug) -> Result<ProjectTerms, EntryError> {
    let terms = opened_terms(ctx, project, "envelope.body.project")?;
    if !terms.may_realize(&ctx.env.actor) {
        return not_permitted(
            "envelope.actor",
            format!(
                "only project {project}'s owner {} and the realizers it names speak for its value",
                terms.owner
            ),
        );
    }
    Ok(terms)
}

/// With membership on, only the project's owner and its admitted members contribute and
/// endorse in it.
fn require_member(ctx: &Context<'_>, project: &Slug, field: &str) -> Result<(), EntryError> {
    let terms = opened_terms(ctx, project, field)?;
    let actor = &ctx.env.actor;
    if terms.members_only && &terms.owner != actor && !ctx.view.member(project, actor) {
        return not_permitted(
            "envelope.actor",
            format!(
                "{actor} is not a member of project {project}; its owner {} admits members (project.members)",
                terms.owner
            ),
        );
    }
    Ok(())
}

/// The signer must be the project's owner.
fn owner_terms(ctx: &Context<'_>, project: &Slug) -> Result<ProjectTerms, EntryError> {
    let terms = opened_terms(ctx, project, "envelope.body.project")?;
    if terms.owner != ctx.env.actor {
        return not_permitted(
            "envelope.actor",
            format!("only project {project}'s owner {} changes it", terms.owner),
        );
    }
    Ok(terms)
}

/// Every policy listed (at `field`) was adopted.
fn require_adopted(
    ctx: &Context<'_>,
    policies: &[ContentDigest],
    field: &str,
) -> Result<(), EntryError> {
    match policies.iter().position(|p| !ctx.view.policy_adopted(p)) {
        Some(i) => unknown_reference(
            format!("{field}[{i}]"),
            format!("no policy {} was adopted", policies[i]),
        ),
        None => Ok(()),
    }
}

fn is_platform(ctx: &Context<'_>, actor: &ActorId) -> bool {
    ctx.view.actor(actor).map(|r| r.kind) == Some(ActorKind::Platform)
}

/// Every actor listed (at `field`) is a registered platform.
fn require_platforms(ctx: &Context<'_>, actors: &[ActorId], field: &str) -> Result<(), EntryError> {
    match actors.iter().position(|a| !is_platform(ctx, a)) {
        Some(i) => unknown_reference(
            format!("{field}[{i}]"),
            format!("{} is not a registered platform", actors[i]),
        ),
        None => Ok(()),
    }
}

fn project_opening(ctx: &Context<'_>, p: &ProjectOpened) -> Result<Vec<Effect>, EntryError> {
    if ctx.signer_kind != Some(ActorKind::Platform) {
        return not_permitted("envelope.actor", "only platform actors open projects");
    }
    if ctx.view.project(&p.project).terms.is_some() {
        return Err(EntryError::new(
            Rejection::Conflict,
            "envelope.body.project",
            format!("project {} is already opened", p.project),
        ));
    }
    require_adopted(ctx, &p.policies, "envelope.body.policies")?;
    require_platforms(ctx, &p.realizers, "envelope.body.realizers")?;
    Ok(vec![Effect::SetTerms {
        project: p.project.clone(),
        terms: ProjectTerms {
            owner: ctx.env.actor.clone(),
            currency: p.currency.code().to_owned(),
            members_only: p.membership == Membership::Members,
            policies: p.policies.clone(),
            realizers: p.realizers.clone(),
        },
    }])
}

fn project_update(ctx: &Context<'_>, p: &ProjectUpdated) -> Result<Vec<Effect>, EntryError> {
    let mut terms = owner_terms(ctx, &p.project)?;
    if let Some(owner) = &p.owner {
        if !is_platform(ctx, owner) {
            return unknown_reference(
                "envelope.body.owner",
                format!("{owner} is not a registered platform"),
            );
        }
        terms.owner = owner.clone();
    }
    if let Some(policies) = &p.policies {
        require_adopted(ctx, policies, "envelope.body.policies")?;
        terms.policies = policies.clone();
    }
    if let Some(realizers) = &p.realizers {
        require_platforms(ctx, realizers, "envelope.body.realizers")?;
        terms.realizers = realizers.clone();
    }
    Ok(vec![Effect::SetTerms {
        project: p.project.clone(),
        terms,
    }])
}

fn project_membership(ctx: &Context<'_>, p: &ProjectMembers) -> Result<Vec<Effect>, EntryError> {
    owner_terms(ctx, &p.project)?;
    if let Some(i) = p.admit.iter().position(|a| ctx.view.actor(a).is_none()) {
        return unknown_reference(
            format!("envelope.body.admit[{i}]"),
            format!("actor {} is not registered", p.admit[i]),
        );
    }
    let change = |actors: &[ActorId], member: bool| {
        actors
            .iter()
            .map(|actor| Effect::SetMember {
                project: p.project.clone(),
                actor: actor.clone(),
                member,
            })
            .collect::<Vec<_>>()
    };
    let mut effects = change(&p.admit, true);
    effects.extend(change(&p.remove, false));
    Ok(effects)
}

/// The keys every signature of `entry` must verify under, in slot order (the main signature,
/// then each co-signature), without the other rules: for pre-verification outside the lock.
pub fn signing_keys(
    entry: &SignedEntry,
    view: &dyn LedgerView,
    settings: &RuleSettings,
) -> Result<Vec<(PublicKey, Signature)>, EntryError> {
    let signer_key = resolve_signer(entry, view, settings)?;
    let cosigners = resolve_cosigners(entry, view)?;
    Ok(slot_signatures(entry, signer_key, &cosigners))
}

fn slot_signatures(
    entry: &SignedEntry,
    signer_key: PublicKey,
    cosigners: &[Cosigner],
) -> Vec<(PublicKey, Signature)> {
    std::iter::once((signer_key, entry.signature))
        .chain(cosigners.iter().map(|c| (c.public_key, c.signature)))
        .collect()
}

/// The key that must have made the main signature.
fn resolve_signer(
    entry: &SignedEntry,
    view: &dyn LedgerView,
    settings: &RuleSettings,
) -> Result<PublicKey, EntryError> {
    let env = &entry.envelope;
    if env.actor.as_str() == SERVER_ACTOR {
        return if env.key == settings.server_key.key_id() {
            Ok(settings.server_key)
        } else {
            Err(EntryError::new(
                Rejection::UnknownSigner,
                "envelope.key",
                format!("{SERVER_ACTOR:?} signs only with the server key"),
            ))
        };
    }
    if let Body::ActorRegistered(reg) = &env.body {
        if env.key == reg.public_key.key_id() {
            return Ok(reg.public_key);
        }
        if env.key == settings.server_key.key_id() {
            return Ok(settings.server_key);
        }
        return Err(EntryError::new(
            Rejection::NotPermitted,
            "envelope.key",
            format!(
                "a registration is signed by the key it registers ({})",
                reg.public_key.key_id()
            ),
        ));
    }
    active_key(view, &env.actor, env.key, "envelope.key")
}

struct Cosigner {
    actor: ActorId,
    key: KeyId,
    kind: Option<ActorKind>,
    public_key: PublicKey,
    signature: Signature,
}

fn resolve_cosigners(
    entry: &SignedEntry,
    view: &dyn LedgerView,
) -> Result<Vec<Cosigner>, EntryError> {
    let env = &entry.envelope;
    let rotated_key = match &env.body {
        Body::KeyRotated(rot) => Some(rot.public_key),
        _ => None,
    };
    entry
        .cosignatures
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let field = format!("cosignatures[{i}].key");
            let public_key = match rotated_key {
                Some(new_key) if c.actor == env.actor && c.key == new_key.key_id() => new_key,
                _ => active_key(view, &c.actor, c.key, &field)?,
            };
            Ok(Cosigner {
                actor: c.actor.clone(),
                key: c.key,
                kind: view.actor(&c.actor).map(|a| a.kind),
                public_key,
                signature: c.signature,
            })
        })
        .collect()
}

fn active_key(
    view: &dyn LedgerView,
    actor: &ActorId,
    key: KeyId,
    field: &str,
) -> Result<PublicKey, EntryError> {
    match view.key(actor, &key) {
        Some(k) if !k.revoked => Ok(k.public_key),
        Some(_) => Err(EntryError::new(
            Rejection::RevokedKey,
            field,
            format!("key {key} of {actor} was revoked"),
        )),
        None if view.actor(actor).is_none() => Err(EntryError::new(
            Rejection::UnknownSigner,
            field,
            format!("actor {actor} is not registered"),
        )),
        None => Err(EntryError::new(
            Rejection::UnknownSigner,
            field,
            format!("{key} is not a key of {actor}"),
        )),
    }
}

fn require_active_key(
    view: &dyn LedgerView,
    actor: &ActorId,
    key: KeyId,
    field: &str,
) -> Result<(), EntryError> {
    match view.key(actor, &key) {
        Some(k) if !k.revoked => Ok(()),
        Some(_) => Err(EntryError::new(
            Rejection::Conflict,
            field,
            format!("key {key} is already revoked"),
        )),
        None => Err(EntryError::new(
            Rejection::UnknownReference,
            field,
            format!("{key} is not a key of {actor}"),
        )),
    }
}

/// Entries whose signatures one batch verification covers.
const SIGNATURE_BATCH: usize = 64;

/// Verifies the signatures of many entries, each under the keys [`check`] or
/// [`signing_keys`] resolved for it: one batch verification per slice of entries, on all
/// cores, and each entry alone only where its slice fails. One result per entry, in order.
pub fn verify_signatures(
    entries: &[(&SignedEntry, &[(PublicKey, Signature)])],
) -> Vec<Result<(), EntryError>> {
    // Nothing to verify (a batch all pre-verified): the sequencer's plan must not wait for a
    // rayon worker, busy with other submitters' pre-verification, to learn that.
    if entries.is_empty() {
        return Vec::new();
    }
    entries
        .par_chunks(SIGNATURE_BATCH)
        .flat_map_iter(|slice| {
            let messages: Vec<Vec<u8>> = slice.iter().map(|(e, _)| e.signing_message()).collect();
            let checks: Vec<SignatureCheck<'_>> = slice
                .iter()
                .zip(&messages)
                .flat_map(|((_, signatures), message)| {
                    signatures
                        .iter()
                        .map(move |(key, signature)| SignatureCheck {
                            key,
                            message,
                            signature,
                        })
                })
                .collect();
            let all_valid = verify_batch(&checks).is_ok();
            slice
                .iter()
                .zip(&messages)
                .map(|((_, signatures), message)| {
                    if all_valid {
                        Ok(())
                    } else {
                        verify_each(message, signatures)
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first signature of an entry that does not verify, named by its field.
fn verify_each(message: &[u8], signatures: &[(PublicKey, Signature)]) -> Result<(), EntryError> {
    for (i, (key, signature)) in signatures.iter().enumerate() {
        if key.verify(message, signature).is_err() {
            let field = if i == 0 {
                "signature".to_owned()
            } else {
                format!("cosignatures[{}].signature", i - 1)
            };
            return Err(EntryError::new(
                Rejection::BadSignature,
                field,
                format!("does not verify under key {}", key.key_id()),
            ));
        }
    }
    Ok(())
}
