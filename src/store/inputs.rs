//! The allocation inputs projection (migrations/0005): a project's contributions,
//! endorsements and measured coalitions as plain columns, inserted in the append transaction
//! of their entries and read back by the allocator as the policy's input records.

use super::append::AppendTx;
use super::decode::{bigint, entry_id};
use super::{Store, StoreError};
use crate::crypto::hash;
use crate::entry::body::{Body, Decision};
use crate::entry::decimal::parse_non_negative;
use crate::entry::envelope::Envelope;
use crate::entry::{EntryId, Slug};
use crate::policy::{Contribution, Endorsement, Inputs, MeasuredCoalition};
use futures::{TryFutureExt, TryStreamExt};
use sqlx::Row;

/// Columns of the batch's rows in the three tables, bound as arrays (one INSERT per table).
#[derive(Default)]
pub(super) struct InputColumns {
    contributions: ContributionColumns,
    endorsements: EndorsementColumns,
    measured: MeasuredColumns,
}

#[derive(Default)]
struct ContributionColumns {
    seq: Vec<i64>,
    id: Vec<Vec<u8>>,
    project: Vec<String>,
    actor: Vec<String>,
    kind: Vec<String>,
    unit: Vec<String>,
    quantity: Vec<String>,
    /// The ids each row builds on, concatenated (32 bytes each), as the column keeps them.
    builds_on: Vec<Vec<u8>>,
}

#[derive(Default)]
struct EndorsementColumns {
    seq: Vec<i64>,
    contribution: Vec<Vec<u8>>,
    endorser: Vec<String>,
    accept: Vec<bool>,
}

#[derive(Default)]
struct MeasuredColumns {
    seq: Vec<i64>,
    project: Vec<String>,
    /// Members joined by commas (a slug has none), split by the INSERT for the same reason.
    members: Vec<String>,
    worth: Vec<String>,
}

impl InputColumns {
    /// Adds the row of entry `seq` if it is an allocation input.
    pub(super) fn push(&mut self, seq: i64, id: &EntryId, env: &Envelope) {
        match &env.body {
            Body::Contribution(c) => {
                let rows = &mut self.contributions;
                rows.seq.push(seq);
                rows.id.push(id.0.to_vec());
                rows.project.push(c.project.as_str().to_owned());
                rows.actor.push(env.actor.as_str().to_owned());
                rows.kind.push(c.kind.as_str().to_owned());
                rows.unit.push(c.unit.as_str().to_owned());
                rows.quantity.push(c.quantity.to_string());
                rows.builds_on
                    .push(c.builds_on.iter().flat_map(|p| p.0).collect());
            }
            Body::Endorsement(e) => {
                let rows = &mut self.endorsements;
                rows.seq.push(seq);
                rows.contribution.push(e.contribution.0.to_vec());
                rows.endorser.push(env.actor.as_str().to_owned());
                rows.accept.push(e.decision == Decision::Accept);
            }
            Body::CoalitionMeasured(m) => {
                let rows = &mut self.measured;
                rows.seq.push(seq);
                rows.project.push(m.project.as_str().to_owned());
                let members: Vec<&str> = m.members.iter().map(Slug::as_str).collect();
                rows.members.push(members.join(","));
                rows.worth.push(m.value.to_string());
            }
            _ => {}
        }
    }
}

impl AppendTx {
    /// Inserts the rows of `columns`; contributions first, since an endorsement takes its
    /// project from its contribution, which may be in the same batch.
    pub(super) async fn insert_inputs(&mut self, columns: &InputColumns) -> Result<(), StoreError> {
        let c = &columns.contributions;
        if !c.seq.is_empty() {
            sqlx::query(
                "INSERT INTO contributions (log_id, seq, id, project, actor, kind, unit, quantity, builds_on)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[])",
            )
            .bind(&self.log_id)
            .bind(&c.seq)
            .bind(&c.id)
            .bind(&c.project)
            .bind(&c.actor)
            .bind(&c.kind)
            .bind(&c.unit)
            .bind(&c.quantity)
            .bind(&c.builds_on)
            .execute(&mut *self.tx)
            .await?;
        }
        let e = &columns.endorsements;
        if !e.seq.is_empty() {
            sqlx::query(
                "INSERT INTO endorsements (log_id, seq, project, contribution, endorser, accept)
                 SELECT $1, u.seq,
                        (SELECT c.project FROM contributions c WHERE c.log_id = $1 AND c.id = u.contribution),
                        u.contribution, u.endorser, u.accept
                   FROM UNNEST($2::bigint[], $3::bytea[], $4::text[], $5::bool[])
                     AS u(seq, contribution, endorser, accept)",
            )
            .bind(&self.log_id)
            .bind(&e.seq)
            .bind(&e.contribution)
            .bind(&e.endorser)
            .bind(&e.accept)
            .execute(&mut *self.tx)
            .await?;
        }
        let m = &columns.measured;
        if !m.seq.is_empty() {
            sqlx::query(
                "INSERT INTO measured_coalitions (log_id, seq, project, members, worth)
                 SELECT $1, u.seq, u.project, string_to_array(u.members, ','), u.worth
                   FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[])
                     AS u(seq, project, members, worth)",
            )
            .bind(&self.log_id)
            .bind(&m.seq)
            .bind(&m.project)
            .bind(&m.members)
            .bind(&m.worth)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// The project's contributions, endorsements and measured coalitions before
    /// `before_seq`, each in log order, as the policy's input records. `actors` is left
    /// empty: the actor registry names them (`allocation::name_actors`).
    pub async fn allocation_inputs(
        &self,
        project: &str,
        before_seq: u64,
    ) -> Result<Inputs, StoreError> {
        let before_seq = bigint(before_seq)?;
        // Three tables, three pooled connections: read at once.
        let hex_id = |bytes: &[u8]| entry_id(bytes).map(|id| hash::to_hex(&id.0));
        let decimal = |text: &str| parse_non_negative(text).map_err(StoreError::Corrupt);
        let contributions = async {
            let mut rows = sqlx::query(
                "SELECT seq, id, actor, kind, unit, quantity, builds_on FROM contributions
                  WHERE log_id = $1 AND project = $2 AND seq < $3 ORDER BY seq",
            )
            .bind(&self.log_id)
            .bind(project)
            .bind(before_seq)
            .fetch(&self.pool);
            // Each row becomes a record as it arrives, its bytes read in place: a large
            // project's rows are never all held twice, once as columns and once as records.
            let mut records = Vec::new();
            while let Some(row) = rows.try_next().await? {
                let builds_on: &[u8] = row.try_get(6)?;
                records.push(Contribution {
                    id: hex_id(row.try_get(1)?)?,
                    seq: row.try_get::<i64, _>(0)? as u64,
                    actor: row.try_get(2)?,
                    kind: row.try_get(3)?,
                    unit: row.try_get(4)?,
                    quantity: decimal(row.try_get(5)?)?,
                    builds_on: builds_on.chunks(32).map(hex_id).collect::<Result<_, _>>()?,
                });
            }
            Ok::<_, StoreError>(records)
        };
        let (contributions, endorsements, measured) = tokio::try_join!(
            contributions,
            sqlx::query_as::<_, (i64, Vec<u8>, String, bool)>(
                "SELECT seq, contribution, endorser, accept FROM endorsements
                  WHERE log_id = $1 AND project = $2 AND seq < $3 ORDER BY seq",
            )
            .bind(&self.log_id)
            .bind(project)
            .bind(before_seq)
            .fetch_all(&self.pool)
            .map_err(StoreError::from),
            sqlx::query_as::<_, (i64, Vec<String>, String)>(
                "SELECT seq, members, worth FROM measured_coalitions
                  WHERE log_id = $1 AND project = $2 AND seq < $3 ORDER BY seq",
            )
            .bind(&self.log_id)
            .bind(project)
            .bind(before_seq)
            .fetch_all(&self.pool)
            .map_err(StoreError::from),
        )?;

        Ok(Inputs {
            actors: Vec::new(),
            contributions,
            endorsements: endorsements
                .into_iter()
                .map(|(seq, contribution, endorser, accept)| {
                    Ok(Endorsement {
                        contribution: hex_id(&contribution)?,
                        endorser,
                        accept,
                        seq: seq as u64,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            measured: measured
                .into_iter()
                .map(|(seq, members, worth)| {
                    Ok(MeasuredCoalition {
                        members,
                        worth: decimal(&worth)?,
                        seq: seq as u64,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }
}
