//! All SQL lives here: connecting and migrating, the append transaction, the read queries,
//! what vetting reads, and the embedded PostgreSQL starter.

mod access;
mod allocations;
mod append;
mod cosignatures;
mod decode;
mod disclosures;
pub mod embedded;
mod fairplay;
mod import;
mod inputs;
mod projects;
mod reads;
mod rows;
pub mod setup;
mod tree;
mod vetting;

pub use allocations::{LeafEntry, MAX_LISTING};
pub use append::AppendTx;
pub use cosignatures::CosignedCheckpoint;
pub use disclosures::{DisclosedField, DisclosureRow, StoredField};
pub use import::Holdings;
pub use reads::{ActorRow, EntryRow, KeyRow};
pub use rows::{NewRow, Rows};
pub use tree::{LeafRow, StoredCheckpoint};
pub use vetting::UnvouchedRow;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool};
/// sqlx prepares every statement; after five runs PostgreSQL may switch to a generic plan
/// chosen when the log was nearly empty (a sequential scan), making each append cost the
/// whole log. Custom plans use the indexes as the log grows.
const CUSTOM_PLANS: &str = "SET plan_cache_mode = force_custom_plan";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Embedded(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0} is beyond what a bigint column holds")]
    OutOfRange(u64),
    #[error("DATABASE_URL: {0}")]
    Url(#[source] sqlx::Error),
    #[error(
        "the server's database role {role} {what}: connect as a login role with INSERT and SELECT \
         only (`fairshare db setup` makes one; docs/SECURITY.md)"
    )]
    OverPrivileged { role: String, what: &'static str },
    #[error("the database lacks migrations {0:?}: run `fairshare db migrate` as the tables' owner")]
    NotMigrated(Vec<i64>),
    #[error("database set-up: {0}")]
    Setup(String),
    /// The connection failed while COMMIT was in flight: PostgreSQL may or may not have
    /// made the transaction durable, and nobody on this side can tell which.
    #[error("the connection failed while committing; the outcome is unknown: {0}")]
    CommitOutcomeUnknown(#[source] sqlx::Error),
    #[error("the field was erased: it is never disclosed again")]
    Erased,
}

impl StoreError {
    /// Whether the database could not be reached or would not serve (refused, closed or
    /// dropped connections, a pool that timed out or closed, a server shutting down or out
    /// of connections): a passing condition worth a retry, unlike corrupt data or a failed
    /// query.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(error) => database_unavailable(error),
            Self::CommitOutcomeUnknown(_) => true,
            _ => false,
        }
    }

    /// Whether a write may have been stored although it failed (see
    /// [`StoreError::CommitOutcomeUnknown`]): its submitter must resubmit, not give up.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::CommitOutcomeUnknown(_))
    }
}

/// Store errors for other layers' tests, which must not name sqlx.
#[cfg(test)]
pub(crate) mod examples {
    use super::StoreError;

    /// A connection that died while COMMIT was in flight.
    pub fn commit_cut_off() -> StoreError {
        StoreError::CommitOutcomeUnknown(sqlx::Error::WorkerCrashed)
    }

    /// A pool that found no connection before any statement ran.
    pub fn no_connection() -> StoreError {
        StoreError::Database(sqlx::Error::PoolTimedOut)
    }
}

/// See [`StoreError::is_unavailable`].
fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            // PostgreSQL's SQLSTATE classes: 08 connection exception, 53 insufficient
            // resources (too many connections), 57P admin or crash shutdown, cannot
            // connect now, database dropped; 3D000: the database does not exist (any
            // more).
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "3D000"
        }),
        _ => false,
    }
}

/// The connection options of a PostgreSQL URL (`postgres://user@host/db?host=/socket`).
pub fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    url.parse().map_err(StoreError::Url)
}

/// A handle on one log in one database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
    log_id: String,
}

impl Store {
    /// Opens a pool on a migrated database, as a role that can only INSERT and SELECT the
    /// log (checked: a stronger role is refused, see [`setup`]), so the running server
    /// cannot change what it appended.
    pub async fn connect(
        options: PgConnectOptions,
        log_id: &str,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(CUSTOM_PLANS).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        setup::check_least_privilege(&mut *pool.acquire().await?).await?;
        Ok(Self {
            pool,
            log_id: log_id.to_owned(),
        })
    }

    pub fn log_id(&self) -> &str {
        &self.log_id
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The migrations this build knows that the database lacks (readiness; the pool was
    /// checked when it opened, but a restored or rolled-back database can lose some).
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        setup::pending_migrations(&mut *self.pool.acquire().await?).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
