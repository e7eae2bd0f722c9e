//! The projects' projections: their terms (`project_terms`, one row per `project.opened`
//! or `project.updated`, the latest current) and their members (`project_members`, one row
//! per admission or removal, the latest current); read for a batch's rules, written with
//! its entries.

use super::append::AppendTx;
use super::decode::{hash32, slug};
use super::{Store, StoreError};
use crate::entry::body::Body;
use crate::entry::record::{ProjectRecord, ProjectTerms};
use crate::entry::{ActorId, ContentDigest, SignedEntry, Slug};
use crate::ledger::batch::Snapshot;
use sqlx::PgConnection;
use std::borrow::Borrow;
use std::collections::BTreeSet;

/// project, has contributions, then the latest terms row if any: owner, currency, members
/// only, policies, realizers.
type ProjectColumns = (
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<bool>,
    Option<Vec<Vec<u8>>>,
    Option<Vec<String>>,
);

/// Loads into `snapshot` the projects `entries` name (an endorsement's is its
/// contribution's, already in `snapshot.entries` or in the batch) with whether they have
/// contributions and their current terms, and which of the batch's actors are members.
pub(super) async fn load<E: Borrow<SignedEntry>>(
    conn: &mut PgConnection,
    log_id: &str,
    entries: &[E],
    before: i64,
    snapshot: &mut Snapshot,
) -> Result<(), StoreError> {
    let (mut projects, mut actors) = (BTreeSet::new(), BTreeSet::new());
    for entry in entries {
        let env = &entry.borrow().envelope;
        let project = match &env.body {
            Body::Endorsement(e) => snapshot
                .entries
                .get(&e.contribution)
                .and_then(|r| r.project.clone()),
            body => body.project().cloned(),
        };
        // An endorsement of a contribution in the same batch finds its project among the
        // batch's: its endorser's membership is read with every other signer's.
        actors.insert(env.actor.to_string());
        if let Some(project) = project {
            projects.insert(project.to_string());
        }
    }
    if projects.is_empty() {
        return Ok(());
    }
    let (projects, actors): (Vec<String>, Vec<String>) =
        (projects.into_iter().collect(), actors.into_iter().collect());
    let rows: Vec<ProjectColumns> = sqlx::query_as(
        "SELECT p.project,
                EXISTS (SELECT 1 FROM entries e WHERE e.log_id = $1 AND e.project = p.project AND e.entry_type = 'contribution' AND e.seq < $3),
                t.owner, t.currency, t.members_only, t.policies, t.realizers
           FROM UNNEST($2::text[]) AS p(project)
           LEFT JOIN LATERAL (SELECT * FROM project_terms t
                               WHERE t.log_id = $1 AND t.project = p.project AND t.seq < $3
                               ORDER BY t.seq DESC LIMIT 1) t ON true",
    )
    .bind(log_id)
    .bind(&projects)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for (project, has_contributions, owner, currency, members_only, policies, realizers) in rows {
        let terms = match (owner, currency, members_only, policies, realizers) {
            (Some(owner), Some(currency), Some(members_only), Some(policies), Some(realizers)) => {
                Some(decode_terms(
                    owner,
                    currency,
                    members_only,
                    &policies,
                    &realizers,
                )?)
            }
            _ => None,
        };
        let record = ProjectRecord {
            has_contributions,
            terms,
        };
        snapshot.projects.insert(slug(&project)?, record);
    }
    let members: Vec<(String, String)> = sqlx::query_as(
        "SELECT project, actor FROM (
             SELECT DISTINCT ON (project, actor) project, actor, member
               FROM project_members
              WHERE log_id = $1 AND project = ANY($2) AND actor = ANY($3) AND seq < $4
              ORDER BY project, actor, seq DESC) latest
          WHERE member",
    )
    .bind(log_id)
    .bind(&projects)
    .bind(&actors)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for (project, actor) in members {
        snapshot.members.insert((slug(&project)?, slug(&actor)?));
    }
    Ok(())
}

fn decode_terms(
    owner: String,
    currency: String,
    members_only: bool,
    policies: &[Vec<u8>],
    realizers: &[String],
) -> Result<ProjectTerms, StoreError> {
    Ok(ProjectTerms {
        owner: slug(&owner)?,
        currency,
        members_only,
        policies: policies
            .iter()
            .map(|p| hash32(p).map(ContentDigest))
            .collect::<Result<_, _>>()?,
        realizers: realizers
            .iter()
            .map(|r| slug(r))
            .collect::<Result<_, _>>()?,
    })
}

/// owner, currency, members only, policies, realizers.
type TermsColumns = (String, String, bool, Vec<Vec<u8>>, Vec<String>);

/// A project as it stands: its latest terms and its current members, in actor order.
pub struct ProjectRow {
    pub terms: ProjectTerms,
    pub members: Vec<ActorId>,
}

impl Store {
    /// `project` as it stands, or `None` if it was never opened.
    pub async fn project(&self, project: &Slug) -> Result<Option<ProjectRow>, StoreError> {
        let row: Option<TermsColumns> = sqlx::query_as(
            "SELECT owner, currency, members_only, policies, realizers FROM project_terms
              WHERE log_id = $1 AND project = $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(&self.log_id)
        .bind(project.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some((owner, currency, members_only, policies, realizers)) = row else {
            return Ok(None);
        };
        let members: Vec<(String,)> = sqlx::query_as(
            "SELECT actor FROM (
                 SELECT DISTINCT ON (actor) actor, member FROM project_members
                  WHERE log_id = $1 AND project = $2 ORDER BY actor, seq DESC) latest
              WHERE member ORDER BY actor",
        )
        .bind(&self.log_id)
        .bind(project.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(ProjectRow {
            terms: decode_terms(owner, currency, members_only, &policies, &realizers)?,
            members: members
                .iter()
                .map(|(actor,)| slug(actor))
                .collect::<Result<_, _>>()?,
        }))
    }
}

/// A project's terms from entry `seq` on.
pub(super) struct TermsRow {
    pub project: String,
    pub seq: i64,
    pub terms: ProjectTerms,
}

/// A membership change by entry `seq`.
pub(super) struct MemberRow {
    pub project: String,
    pub actor: String,
    pub seq: i64,
    pub member: bool,
}

impl AppendTx {
    /// Writes the batch's project terms and membership changes (few: one or a handful per
    /// project entry).
    pub(super) async fn write_projects(
        &mut self,
        terms: &[TermsRow],
        members: &[MemberRow],
    ) -> Result<(), StoreError> {
        for row in terms {
            let t = &row.terms;
            let policies: Vec<Vec<u8>> = t.policies.iter().map(|p| p.0.to_vec()).collect();
            let realizers: Vec<String> = t.realizers.iter().map(|r| r.to_string()).collect();
            sqlx::query(
                "INSERT INTO project_terms (log_id, project, seq, owner, currency, members_only, policies, realizers)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&self.log_id)
            .bind(&row.project)
            .bind(row.seq)
            .bind(t.owner.as_str())
            .bind(&t.currency)
            .bind(t.members_only)
            .bind(&policies)
            .bind(&realizers)
            .execute(&mut *self.tx)
            .await?;
        }
        if !members.is_empty() {
            let project: Vec<&str> = members.iter().map(|m| m.project.as_str()).collect();
            let actor: Vec<&str> = members.iter().map(|m| m.actor.as_str()).collect();
            let seq: Vec<i64> = members.iter().map(|m| m.seq).collect();
            let member: Vec<bool> = members.iter().map(|m| m.member).collect();
            sqlx::query(
                "INSERT INTO project_members (log_id, project, actor, seq, member)
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bool[])",
            )
            .bind(&self.log_id)
            .bind(&project)
            .bind(&actor)
            .bind(&seq)
            .bind(&member)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}
