//! Setting a database up for fairshare, and checking that the server's role is as weak as
//! it should be. Two login roles share the work: the owner of the tables, which runs the
//! migrations, and the application role the server connects as, with INSERT and SELECT on
//! the log and nothing else. Neither is a superuser, so `RESET ROLE` or `SET ROLE` gain
//! the server nothing (docs/SECURITY.md).

use super::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The role that owns the tables and runs the migrations.
pub const OWNER_ROLE: &str = "fairshare_owner";
/// The role the server connects as: INSERT and SELECT on the log tables only.
pub const APP_ROLE: &str = "fairshare_app";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The tables the application role may not change: the log's, append-only for everyone
/// (triggers refuse UPDATE, DELETE and TRUNCATE), and the disclosure store's. The role
/// holds INSERT and SELECT only.
const LOG_TABLES: &[&str] = &[
    "entries",
    "actors",
    "actor_keys",
    "key_revocations",
    "tree_nodes",
    "checkpoints",
    "checkpoint_cosignatures",
    "policies",
    "project_terms",
    "project_members",
    "allocations",
    "contributions",
    "endorsements",
    "measured_coalitions",
    "solver_limits",
    "policy_costs",
    "erased",
    "erasures_applied",
    // Not append-only, but the application role deletes from it only through
    // `fairshare_erase` (migrations/0010_disclosures.sql), never directly.
    "disclosures",
];

/// Runs the pending migrations through `owner`, the role that owns (or will own) the
/// tables. The server never holds this connection.
pub async fn migrate(owner: &PgConnectOptions) -> Result<(), StoreError> {
    let mut connection = PgConnection::connect_with(owner).await?;
    MIGRATOR.run(&mut connection).await?;
    connection.close().await?;
    Ok(())
}

/// From a superuser connection (`admin`, on any database of the cluster): the two roles,
/// `database` owned by [`OWNER_ROLE`], and its migrations run as that owner. Returns the
/// connection options the server uses ([`APP_ROLE`] on `database`). Idempotent; safe to
/// run from several processes at once. The roles get no password: this is for clusters
/// that trust local connections (the embedded one, tests); docs/DEPLOY.md gives the SQL
/// for a production server.
pub async fn provision(
    admin: &PgConnectOptions,
    database: &str,
) -> Result<PgConnectOptions, StoreError> {
    let mut connection = PgConnection::connect_with(admin).await?;
    // Role and database creation race between processes: one at a time.
    sqlx::query("SELECT pg_advisory_lock(hashtext('fairshare provision'))")
        .execute(&mut connection)
        .await?;
    let outcome = create_roles_and_database(&mut connection, database).await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext('fairshare provision'))")
        .execute(&mut connection)
        .await?;
    connection.close().await?;
    outcome?;
    migrate(&admin.clone().database(database).username(OWNER_ROLE)).await?;
    Ok(admin.clone().database(database).username(APP_ROLE))
}

async fn create_roles_and_database(
    admin: &mut PgConnection,
    database: &str,
) -> Result<(), StoreError> {
    for role in [OWNER_ROLE, APP_ROLE] {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                .bind(role)
                .fetch_one(&mut *admin)
                .await?;
        let verb = if exists { "ALTER" } else { "CREATE" };
        // Role names are the constants above: safe to splice.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        )))
        .execute(&mut *admin)
        .await?;
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut *admin)
            .await?;
    if !exists {
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::Setup(format!(
                "database name {database:?}: use letters, digits and underscores"
            )));
        }
        // Checked above: letters, digits and underscores only.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{database}\" OWNER {OWNER_ROLE}"
        )))
        .execute(&mut *admin)
        .await?;
    }
    Ok(())
}

/// What the server's own role may do, read from the catalog.
#[derive(sqlx::FromRow)]
struct RolePowers {
    role: String,
    superuser: bool,
    creates_roles: bool,
    /// Owns a log table, or may become its owner (`SET ROLE`).
    owns: bool,
    /// Holds UPDATE, DELETE or TRUNCATE on a log table.
    changes: bool,
    /// Log tables that do not exist (the migrations have not run).
    missing: i64,
}

/// The versions of the migrations this build knows that the database has not applied.
pub(super) async fn pending_migrations(
    connection: &mut PgConnection,
) -> Result<Vec<i64>, StoreError> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *connection)
            .await?;
    Ok(MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect())
}

/// Refuses a connection whose role could change the log: a superuser, a role that can
/// create roles, the tables' owner (or a member of it), or one granted UPDATE, DELETE or
/// TRUNCATE. Also refuses a database whose migrations are not all applied.
pub(super) async fn check_least_privilege(connection: &mut PgConnection) -> Result<(), StoreError> {
    let powers: RolePowers = sqlx::query_as(
        "SELECT r.rolname AS role, r.rolsuper AS superuser, r.rolcreaterole AS creates_roles,
                COALESCE(bool_or(pg_has_role(current_user, t.tableowner, 'MEMBER')), false) AS owns,
                COALESCE(bool_or(CASE WHEN t.tablename IS NOT NULL THEN
                    has_table_privilege(current_user, format('public.%I', t.tablename),
                                        'UPDATE, DELETE, TRUNCATE') END), false) AS changes,
                cardinality($1::text[]) - count(t.tablename) AS missing
           FROM pg_roles r
           LEFT JOIN pg_tables t ON t.schemaname = 'public' AND t.tablename = ANY($1)
          WHERE r.rolname = current_user
          GROUP BY r.rolname, r.rolsuper, r.rolcreaterole",
    )
    .bind(LOG_TABLES)
    .fetch_one(&mut *connection)
    .await?;
    let too_strong = [
        (powers.superuser, "is a superuser"),
        (powers.creates_roles, "can create roles"),
        (
            powers.owns,
            "owns the log tables (or may act as their owner)",
        ),
        (
            powers.changes,
            "holds UPDATE, DELETE or TRUNCATE on log tables",
        ),
    ];
    if let Some((_, what)) = too_strong.iter().find(|(holds, _)| *holds) {
        return Err(StoreError::OverPrivileged {
            role: powers.role,
            what,
        });
    }
    let pending = if powers.missing == 0 {
        pending_migrations(connection).await?
    } else {
        MIGRATOR.iter().map(|m| m.version).collect()
    };
    if !pending.is_empty() {
        return Err(StoreError::NotMigrated(pending));
    }
    Ok(())
}
