//! Reads behind allocation: pending value entries, adopted policy texts, actor records,
//! and the allocation entries the API lists (a project's inputs are in `inputs.rs`).

use super::decode::{bigint, decode_limits, entry_id, parse_kind, slug};
use super::{Store, StoreError};
use crate::entry::body::SolverLimits;
use crate::entry::record::ActorRecord;
use crate::entry::{ActorId, ContentDigest, EntryId};
use std::collections::HashMap;

/// A stored entry: sequence number, id and leaf bytes.
pub type LeafEntry = (u64, EntryId, Vec<u8>);

/// A query of (seq, id, leaf) rows, to which callers bind their parameters.
type LeafQuery<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, (i64, Vec<u8>, Vec<u8>), sqlx::postgres::PgArguments>;

/// The limits of the log's last `limits.set` before a position (one row, or none).
pub(super) const LIMITS_BEFORE: &str =
    "SELECT exact_players, sampled_marginals, measured_players, measurements
       FROM solver_limits WHERE log_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1";

/// Most rows one listing returns.
pub const MAX_LISTING: usize = 1000;

impl Store {
    /// The oldest `value.realized` entry that no allocation entry answers yet of each
    /// project not in `excluded`, oldest first, at most `limit`.
    pub async fn pending_values_of_other_projects(
        &self,
        excluded: &[String],
        limit: i64,
    ) -> Result<Vec<LeafEntry>, StoreError> {
        self.leaf_entries(
            "SELECT seq, id, leaf FROM (
                SELECT DISTINCT ON (e.project) e.seq, e.id, e.leaf FROM entries e
                 WHERE e.log_id = $1 AND e.entry_type = 'value.realized' AND e.project <> ALL($2)
                   AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.log_id = e.log_id AND a.value_id = e.id)
                 ORDER BY e.project, e.seq) oldest
              ORDER BY seq LIMIT $3",
            |q| q.bind(excluded.to_vec()).bind(limit),
        )
        .await
    }

    /// The solver limits of the log's last `limits.set`, if it has one.
    pub async fn solver_limits(&self) -> Result<Option<SolverLimits>, StoreError> {
        let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(LIMITS_BEFORE)
            .bind(&self.log_id)
            .bind(i64::MAX)
            .fetch_optional(&self.pool)
            .await?;
        row.map(decode_limits).transpose()
    }

    /// The project's contributions and endorsements, for `GET /v1/projects/{id}/contributions`.
    pub async fn project_contributions(&self, project: &str) -> Result<Vec<LeafEntry>, StoreError> {
        self.leaf_entries(
            "SELECT seq, id, leaf FROM entries
              WHERE log_id = $1 AND project = $2 AND entry_type IN ('contribution', 'endorsement')
              ORDER BY seq LIMIT 100000",
            |q| q.bind(project.to_owned()),
        )
        .await
    }

    /// Allocation entries from `since_seq` on, of one project or all, oldest first.
    pub async fn allocation_entries(
        &self,
        project: Option<&str>,
        since_seq: u64,
    ) -> Result<Vec<LeafEntry>, StoreError> {
        let (since_seq, limit) = (bigint(since_seq)?, bigint(MAX_LISTING as u64)?);
        self.leaf_entries(
            "SELECT seq, id, leaf FROM entries
              WHERE log_id = $1 AND entry_type = 'allocation' AND ($2::text IS NULL OR project = $2) AND seq >= $3
              ORDER BY seq LIMIT $4",
            |q| q.bind(project.map(str::to_owned)).bind(since_seq).bind(limit),
        )
        .await
    }

    /// The entry with this id, if it is of `entry_type`.
    pub async fn entry_by_id(
        &self,
        id: &EntryId,
        entry_type: &str,
    ) -> Result<Option<LeafEntry>, StoreError> {
        self.first_leaf_entry(
            "SELECT seq, id, leaf FROM entries WHERE log_id = $1 AND id = $2 AND entry_type = $3",
            |q| q.bind(id.0.to_vec()).bind(entry_type.to_owned()),
        )
        .await
    }

    /// The allocation entry that answers the value entry `value_id`.
    pub async fn allocation_of(&self, value_id: &EntryId) -> Result<Option<LeafEntry>, StoreError> {
        self.first_leaf_entry(
                "SELECT e.seq, e.id, e.leaf FROM allocations a JOIN entries e ON e.log_id = a.log_id AND e.seq = a.allocation_seq
                  WHERE a.log_id = $1 AND a.value_id = $2",
                |q| q.bind(value_id.0.to_vec()),
            )
        .await
    }

    /// The `policy.adopted` entry of the policy with this hash.
    pub async fn policy_entry(
        &self,
        hash: &ContentDigest,
    ) -> Result<Option<LeafEntry>, StoreError> {
        self.first_leaf_entry(
                "SELECT e.seq, e.id, e.leaf FROM policies p JOIN entries e ON e.log_id = p.log_id AND e.seq = p.adopted_seq
                  WHERE p.log_id = $1 AND p.hash = $2",
                |q| q.bind(hash.0.to_vec()),
            )
        .await
    }

    /// Kind and operator of each of `ids` that is registered.
    pub async fn actor_records(
        &self,
        ids: &[String],
    ) -> Result<HashMap<ActorId, ActorRecord>, StoreError> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, kind, operator FROM actors WHERE log_id = $1 AND id = ANY($2)",
        )
        .bind(&self.log_id)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, kind, operator)| {
                Ok((
                    slug(&id)?,
                    ActorRecord {
                        kind: parse_kind(&kind)?,
                        operator: operator.map(|o| slug(&o)).transpose()?,
                    },
                ))
            })
            .collect()
    }

    async fn first_leaf_entry<'q>(
        &self,
        sql: &'static str,
        bind: impl FnOnce(LeafQuery<'q>) -> LeafQuery<'q>,
    ) -> Result<Option<LeafEntry>, StoreError> {
        Ok(self.leaf_entries(sql, bind).await?.into_iter().next())
    }

    pub(super) async fn leaf_entries<'q>(
        &self,
        sql: &'static str,
        bind: impl FnOnce(LeafQuery<'q>) -> LeafQuery<'q>,
    ) -> Result<Vec<LeafEntry>, StoreError> {
        let rows = bind(sqlx::query_as(sql).bind(self.log_id.clone()))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|(seq, id, leaf)| Ok((seq as u64, entry_id(&id)?, leaf)))
            .collect()
    }
}
