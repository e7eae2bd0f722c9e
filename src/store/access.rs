//! What the authorization table asks of the log: who signed an entry, who belongs to a
//! project, and whether an actor holds a regulator's read-all grant.

use super::{Store, StoreError};
use crate::entry::{ActorId, EntryId, Slug};

impl Store {
    /// The actor that signed entry `seq`, if the log holds it.
    pub async fn entry_signer(&self, seq: u64) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT actor FROM entries WHERE log_id = $1 AND seq = $2")
                .bind(&self.log_id)
                .bind(i64::try_from(seq).unwrap_or(i64::MAX))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(actor,)| actor))
    }

    /// The actor that signed the entry with id `id`, if the log holds it.
    pub async fn entry_signer_by_id(&self, id: &EntryId) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT actor FROM entries WHERE log_id = $1 AND id = $2")
                .bind(&self.log_id)
                .bind(id.0.as_slice())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(actor,)| actor))
    }

    /// Whether `actor` owns `project` now or is one of its members now.
    pub async fn in_project(&self, project: &Slug, actor: &ActorId) -> Result<bool, StoreError> {
        let (inside,): (bool,) = sqlx::query_as(
            "SELECT COALESCE((SELECT owner = $3 FROM project_terms
                               WHERE log_id = $1 AND project = $2 ORDER BY seq DESC LIMIT 1), false)
                 OR COALESCE((SELECT member FROM project_members
                               WHERE log_id = $1 AND project = $2 AND actor = $3
                               ORDER BY seq DESC LIMIT 1), false)",
        )
        .bind(&self.log_id)
        .bind(project.as_str())
        .bind(actor.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(inside)
    }
}
