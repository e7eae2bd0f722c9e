//! The append transaction: one per batch, serialized across processes by an advisory lock.

use super::decode::{
    count, decode_limits, entry_id, hash32, leaf_adds_key, leaf_registers, parse_kind, slug,
    stored_received_at,
};
use super::rows::{NewRow, Rows};
use super::{Store, StoreError};
use crate::crypto::{KeyId, PublicKey, hash};
use crate::entry::body::{Body, EntryType};
use crate::entry::fairplay::RulingEffect;
use crate::entry::record::{ActorRecord, EntryRef, KeyRecord, PolicyCost};
use crate::entry::{ContentDigest, SignedEntry};
use crate::ledger::batch::{Plan, Receipt, Snapshot, StoredNonce};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use std::borrow::Borrow;
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
        let (mut nonce_actors, mut nonces) = (Vec::new(), Vec::new());
        for entry in entries {
            nonce_actors.push(entry.envelope.actor.as_str().to_owned());
            nonces.push(entry.envelope.nonce.as_str().to_owned());
        }
        let mut snapshot = load_state(&mut self.tx, &self.log_id, entries, HEAD).await?;
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

    /// Inserts the batch's appended entries and their effects on the projections, all
    /// received at `received_at`.
    pub async fn insert(
        &mut self,
        plan: &Plan,
        entries: &[SignedEntry],
        received_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut rows = Rows::default();
        for accepted in &plan.accepted {
            rows.push(NewRow {
                seq: accepted.receipt.seq,
                id: accepted.receipt.id,
                leaf_hash: accepted.receipt.leaf_hash,
                leaf: &accepted.leaf,
                received_at,
                entry: &entries[accepted.input],
                effects: &accepted.effects,
            })?;
        }
        self.write_rows(&rows).await
    }

    /// Commits durably (synchronous_commit is on): only then may receipts be given. A
    /// connection lost during COMMIT leaves the outcome unknown (the transaction may be
    /// durable already); a refusal PostgreSQL answers means it was rolled back.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await.map_err(|error| {
            if super::database_unavailable(&error) {
                StoreError::CommitOutcomeUnknown(error)
            } else {
                StoreError::Database(error)
            }
        })
    }
}

/// No bound: the state at the head of the log, what the append reads under its lock.
const HEAD: i64 = i64::MAX;

/// The ledger's state that `entries` can touch, as it stood before sequence number `before`
/// (rows made by entries from `before` on are left out): their actors and those actors'
/// keys, the entries they reference, the policies, projects and allocations they name. Actor
/// and key rows count only where the leaf that made them says so (`decode::leaf_adds_key`).
pub(super) async fn load_state<E: Borrow<SignedEntry>>(
    conn: &mut sqlx::PgConnection,
    log_id: &str,
    entries: &[E],
    before: i64,
) -> Result<Snapshot, StoreError> {
    let referenced: BTreeSet<Vec<u8>> = entries
        .iter()
        .flat_map(|entry| entry.borrow().referenced_entries())
        .map(|id| id.0.to_vec())
        .collect();
    let referenced: Vec<Vec<u8>> = referenced.into_iter().collect();
    let mut snapshot = Snapshot::default();
    load_signers(&mut *conn, log_id, entries, before, &mut snapshot).await?;
    load_projections(&mut *conn, log_id, entries, before, &mut snapshot).await?;
    load_limits(&mut *conn, log_id, entries, before, &mut snapshot).await?;
    // Most single entries reference nothing: no round trip for them under the lock.
    let rows: Vec<(Vec<u8>, String, String, Option<String>)> = if referenced.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT id, entry_type, actor, project FROM entries WHERE log_id = $1 AND id = ANY($2) AND seq < $3",
        )
        .bind(log_id)
        .bind(&referenced)
        .bind(before)
        .fetch_all(&mut *conn)
        .await?
    };
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
    // After the referenced entries: an endorsement's project is its contribution's.
    super::projects::load(&mut *conn, log_id, entries, before, &mut snapshot).await?;
    Ok(snapshot)
}

/// What `entries` need of the other projections: adopted policies, their projects'
/// contributions and currency, and which value entries are allocated already.
async fn load_projections<E: Borrow<SignedEntry>>(
    conn: &mut sqlx::PgConnection,
    log_id: &str,
    entries: &[E],
    before: i64,
    snapshot: &mut Snapshot,
) -> Result<(), StoreError> {
    let (mut hashes, mut allocated) = (BTreeSet::new(), Vec::new());
    for entry in entries {
        match &entry.borrow().envelope.body {
            Body::ValueRealized(v) => {
                hashes.insert(v.policy.0.to_vec());
            }
            Body::PolicyAdopted(p) => {
                hashes.insert(p.hash.0.to_vec());
            }
            Body::ProjectOpened(p) => hashes.extend(p.policies.iter().map(|h| h.0.to_vec())),
            Body::ProjectUpdated(p) => {
                hashes.extend(p.policies.iter().flatten().map(|h| h.0.to_vec()))
            }
            Body::Allocation(a) => {
                allocated.push(a.value_entry.0.to_vec());
            }
            _ => {}
        }
    }
    if !allocated.is_empty() {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT value_id FROM allocations WHERE log_id = $1 AND value_id = ANY($2) AND allocation_seq < $3",
        )
        .bind(log_id)
        .bind(&allocated)
        .bind(before)
        .fetch_all(&mut *conn)
        .await?;
        for (id,) in rows {
            snapshot.allocated.insert(entry_id(&id)?);
        }
    }
    if !hashes.is_empty() {
        let hashes: Vec<Vec<u8>> = hashes.into_iter().collect();
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT hash FROM policies WHERE log_id = $1 AND hash = ANY($2) AND adopted_seq < $3",
        )
        .bind(log_id)
        .bind(&hashes)
        .bind(before)
        .fetch_all(&mut *conn)
        .await?;
        for (hash,) in rows {
            snapshot.policies.insert(ContentDigest(hash32(&hash)?));
        }
    }
    Ok(())
}

/// Loads into `snapshot` the actors `entries` name (signers, co-signers, operators, members
/// of measured coalitions) as registered before `before`, and all their keys added before
/// it, with revocation status. A row that the leaf it names did not make is left out.
pub(super) async fn load_signers<E: Borrow<SignedEntry>>(
    conn: &mut sqlx::PgConnection,
    log_id: &str,
    entries: &[E],
    before: i64,
    snapshot: &mut Snapshot,
) -> Result<(), StoreError> {
    let mut actors = BTreeSet::new();
    for entry in entries {
        let entry = entry.borrow();
        let env = &entry.envelope;
        actors.insert(env.actor.as_str().to_owned());
        actors.extend(
            entry
                .cosignatures
                .iter()
                .map(|c| c.actor.as_str().to_owned()),
        );
        named_by_body(&env.body, &mut actors);
    }
    let actors: Vec<String> = actors.into_iter().collect();
    let rows: Vec<(String, String, Option<String>, Vec<u8>)> = sqlx::query_as(
        "SELECT a.id, a.kind, a.operator, e.leaf
           FROM actors a
           JOIN entries e ON e.log_id = a.log_id AND e.seq = a.registered_seq
          WHERE a.log_id = $1 AND a.id = ANY($2) AND a.registered_seq < $3",
    )
    .bind(log_id)
    .bind(&actors)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for (id, kind, operator, leaf) in rows {
        if !leaf_registers(&leaf, &id, &kind, operator.as_deref()) {
            continue;
        }
        let record = ActorRecord {
            kind: parse_kind(&kind)?,
            operator: operator.map(|o| slug(&o)).transpose()?,
        };
        snapshot.actors.insert(slug(&id)?, record);
    }
    let rows: Vec<VouchedKeyRow> = sqlx::query_as(
        "SELECT k.actor, k.key_id, k.public_key, r.key_id IS NOT NULL, e.leaf
           FROM actor_keys k
           JOIN entries e ON e.log_id = k.log_id AND e.seq = k.added_seq
           LEFT JOIN key_revocations r
                  ON r.log_id = k.log_id AND r.actor = k.actor AND r.key_id = k.key_id
                 AND r.revoked_seq < $3
          WHERE k.log_id = $1 AND k.actor = ANY($2) AND k.added_seq < $3",
    )
    .bind(log_id)
    .bind(&actors)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for (actor, key_id, public_key, revoked, leaf) in rows {
        let public_key =
            PublicKey::from_bytes(&public_key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if !leaf_adds_key(&leaf, &actor, &key_id, &public_key) {
            continue;
        }
        let key_id = KeyId::parse(&key_id)
            .ok_or_else(|| StoreError::Corrupt(format!("key id {key_id:?}")))?;
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

/// Adds to `actors` those `body` names whose registration the rules check.
fn named_by_body(body: &Body, actors: &mut BTreeSet<String>) {
    match body {
        Body::ActorRegistered(reg) => {
            actors.extend(reg.operator.iter().map(|o| o.as_str().to_owned()));
        }
        // The rules check that every member is registered.
        Body::CoalitionMeasured(m) => {
            actors.extend(m.members.iter().map(|a| a.as_str().to_owned()));
        }
        // The rules check that realizers and new owners are platforms, and that
        // admitted members are registered.
        Body::ProjectOpened(p) => actors.extend(p.realizers.iter().map(|a| a.to_string())),
        Body::ProjectUpdated(p) => actors.extend(
            p.owner
                .iter()
                .chain(p.realizers.iter().flatten())
                .map(|a| a.to_string()),
        ),
        Body::ProjectMembers(p) => actors.extend(p.admit.iter().map(|a| a.to_string())),
        // The rules check that both parties, and merged actors, are registered.
        Body::Affiliation(a) => {
            actors.extend([a.affiliate.to_string(), a.principal.to_string()]);
        }
        Body::Ruling(r) => {
            if let RulingEffect::Merge(members) = &r.effect {
                actors.extend(members.iter().map(|m| m.actor.to_string()));
            }
        }
        // The rules check that the auditor is registered.
        Body::ReadGranted(g) | Body::ReadRevoked(g) => {
            actors.insert(g.auditor.to_string());
        }
        _ => {}
    }
}

impl Store {
    /// The actors and keys `entries` name, read outside any append transaction: what
    /// submitters pre-verify signatures against before queuing (the sequencer re-checks).
    pub async fn signer_snapshot(&self, entries: &[SignedEntry]) -> Result<Snapshot, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut snapshot = Snapshot::default();
        load_signers(&mut conn, &self.log_id, entries, HEAD, &mut snapshot).await?;
        Ok(snapshot)
    }
}

/// actor, key id, public key, revoked, the leaf that added it.
type VouchedKeyRow = (String, String, Vec<u8>, bool, Vec<u8>);

/// actor, nonce, seq, id, leaf hash, leaf.
type NonceRow = (String, String, i64, Vec<u8>, Vec<u8>, Vec<u8>);

/// What pricing `entries` needs, as of the log before `before`: the solver limits in force
/// (for policies and realized values), the realized values' policy costs and their
/// projects' measurements.
async fn load_limits<E: Borrow<SignedEntry>>(
    conn: &mut sqlx::PgConnection,
    log_id: &str,
    entries: &[E],
    before: i64,
    snapshot: &mut Snapshot,
) -> Result<(), StoreError> {
    let (mut hashes, mut projects, mut adopts) = (BTreeSet::new(), BTreeSet::new(), false);
    for entry in entries {
        match &entry.borrow().envelope.body {
            Body::ValueRealized(v) => {
                hashes.insert(v.policy.0.to_vec());
                projects.insert(v.project.as_str().to_owned());
            }
            Body::PolicyAdopted(_) => adopts = true,
            _ => {}
        }
    }
    if hashes.is_empty() && !adopts {
        return Ok(());
    }
    let limits: Option<(i64, i64, i64, i64)> = sqlx::query_as(super::allocations::LIMITS_BEFORE)
        .bind(log_id)
        .bind(before)
        .fetch_optional(&mut *conn)
        .await?;
    snapshot.limits = limits.map(decode_limits).transpose()?;
    let hashes: Vec<Vec<u8>> = hashes.into_iter().collect();
    let rows: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(
        "SELECT c.hash, c.exact_limit, c.samples FROM policy_costs c
           JOIN policies p ON p.log_id = c.log_id AND p.hash = c.hash
          WHERE c.log_id = $1 AND c.hash = ANY($2) AND p.adopted_seq < $3",
    )
    .bind(log_id)
    .bind(&hashes)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for (hash, exact_limit, samples) in rows {
        let cost = PolicyCost {
            exact_limit: count(exact_limit)?,
            samples: count(samples)?,
        };
        snapshot
            .policy_costs
            .insert(ContentDigest(hash32(&hash)?), cost);
    }
    let projects: Vec<String> = projects.into_iter().collect();
    let rows: Vec<(String, i64, Vec<String>)> = sqlx::query_as(
        "SELECT p.project,
                (SELECT count(*) FROM measured_coalitions m
                  WHERE m.log_id = $1 AND m.project = p.project AND m.seq < $3),
                ARRAY(SELECT DISTINCT a FROM measured_coalitions m, unnest(m.members) a
                       WHERE m.log_id = $1 AND m.project = p.project AND m.seq < $3)
           FROM UNNEST($2::text[]) AS p(project)",
    )
    .bind(log_id)
    .bind(&projects)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for (project, measurements, players) in rows {
        let players = players.iter().map(|a| slug(a)).collect::<Result<_, _>>()?;
        snapshot
            .measured
            .insert(slug(&project)?, (count(measurements)?, players));
    }
    Ok(())
}
