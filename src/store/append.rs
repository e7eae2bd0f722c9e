//! The append transaction: one per batch, serialized across processes by an advisory lock.

use super::decode::{bigint, entry_id, hash32, parse_kind, slug, stored_received_at};
use super::inputs::InputColumns;
use super::{Store, StoreError};
use crate::crypto::{KeyId, PublicKey, hash};
use crate::entry::body::{Body, EntryType};
use crate::entry::record::{ActorRecord, Effect, EntryRef, KeyRecord, ProjectRecord};
use crate::entry::{ActorId, ContentDigest, SignedEntry};
use crate::ledger::batch::{Plan, Receipt, Snapshot, StoredNonce};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use std::collections::BTreeSet;

pub struct AppendTx {
    pub(super) tx: Transaction<'static, Postgres>,
    pub(super) log_id: String,
}

impl Store {
    /// Begins the append transaction and takes the log's advisory lock, so the head read
    /// next is the head this transaction extends: no gaps, no forks, whatever the number
    /// of server processes.
    pub async fn begin_append(&self) -> Result<AppendTx, StoreError> {
        let mut tx = self.pool.begin().await?;
        let digest = hash::derive(
            "fairshare 2026-11 log advisory lock v1",
            self.log_id.as_bytes(),
        );
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(i64::from_be_bytes(key))
            .execute(&mut *tx)
            .await?;
        Ok(AppendTx {
            tx,
            log_id: self.log_id.clone(),
        })
    }
}

impl AppendTx {
    /// The sequence number the next entry gets.
    pub async fn next_seq(&mut self) -> Result<u64, StoreError> {
        let (next,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(seq) + 1, 0) FROM entries WHERE log_id = $1")
                .bind(&self.log_id)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(next as u64)
    }

    /// Everything `entries` can touch: their actors and those actors' keys, the entries they
    /// reference, and earlier entries under the same (actor, nonce).
    pub async fn load_snapshot(&mut self, entries: &[SignedEntry]) -> Result<Snapshot, StoreError> {
        let mut referenced = BTreeSet::new();
        let (mut nonce_actors, mut nonces) = (Vec::new(), Vec::new());
        for entry in entries {
            let env = &entry.envelope;
            referenced.extend(
                entry
                    .referenced_entries()
                    .into_iter()
                    .map(|id| id.0.to_vec()),
            );
            nonce_actors.push(env.actor.as_str().to_owned());
            nonces.push(env.nonce.as_str().to_owned());
        }
        let referenced: Vec<Vec<u8>> = referenced.into_iter().collect();
        let mut snapshot = Snapshot::default();
        load_signers(&mut self.tx, &self.log_id, entries, &mut snapshot).await?;
        self.load_projections(entries, &mut snapshot).await?;

        let rows: Vec<(Vec<u8>, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, entry_type, actor, project FROM entries WHERE log_id = $1 AND id = ANY($2)",
        )
        .bind(&self.log_id)
        .bind(&referenced)
        .fetch_all(&mut *self.tx)
        .await?;
        for (id, entry_type, actor, project) in rows {
            let entry_type = EntryType::parse(&entry_type).map_err(StoreError::Corrupt)?;
            snapshot.entries.insert(
                entry_id(&id)?,
                EntryRef {
                    entry_type,
                    actor: slug(&actor)?,
                    project: project.as_deref().map(slug).transpose()?,
                },
            );
        }

        let rows: Vec<NonceRow> = sqlx::query_as(
            "SELECT e.actor, e.nonce, e.seq, e.id, e.leaf_hash, e.leaf
               FROM entries e
               JOIN UNNEST($2::text[], $3::text[]) AS n(actor, nonce) ON e.actor = n.actor AND e.nonce = n.nonce
              WHERE e.log_id = $1",
        )
        .bind(&self.log_id)
        .bind(&nonce_actors)
        .bind(&nonces)
        .fetch_all(&mut *self.tx)
        .await?;
        for (actor, nonce, seq, id, leaf_hash, leaf) in rows {
            let received_at = stored_received_at(&leaf)?;
            let receipt = Receipt {
                seq: seq as u64,
                id: entry_id(&id)?,
                leaf_hash: hash32(&leaf_hash)?,
                received_at,
            };
            snapshot
                .nonces
                .insert((slug(&actor)?, nonce), StoredNonce { receipt, leaf });
        }
        Ok(snapshot)
    }

    /// What `entries` need of the other projections: adopted policies, their projects'
    /// contributions and currency, and which value entries are allocated already.
    async fn load_projections(
        &mut self,
        entries: &[SignedEntry],
        snapshot: &mut Snapshot,
    ) -> Result<(), StoreError> {
        let (mut hashes, mut projects, mut allocated) =
            (BTreeSet::new(), BTreeSet::new(), Vec::new());
        for entry in entries {
            match &entry.envelope.body {
                Body::ValueRealized(v) => {
                    hashes.insert(v.policy.0.to_vec());
                    projects.insert(v.project.as_str().to_owned());
                }
                Body::PolicyAdopted(p) => {
                    hashes.insert(p.hash.0.to_vec());
                }
                Body::Contribution(c) => {
                    projects.insert(c.project.as_str().to_owned());
                }
                Body::Allocation(a) => {
                    allocated.push(a.value_entry.0.to_vec());
                }
                _ => {}
            }
        }
        if !allocated.is_empty() {
            let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
                "SELECT value_id FROM allocations WHERE log_id = $1 AND value_id = ANY($2)",
            )
            .bind(&self.log_id)
            .bind(&allocated)
            .fetch_all(&mut *self.tx)
            .await?;
            for (id,) in rows {
                snapshot.allocated.insert(entry_id(&id)?);
            }
        }
        if !hashes.is_empty() {
            let hashes: Vec<Vec<u8>> = hashes.into_iter().collect();
            let rows: Vec<(Vec<u8>,)> =
                sqlx::query_as("SELECT hash FROM policies WHERE log_id = $1 AND hash = ANY($2)")
                    .bind(&self.log_id)
                    .bind(&hashes)
                    .fetch_all(&mut *self.tx)
                    .await?;
            for (hash,) in rows {
                snapshot.policies.insert(ContentDigest(hash32(&hash)?));
            }
        }
        if !projects.is_empty() {
            let projects: Vec<String> = projects.into_iter().collect();
            let rows: Vec<(String, bool, Option<String>)> = sqlx::query_as(
                "SELECT p.project,
                        EXISTS (SELECT 1 FROM entries e WHERE e.log_id = $1 AND e.project = p.project AND e.entry_type = 'contribution'),
                        c.currency
                   FROM UNNEST($2::text[]) AS p(project)
                   LEFT JOIN project_currencies c ON c.log_id = $1 AND c.project = p.project",
            )
            .bind(&self.log_id)
            .bind(&projects)
            .fetch_all(&mut *self.tx)
            .await?;
            for (project, has_contributions, currency) in rows {
                snapshot.projects.insert(
                    slug(&project)?,
                    ProjectRecord {
                        has_contributions,
                        currency,
                    },
                );
            }
        }
        Ok(())
    }

    /// Inserts the batch's appended entries and their effects on the projections.
    pub async fn insert(
        &mut self,
        plan: &Plan,
        entries: &[SignedEntry],
        received_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if plan.accepted.is_empty() {
            return Ok(());
        }
        let mut rows = EntryColumns::default();
        let mut inputs = InputColumns::default();
        let mut effects = EffectColumns::default();
        for accepted in &plan.accepted {
            let env = &entries[accepted.input].envelope;
            let seq = bigint(accepted.receipt.seq)?;
            rows.push(seq, accepted, env);
            inputs.push(seq, &accepted.receipt.id, env);
            for effect in &accepted.effects {
                effects.push(effect, seq);
            }
        }
        self.insert_entries(&rows, received_at).await?;
        self.insert_inputs(&inputs).await?;
        self.insert_effects(&effects).await
    }

    /// The log's rows: one per accepted entry.
    async fn insert_entries(
        &mut self,
        rows: &EntryColumns,
        received_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO entries (log_id, seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, received_at, refers_to)
             SELECT $1, u.seq, u.id, u.leaf_hash, u.leaf, u.entry_type, u.actor, u.nonce,
                    COALESCE(u.project, (SELECT c.project FROM entries c WHERE c.log_id = $1 AND c.id = u.refers_to)),
                    $10, u.refers_to
               FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[], $11::bytea[])
                 AS u(seq, id, leaf_hash, leaf, entry_type, actor, nonce, project, refers_to)",
        )
        .bind(&self.log_id)
        .bind(&rows.seq)
        .bind(&rows.id)
        .bind(&rows.leaf_hash)
        .bind(&rows.leaf)
        .bind(&rows.entry_type)
        .bind(&rows.actor)
        .bind(&rows.nonce)
        .bind(&rows.project)
        .bind(received_at)
        .bind(&rows.refers_to)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// The rows the accepted entries' effects add, one table after the other.
    async fn insert_effects(&mut self, effects: &EffectColumns) -> Result<(), StoreError> {
        let EffectColumns {
            registrations,
            keys,
            revocations,
            policies,
            allocations,
            currencies,
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
        if !currencies.0.is_empty() {
            sqlx::query(
                "INSERT INTO project_currencies (log_id, project, currency, fixed_seq)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[])",
            )
            .bind(&self.log_id)
            .bind(&currencies.0)
            .bind(&currencies.1)
            .bind(&currencies.2)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Commits durably (synchronous_commit is on): only then may receipts be given.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Loads into `snapshot` the actors `entries` name (signers, co-signers, operators, members
/// of measured coalitions) and all their keys with revocation status.
pub(super) async fn load_signers(
    conn: &mut sqlx::PgConnection,
    log_id: &str,
    entries: &[SignedEntry],
    snapshot: &mut Snapshot,
) -> Result<(), StoreError> {
    let mut actors = BTreeSet::new();
    for entry in entries {
        let env = &entry.envelope;
        actors.insert(env.actor.as_str().to_owned());
        actors.extend(
            entry
                .cosignatures
                .iter()
                .map(|c| c.actor.as_str().to_owned()),
        );
        match &env.body {
            Body::ActorRegistered(reg) => {
                actors.extend(reg.operator.iter().map(|o| o.as_str().to_owned()));
            }
            // The rules check that every member is registered.
            Body::CoalitionMeasured(m) => {
                actors.extend(m.members.iter().map(|a| a.as_str().to_owned()));
            }
            _ => {}
        }
    }
    let actors: Vec<String> = actors.into_iter().collect();
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, kind, operator FROM actors WHERE log_id = $1 AND id = ANY($2)")
            .bind(log_id)
            .bind(&actors)
            .fetch_all(&mut *conn)
            .await?;
    for (id, kind, operator) in rows {
        let record = ActorRecord {
            kind: parse_kind(&kind)?,
            operator: operator.map(|o| slug(&o)).transpose()?,
        };
        snapshot.actors.insert(slug(&id)?, record);
    }
    let rows: Vec<(String, String, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT k.actor, k.key_id, k.public_key, r.key_id IS NOT NULL
           FROM actor_keys k
           LEFT JOIN key_revocations r USING (log_id, actor, key_id)
          WHERE k.log_id = $1 AND k.actor = ANY($2)",
    )
    .bind(log_id)
    .bind(&actors)
    .fetch_all(&mut *conn)
    .await?;
    for (actor, key_id, public_key, revoked) in rows {
        let key_id = KeyId::parse(&key_id)
            .ok_or_else(|| StoreError::Corrupt(format!("key id {key_id:?}")))?;
        let public_key =
            PublicKey::from_bytes(&public_key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        snapshot.keys.insert(
            (slug(&actor)?, key_id),
            KeyRecord {
                public_key,
                revoked,
            },
        );
    }
    Ok(())
}

impl Store {
    /// The actors and keys `entries` name, read outside any append transaction: what
    /// submitters pre-verify signatures against before queuing (the sequencer re-checks).
    pub async fn signer_snapshot(&self, entries: &[SignedEntry]) -> Result<Snapshot, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut snapshot = Snapshot::default();
        load_signers(&mut conn, &self.log_id, entries, &mut snapshot).await?;
        Ok(snapshot)
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
    refers_to: Vec<Option<Vec<u8>>>,
}

impl EntryColumns {
    fn push(
        &mut self,
        seq: i64,
        accepted: &crate::ledger::batch::Accepted,
        env: &crate::entry::envelope::Envelope,
    ) {
        self.seq.push(seq);
        self.id.push(accepted.receipt.id.0.to_vec());
        self.leaf_hash.push(accepted.receipt.leaf_hash.to_vec());
        self.leaf.push(accepted.leaf.clone());
        self.entry_type.push(env.entry_type.as_str().to_owned());
        self.actor.push(env.actor.as_str().to_owned());
        self.nonce.push(env.nonce.as_str().to_owned());
        self.project
            .push(env.body.project().map(|p| p.as_str().to_owned()));
        self.refers_to.push(match &env.body {
            Body::Endorsement(e) => Some(e.contribution.0.to_vec()),
            Body::Allocation(a) => Some(a.value_entry.0.to_vec()),
            _ => None,
        });
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
    /// project_currencies: project, currency, seq.
    currencies: (Vec<String>, Vec<String>, Vec<i64>),
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
            Effect::OpenProject { .. } => {}
            Effect::FixCurrency { project, currency } => {
                self.currencies.0.push(project.as_str().to_owned());
                self.currencies.1.push(currency.clone());
                self.currencies.2.push(seq);
            }
        }
    }
}

/// actor, nonce, seq, id, leaf hash, leaf.
type NonceRow = (String, String, i64, Vec<u8>, Vec<u8>, Vec<u8>);

type KeyColumns = (Vec<String>, Vec<String>, Vec<Vec<u8>>, Vec<i64>);

fn push_key(keys: &mut KeyColumns, actor: &ActorId, public_key: &PublicKey, seq: i64) {
    keys.0.push(actor.as_str().to_owned());
    keys.1.push(public_key.key_id().to_string());
    keys.2.push(public_key.to_bytes().to_vec());
    keys.3.push(seq);
}
