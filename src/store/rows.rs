//! The rows an appended entry writes: its `entries` row, its allocation inputs and what its
//! effects add to the projections (actors, keys, revocations, policies, allocations,
//! project terms and members), gathered as columns and written with one INSERT per table. The sequencer's
//! append (`AppendTx::insert`) and the import of an exported log (`fairshare import`) both
//! write through [`Rows`]: they differ only in who chose the sequence numbers and
//! `received_at`.

use super::StoreError;
use super::append::AppendTx;
use super::decode::bigint;
use super::inputs::InputColumns;
use super::projects::{MemberRow, TermsRow};
use crate::crypto::PublicKey;
use crate::entry::body::Body;
use crate::entry::record::Effect;
use crate::entry::{ActorId, EntryId, SignedEntry};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// One entry to write, with the position and time the log gave it.
pub struct NewRow<'a> {
    pub seq: u64,
    pub id: EntryId,
    pub leaf_hash: [u8; 32],
    /// The leaf exactly as hashed.
    pub leaf: &'a [u8],
    /// The time inside the leaf, for the indexed column.
    pub received_at: DateTime<Utc>,
    pub entry: &'a SignedEntry,
    /// What the rules said accepting it changes.
    pub effects: &'a [Effect],
}

/// The columns of a batch of entries, in log order.
#[derive(Default)]
pub struct Rows {
    entries: EntryColumns,
    inputs: InputColumns,
    effects: EffectColumns,
    limits: LimitColumns,
    /// The projects of this batch's contributions: an endorsement of one of them takes its
    /// project from here, since an INSERT's subquery does not see the rows it inserts.
    contribution_projects: HashMap<EntryId, String>,
}

impl Rows {
    /// How many entries the batch holds.
    pub fn len(&self) -> usize {
        self.entries.seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.seq.is_empty()
    }

    /// Adds an entry's rows.
    pub fn push(&mut self, row: NewRow<'_>) -> Result<(), StoreError> {
        let env = &row.entry.envelope;
        let seq = bigint(row.seq)?;
        if let Body::Contribution(c) = &env.body {
            self.contribution_projects
                .insert(row.id, c.project.as_str().to_owned());
        }
        let project = match &env.body {
            Body::Endorsement(e) => self.contribution_projects.get(&e.contribution).cloned(),
            body => body.project().map(|p| p.as_str().to_owned()),
        };
        self.entries.push(seq, &row, project);
        self.inputs.push(seq, &row.id, env);
        for effect in row.effects {
            self.effects.push(effect, seq);
            self.limits.push(effect, seq);
        }
        Ok(())
    }
}

/// The rows the effects of a batch add, column by column, each with the sequence number
/// of the entry that has the effect.
#[derive(Default)]
struct EffectColumns {
    /// actors: id, kind, operator, seq.
    registrations: (Vec<String>, Vec<String>, Vec<Option<String>>, Vec<i64>),
    /// actor_keys.
    keys: KeyColumns,
    /// key_revocations: actor, key id, seq.
    revocations: (Vec<String>, Vec<String>, Vec<i64>),
    /// policies: hash, name, seq.
    policies: (Vec<Vec<u8>>, Vec<String>, Vec<i64>),
    /// allocations: value entry id, seq.
    allocations: (Vec<Vec<u8>>, Vec<i64>),
    /// project_terms.
    terms: Vec<TermsRow>,
    /// project_members.
    members: Vec<MemberRow>,
    /// read_grants: auditor, seq, granted.
    read_grants: (Vec<String>, Vec<i64>, Vec<bool>),
}

impl EffectColumns {
    fn push(&mut self, effect: &Effect, seq: i64) {
        match effect {
            Effect::RegisterActor {
                actor,
                kind,
                operator,
                public_key,
            } => {
                let registrations = &mut self.registrations;
                registrations.0.push(actor.as_str().to_owned());
                registrations.1.push(kind.as_str().to_owned());
                registrations
                    .2
                    .push(operator.as_ref().map(|o| o.as_str().to_owned()));
                registrations.3.push(seq);
                push_key(&mut self.keys, actor, public_key, seq);
            }
            Effect::AddKey { actor, public_key } => {
                push_key(&mut self.keys, actor, public_key, seq)
            }
            Effect::RevokeKey { actor, key } => {
                self.revocations.0.push(actor.as_str().to_owned());
                self.revocations.1.push(key.to_string());
                self.revocations.2.push(seq);
            }
            Effect::AdoptPolicy { hash, name } => {
                self.policies.0.push(hash.0.to_vec());
                self.policies.1.push(name.as_str().to_owned());
                self.policies.2.push(seq);
            }
            Effect::Allocate { value_entry } => {
                self.allocations.0.push(value_entry.0.to_vec());
                self.allocations.1.push(seq);
            }
            // Derived from the entries themselves (entries_by_project).
            Effect::FirstContribution { .. } => {}
            Effect::SetTerms { project, terms } => self.terms.push(TermsRow {
                project: project.to_string(),
                seq,
                terms: terms.clone(),
            }),
            Effect::SetMember {
                project,
                actor,
                member,
            } => self.members.push(MemberRow {
                project: project.to_string(),
                actor: actor.to_string(),
                seq,
                member: *member,
            }),
            Effect::SetReadAll { auditor, granted } => {
                self.read_grants.0.push(auditor.as_str().to_owned());
                self.read_grants.1.push(seq);
                self.read_grants.2.push(*granted);
            }
            // Solver limits and policy costs are `LimitColumns`'; measurements are read
            // from the allocation inputs.
            Effect::SetLimits(_) | Effect::PricePolicy { .. } | Effect::Measure { .. } => {}
        }
    }
}

impl AppendTx {
    /// Inserts `rows`: the entries first, then the allocation inputs and projections that
    /// refer to them.
    pub async fn write_rows(&mut self, rows: &Rows) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.insert_entries(&rows.entries).await?;
        self.insert_inputs(&rows.inputs).await?;
        self.insert_effects(&rows.effects).await?;
        self.insert_limits(&rows.limits).await
    }

    /// The log's rows: one per entry.
    async fn insert_entries(&mut self, columns: &EntryColumns) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO entries (log_id, seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, received_at, refers_to)
             SELECT $1, u.seq, u.id, u.leaf_hash, u.leaf, u.entry_type, u.actor, u.nonce,
                    COALESCE(u.project, (SELECT c.project FROM entries c WHERE c.log_id = $1 AND c.id = u.refers_to)),
                    u.received_at, u.refers_to
               FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::bytea[])
                 AS u(seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, received_at, refers_to)",
        )
        .bind(&self.log_id)
        .bind(&columns.seq)
        .bind(&columns.id)
        .bind(&columns.leaf_hash)
        .bind(&columns.leaf)
        .bind(&columns.entry_type)
        .bind(&columns.actor)
        .bind(&columns.nonce)
        .bind(&columns.project)
        .bind(&columns.received_at)
        .bind(&columns.refers_to)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The rows the entries' effects add, one table after the other.
    async fn insert_effects(&mut self, effects: &EffectColumns) -> Result<(), StoreError> {
        let EffectColumns {
            registrations,
            keys,
            revocations,
            policies,
            allocations,
            terms,
            members,
            read_grants,
        } = effects;
        if !registrations.0.is_empty() {
            sqlx::query(
                "INSERT INTO actors (log_id, id, kind, operator, registered_seq)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::bigint[])",
            )
            .bind(&self.log_id)
            .bind(&registrations.0)
            .bind(&registrations.1)
            .bind(&registrations.2)
            .bind(&registrations.3)
            .execute(&mut *self.tx)
            .await?;
        }
        if !keys.0.is_empty() {
            sqlx::query(
                "INSERT INTO actor_keys (log_id, actor, key_id, public_key, added_seq)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bytea[], $5::bigint[])",
            )
            .bind(&self.log_id)
            .bind(&keys.0)
            .bind(&keys.1)
            .bind(&keys.2)
            .bind(&keys.3)
            .execute(&mut *self.tx)
            .await?;
        }
        if !revocations.0.is_empty() {
            sqlx::query(
                "INSERT INTO key_revocations (log_id, actor, key_id, revoked_seq)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[])",
            )
            .bind(&self.log_id)
            .bind(&revocations.0)
            .bind(&revocations.1)
            .bind(&revocations.2)
            .execute(&mut *self.tx)
            .await?;
        }
        if !policies.0.is_empty() {
            sqlx::query(
                "INSERT INTO policies (log_id, hash, name, adopted_seq)
                 SELECT $1, * FROM UNNEST($2::bytea[], $3::text[], $4::bigint[])",
            )
            .bind(&self.log_id)
            .bind(&policies.0)
            .bind(&policies.1)
            .bind(&policies.2)
            .execute(&mut *self.tx)
            .await?;
        }
        if !allocations.0.is_empty() {
            sqlx::query(
                "INSERT INTO allocations (log_id, value_id, allocation_seq)
                 SELECT $1, * FROM UNNEST($2::bytea[], $3::bigint[])",
            )
            .bind(&self.log_id)
            .bind(&allocations.0)
            .bind(&allocations.1)
            .execute(&mut *self.tx)
            .await?;
        }
        if !read_grants.0.is_empty() {
            sqlx::query(
                "INSERT INTO read_grants (log_id, auditor, seq, granted)
                 SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bool[])",
            )
            .bind(&self.log_id)
            .bind(&read_grants.0)
            .bind(&read_grants.1)
            .bind(&read_grants.2)
            .execute(&mut *self.tx)
            .await?;
        }
        self.write_projects(terms, members).await
    }
}

// --- Solver limits ---

/// The rows `limits.set` entries and priced policies add.
#[derive(Default)]
struct LimitColumns {
    /// solver_limits: seq, then each limit in `SolverLimits::FIELDS` order.
    limits: (Vec<i64>, [Vec<i64>; 4]),
    /// policy_costs: hash, exact limit, samples.
    costs: (Vec<Vec<u8>>, Vec<i64>, Vec<i64>),
}

impl LimitColumns {
    /// Counts beyond a `bigint` are stored as its largest value: no limit or policy
    /// reaches it (limits are at most 2^53 - 1, samples at most 10^9).
    fn push(&mut self, effect: &Effect, seq: i64) {
        let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        match effect {
            Effect::SetLimits(l) => {
                self.limits.0.push(seq);
                let values = [
                    l.exact_players,
                    l.sampled_marginals,
                    l.measured_players,
                    l.measurements,
                ];
                for (column, value) in self.limits.1.iter_mut().zip(values) {
                    column.push(big(value));
                }
            }
            Effect::PricePolicy { hash, cost } => {
                self.costs.0.push(hash.0.to_vec());
                self.costs.1.push(big(cost.exact_limit));
                self.costs.2.push(big(cost.samples));
            }
            _ => {}
        }
    }
}

impl AppendTx {
    async fn insert_limits(&mut self, columns: &LimitColumns) -> Result<(), StoreError> {
        let (seqs, [exact, sampled, players, measurements]) = &columns.limits;
        if !seqs.is_empty() {
            sqlx::query(
                "INSERT INTO solver_limits (log_id, seq, exact_players, sampled_marginals, measured_players, measurements)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
            )
            .bind(&self.log_id)
            .bind(seqs)
            .bind(exact)
            .bind(sampled)
            .bind(players)
            .bind(measurements)
            .execute(&mut *self.tx)
            .await?;
        }
        let (hashes, exact_limits, samples) = &columns.costs;
        if !hashes.is_empty() {
            sqlx::query(
                "INSERT INTO policy_costs (log_id, hash, exact_limit, samples)
                 SELECT $1, * FROM UNNEST($2::bytea[], $3::bigint[], $4::bigint[])",
            )
            .bind(&self.log_id)
            .bind(hashes)
            .bind(exact_limits)
            .bind(samples)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct EntryColumns {
    seq: Vec<i64>,
    id: Vec<Vec<u8>>,
    leaf_hash: Vec<Vec<u8>>,
    leaf: Vec<Vec<u8>>,
    entry_type: Vec<String>,
    actor: Vec<String>,
    nonce: Vec<String>,
    project: Vec<Option<String>>,
    received_at: Vec<DateTime<Utc>>,
    refers_to: Vec<Option<Vec<u8>>>,
}

impl EntryColumns {
    fn push(&mut self, seq: i64, row: &NewRow<'_>, project: Option<String>) {
        let env = &row.entry.envelope;
        self.seq.push(seq);
        self.id.push(row.id.0.to_vec());
        self.leaf_hash.push(row.leaf_hash.to_vec());
        self.leaf.push(row.leaf.to_vec());
        self.entry_type.push(env.entry_type.as_str().to_owned());
        self.actor.push(env.actor.as_str().to_owned());
        self.nonce.push(env.nonce.as_str().to_owned());
        self.project.push(project);
        self.received_at.push(row.received_at);
        self.refers_to.push(match &env.body {
            Body::Endorsement(e) => Some(e.contribution.0.to_vec()),
            Body::Allocation(a) => Some(a.value_entry.0.to_vec()),
            _ => None,
        });
    }
}

type KeyColumns = (Vec<String>, Vec<String>, Vec<Vec<u8>>, Vec<i64>);

fn push_key(keys: &mut KeyColumns, actor: &ActorId, public_key: &PublicKey, seq: i64) {
    keys.0.push(actor.as_str().to_owned());
    keys.1.push(public_key.key_id().to_string());
    keys.2.push(public_key.to_bytes().to_vec());
    keys.3.push(seq);
}
