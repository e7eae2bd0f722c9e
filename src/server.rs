//! Wiring: configuration, the database (given or embedded), the server key, the sequencer
//! and the HTTP API, started together and stopped cleanly.

use crate::api::{self, ApiSettings, AppState, ReadQuota, StartupCheck};
use crate::crypto::SecretKey;
use crate::entry::body::SolverLimits;
use crate::keyfile::{self, KeyFileError};
use crate::ledger::checkpoint::{NoteError, NoteSigner, NoteVerifier};
use crate::ledger::rules::{RegistrationPolicy, RuleSettings};
use crate::ledger::witness::{PolicyError, WitnessPolicy};
use crate::policy::file::MAX_EXACT_LIMIT;
use crate::service::{Sequencer, ServiceError, allocator, check, checkpointer, limits, privacy};
use crate::store::embedded::EmbeddedPostgres;
use crate::store::setup;
use crate::store::{self, Store, StoreError};
use clap::builder::RangedU64ValueParser;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where the ledger lives: shared by `serve` and the operator's commands.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of a migrated database, as a login role with INSERT and SELECT only
    /// (`fairshare db setup` makes one); without it, fairshare runs its own cluster in
    /// --data-dir and sets it up the same way.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Folder for the embedded PostgreSQL cluster and the server key.
    #[arg(long, env = "FAIRSHARE_DATA_DIR", default_value = ".fairshare")]
    pub data_dir: PathBuf,
    /// Folder with the PostgreSQL server binaries (initdb, pg_ctl) for the embedded cluster.
    #[arg(long, env = "FAIRSHARE_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
    /// The server's ed25519 key file (created on first start); default: DATA_DIR/server.key.
    #[arg(long, env = "FAIRSHARE_SERVER_KEY")]
    pub server_key: Option<PathBuf>,
    /// Name of the log inside the database (one database can host many logs).
    #[arg(long, env = "FAIRSHARE_LOG_ID", default_value = "default")]
    pub log_id: String,
    /// The log's origin: the first line of its checkpoints and the name of its key.
    #[arg(
        long,
        env = "FAIRSHARE_LOG_ORIGIN",
        default_value = "fairshare.local/log"
    )]
    pub log_origin: String,
    /// Who may register human and ai actors through the API (platforms and regulators are
    /// always attested by the operator's key or a registered regulator).
    #[arg(
        long,
        env = "FAIRSHARE_REGISTRATION",
        value_enum,
        default_value = "open"
    )]
    pub registration: RegistrationPolicy,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "FAIRSHARE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Largest accepted entry timestamp drift from the server clock, in seconds (1 to a
    /// year).
    #[arg(long, env = "FAIRSHARE_TIMESTAMP_SKEW", default_value_t = 300,
          value_parser = clap::value_parser!(i64).range(1..=365 * 24 * 3600))]
    pub timestamp_skew_secs: i64,
    /// Most entries in one batch request (1 to 1,000,000).
    #[arg(long, env = "FAIRSHARE_MAX_BATCH", default_value_t = 1000,
          value_parser = at_least_one_up_to(1_000_000))]
    pub max_batch_entries: usize,
    /// Largest request body in bytes (1 KiB to 1 GiB).
    #[arg(long, env = "FAIRSHARE_MAX_BODY", default_value_t = 8 * 1024 * 1024,
          value_parser = RangedU64ValueParser::<usize>::new().range(1024..=1 << 30))]
    pub max_body_bytes: usize,
    /// Most memory, in bytes, that the request bodies being read and parsed may hold at once
    /// (1 MiB to 64 GiB; docs/SECURITY.md, "Memory"). A body of the largest size takes at
    /// most all of it; a request waits up to 30 s for its share, then gets 503.
    #[arg(long, env = "FAIRSHARE_MAX_BODY_MEMORY", default_value_t = 128 * 1024 * 1024,
          value_parser = RangedU64ValueParser::<usize>::new().range(1 << 20..=1 << 36))]
    pub max_body_memory: usize,
    /// Most entries the sequencer commits in one transaction (1 to 1,000,000).
    #[arg(long, env = "FAIRSHARE_COMMIT_BATCH", default_value_t = 4000,
          value_parser = at_least_one_up_to(1_000_000))]
    pub commit_batch: usize,
    /// Shortest time between two checkpoints, in milliseconds (1 to a day).
    #[arg(long, env = "FAIRSHARE_CHECKPOINT_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=24 * 3600 * 1000))]
    pub checkpoint_interval_ms: u64,
    /// Recompute the stored tree from the leaves before serving, and refuse to serve if they disagree.
    #[arg(long, env = "FAIRSHARE_CHECK_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub check_on_start: bool,
    #[command(flatten)]
    pub allocator: AllocatorConfig,
    /// Size of the database connection pool (1 to 1000).
    #[arg(long, env = "FAIRSHARE_DB_CONNECTIONS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_connections: u32,
    /// Reads (GET, HEAD) per second allowed from one client address; 0, the default, sets no
    /// limit.
    /// Health, readiness and metrics are never limited.
    #[arg(long, env = "FAIRSHARE_READ_LIMIT", default_value_t = 0)]
    pub read_limit: u32,
    /// Reads one address may send at once before --read-limit paces it (1 to 1,000,000).
    #[arg(long, env = "FAIRSHARE_READ_BURST", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub read_burst: u32,
    /// Erase the disclosed notes of entries received more than this many seconds ago
    /// (1 to 100 years; 2592000 is 30 days; unset keeps them until an erasure):
    /// docs/PRIVACY.md, "Retention".
    #[arg(long, env = "FAIRSHARE_NOTE_RETENTION_SECS",
          value_parser = clap::value_parser!(u64).range(1..=100 * 366 * 24 * 3600))]
    pub note_retention_secs: Option<u64>,
    /// Log lines as text for people, or as JSON objects (one a line) for log collectors.
    #[arg(long, env = "FAIRSHARE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// How far, in seconds, a signed request's `created` time may be from the server clock
    /// (1 to 3600); a request is refused as a replay if its nonce was seen that long before.
    #[arg(long, env = "FAIRSHARE_REQUEST_WINDOW", default_value_t = 300,
          value_parser = clap::value_parser!(i64).range(1..=3600))]
    pub request_window_secs: i64,
    /// The origin clients reach the server at (`https://ledger.example`, behind a proxy
    /// that ends TLS): signed requests cover it in `@target-uri`. Unset: `http://` and the
    /// request's Host field.
    #[arg(long, env = "FAIRSHARE_PUBLIC_ORIGIN", value_parser = public_origin)]
    pub public_origin: Option<String>,
    /// Makes every read public, without signatures, as a fully public log (docs/PROTOCOL.md,
    /// "Who reads what").
    #[arg(long, env = "FAIRSHARE_PUBLIC_READS")]
    pub public_reads: bool,
    #[command(flatten)]
    pub witnesses: WitnessConfig,
}

/// A `scheme://host[:port]` origin, http or https, without path, query or trailing slash.
fn public_origin(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !plain {
        return Err(format!(
            "{text:?} is not an origin such as https://ledger.example or http://host:8080"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// The witnesses a checkpoint needs before it counts as published.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct WitnessConfig {
    /// A witness's verifier key (`<name>+<key ID>+base64(0x04 || key)`); repeat the flag (or
    /// separate by commas) for each. Their cosignatures are kept beside the checkpoints.
    #[arg(long = "witness", env = "FAIRSHARE_WITNESSES", value_delimiter = ',',
          value_parser = witness_key)]
    pub witnesses: Vec<NoteVerifier>,
    /// How many of the witnesses must cosign a checkpoint before it is published (default:
    /// all of them).
    #[arg(long, env = "FAIRSHARE_WITNESS_QUORUM")]
    pub witness_quorum: Option<usize>,
}

impl WitnessConfig {
    pub fn policy(&self) -> Result<WitnessPolicy, PolicyError> {
        let quorum = self.witness_quorum.unwrap_or(self.witnesses.len());
        WitnessPolicy::new(self.witnesses.clone(), quorum)
    }
}

fn witness_key(text: &str) -> Result<NoteVerifier, String> {
    NoteVerifier::from_vkey(text.trim()).map_err(|e| e.to_string())
}

/// How log lines are written.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl ServerConfig {
    /// The read limit, unless `--read-limit` is 0.
    pub fn read_quota(&self) -> Option<ReadQuota> {
        Some(ReadQuota {
            per_second: NonZeroU32::new(self.read_limit)?,
            burst: NonZeroU32::new(self.read_burst)?,
        })
    }
}

/// The disclosure store's keeper (erasures, retention), woken by `wake` after commits.
fn spawn_keeper(
    ledger: &Ledger,
    sequencer: &Sequencer,
    config: &ServerConfig,
    wake: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    privacy::spawn(
        ledger.store.clone(),
        sequencer.clone(),
        ledger.server_key.clone(),
        privacy::KeeperSettings::retaining_notes_for(config.note_retention_secs),
        wake,
    )
}

/// Allocations solved at once by default.
const ALLOCATIONS_AT_ONCE: usize = 4;

/// How the allocator may use the machine.
#[derive(clap::Args, Debug, Clone)]
pub struct AllocatorConfig {
    /// Allocations solved at once, each of a different project (1 to 64).
    #[arg(long, env = "FAIRSHARE_ALLOCATIONS_AT_ONCE", default_value_t = ALLOCATIONS_AT_ONCE,
          value_parser = at_least_one_up_to(64))]
    pub allocations_at_once: usize,
    /// Threads one allocation solves on (1 to 1024; default: the cores but one, at least 1).
    #[arg(long, env = "FAIRSHARE_ALLOCATOR_THREADS", value_parser = at_least_one_up_to(1024))]
    pub allocator_threads: Option<usize>,
    /// Solver limit published in the log: most players solved exactly (1 to 30).
    #[arg(long, env = "FAIRSHARE_LIMIT_EXACT_PLAYERS",
          default_value_t = SolverLimits::DEFAULT.exact_players,
          value_parser = clap::value_parser!(u64).range(1..=MAX_EXACT_LIMIT as u64))]
    pub limit_exact_players: u64,
    /// Solver limit: most marginal evaluations (permutations × players) of one sampled
    /// allocation (1 to 2^53 - 1).
    #[arg(long, env = "FAIRSHARE_LIMIT_SAMPLED_MARGINALS",
          default_value_t = SolverLimits::DEFAULT.sampled_marginals,
          value_parser = clap::value_parser!(u64).range(1..=SolverLimits::MAX))]
    pub limit_sampled_marginals: u64,
    /// Solver limit: most players of a measured game (1 to 2^53 - 1).
    #[arg(long, env = "FAIRSHARE_LIMIT_MEASURED_PLAYERS",
          default_value_t = SolverLimits::DEFAULT.measured_players,
          value_parser = clap::value_parser!(u64).range(1..=SolverLimits::MAX))]
    pub limit_measured_players: u64,
    /// Solver limit: most `coalition.measured` entries of a project a measured game reads
    /// (1 to 2^53 - 1).
    #[arg(long, env = "FAIRSHARE_LIMIT_MEASUREMENTS",
          default_value_t = SolverLimits::DEFAULT.measurements,
          value_parser = clap::value_parser!(u64).range(1..=SolverLimits::MAX))]
    pub limit_measurements: u64,
}

impl AllocatorConfig {
    /// The solver limits this server publishes.
    pub fn limits(&self) -> SolverLimits {
        SolverLimits {
            exact_players: self.limit_exact_players,
            sampled_marginals: self.limit_sampled_marginals,
            measured_players: self.limit_measured_players,
            measurements: self.limit_measurements,
        }
    }
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        Self {
            allocations_at_once: ALLOCATIONS_AT_ONCE,
            allocator_threads: None,
            limit_exact_players: SolverLimits::DEFAULT.exact_players,
            limit_sampled_marginals: SolverLimits::DEFAULT.sampled_marginals,
            limit_measured_players: SolverLimits::DEFAULT.measured_players,
            limit_measurements: SolverLimits::DEFAULT.measurements,
        }
    }
}

/// A count from 1 to `most`: zero would refuse or stall everything, and a count past what
/// memory or a request body could hold is a typing error.
pub fn at_least_one_up_to(most: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..=most)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyFileError),
    #[error("--log-origin {origin:?} cannot name the log's key")]
    Origin {
        origin: String,
        #[source]
        source: NoteError,
    },
    /// Starting the embedded cluster panicked.
    #[error("cannot start the embedded PostgreSQL")]
    Embedded(#[source] tokio::task::JoinError),
    /// The stored tree or checkpoints disagree with the leaves (or could not be read); the
    /// message names the first bad leaf, so it carries the cause's text.
    #[error("the stored log failed its check: {0}")]
    Check(#[source] ServiceError),
    #[error("cannot publish the solver limits")]
    Limits(#[source] ServiceError),
    #[error("cannot start the allocator")]
    Allocator(#[source] ServiceError),
    #[error("--witness and --witness-quorum")]
    Witnesses(#[source] PolicyError),
    #[error("cannot listen on {0}")]
    Listen(SocketAddr, #[source] std::io::Error),
}

/// The database of the embedded cluster that holds the log.
const EMBEDDED_DATABASE: &str = "fairshare";

/// An open ledger: the store, the server key, and the embedded cluster if one was started.
pub struct Ledger {
    pub store: Store,
    pub server_key: SecretKey,
    /// Signs checkpoints with the server key under the log's origin.
    pub note_signer: NoteSigner,
    pub rules: RuleSettings,
    embedded: Option<EmbeddedPostgres>,
}

impl DatabaseConfig {
    /// The server key file: `--server-key`, else DATA_DIR/server.key.
    pub fn server_key_path(&self) -> PathBuf {
        self.server_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("server.key"))
    }
}

/// The ledger's store alone, without the server key (which `fairshare import` must not
/// create); with the embedded cluster if one was started, for [`close_store`].
pub async fn open_store(
    config: &DatabaseConfig,
    db_connections: u32,
) -> Result<(Store, Option<EmbeddedPostgres>), StartError> {
    let (options, embedded) = match &config.database_url {
        Some(url) => (store::connect_options(url)?, None),
        None => {
            let (data_dir, bin) = (config.data_dir.clone(), config.pg_bin.clone());
            let cluster = tokio::task::spawn_blocking(move || {
                EmbeddedPostgres::start(&data_dir, bin.as_deref())
            })
            .await
            .map_err(StartError::Embedded)??;
            tracing::info!(url = %cluster.url(), "embedded PostgreSQL is running");
            let app = setup::provision(&cluster.connect_options(), EMBEDDED_DATABASE).await?;
            (app, Some(cluster))
        }
    };
    let store = Store::connect(options, &config.log_id, db_connections).await?;
    Ok((store, embedded))
}

/// Closes the pool, then stops the embedded cluster if there is one.
pub async fn close_store(store: &Store, embedded: Option<EmbeddedPostgres>) {
    store.close().await;
    if let Some(mut cluster) = embedded {
        let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
    }
}

/// Whether opening the ledger may create the server key: only the server, at its first
/// start; any other command reads an existing key or fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKeyFile {
    CreateIfMissing,
    MustExist,
}

impl Ledger {
    pub async fn open(
        config: &DatabaseConfig,
        db_connections: u32,
        key_file: ServerKeyFile,
    ) -> Result<Self, StartError> {
        let path = config.server_key_path();
        let server_key = match key_file {
            ServerKeyFile::CreateIfMissing => keyfile::read_or_create(&path)?,
            ServerKeyFile::MustExist => keyfile::read(&path)?,
        };
        let (store, embedded) = open_store(config, db_connections).await?;
        let rules = RuleSettings {
            registration: config.registration,
            server_key: server_key.public_key(),
        };
        let signing_key = ed25519_dalek::SigningKey::from_bytes(&server_key.seed());
        let note_signer =
            NoteSigner::ed25519(config.log_origin.clone(), signing_key).map_err(|source| {
                StartError::Origin {
                    origin: config.log_origin.clone(),
                    source,
                }
            })?;
        Ok(Self {
            store,
            server_key,
            note_signer,
            rules,
            embedded,
        })
    }

    /// Closes the pool, then stops the embedded cluster if this process started it.
    pub async fn close(mut self) {
        close_store(&self.store, self.embedded.take()).await;
    }
}

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Background tasks (checkpointer, allocator), stopped before the database closes.
    background: Vec<tokio::task::JoinHandle<()>>,
    ledger: Ledger,
    vetting: Arc<checkpointer::Vetting>,
}

impl ServerConfig {
    /// What the handlers need of this configuration, with the log's verifier key and what
    /// the start-up check did.
    fn api_settings(
        &self,
        log_key: String,
        startup_check: StartupCheck,
        witnesses: WitnessPolicy,
    ) -> ApiSettings {
        ApiSettings {
            max_body_bytes: self.max_body_bytes,
            max_batch_entries: self.max_batch_entries,
            max_body_memory: self.max_body_memory,
            timestamp_skew: chrono::Duration::seconds(self.timestamp_skew_secs),
            log_key,
            startup_check,
            read_quota: self.read_quota(),
            request_window: chrono::Duration::seconds(self.request_window_secs),
            public_origin: self.public_origin.clone(),
            public_reads: self.public_reads,
            witnesses,
        }
    }
}

/// The start-up check (`--check-on-start`): the stored tree and checkpoints against the
/// leaves, and the rules over what came after the last checkpoint. Returns how far the log
/// is vetted.
async fn check_at_start(
    config: &ServerConfig,
    ledger: &Ledger,
) -> Result<(StartupCheck, u64), StartError> {
    if !config.check_on_start {
        return Ok((StartupCheck::Skipped, 0));
    }
    let report = check::check(
        &ledger.store,
        &ledger.note_signer.verifier(),
        ledger.server_key.public_key(),
        check::Depth::SinceCheckpoint,
    )
    .await
    .map_err(StartError::Check)?;
    tracing::info!(
        entries = report.entries,
        vetted_from = report.vetted_from,
        "stored tree and checkpoints agree with the leaves; entries after the last checkpoint obey the rules"
    );
    Ok((StartupCheck::Passed, report.entries))
}

impl RunningServer {
    pub async fn start(config: ServerConfig) -> Result<Self, StartError> {
        // Before anything records: the sequencer and allocator record from their first run.
        api::metrics::recorder();
        let witnesses = config.witnesses.policy().map_err(StartError::Witnesses)?;
        let ledger = Ledger::open(
            &config.database,
            config.db_connections,
            ServerKeyFile::CreateIfMissing,
        )
        .await?;
        let server_key = ledger.server_key.public_key();
        let (startup_check, vetted) = check_at_start(&config, &ledger).await?;
        let vetting = Arc::new(checkpointer::Vetting::new(vetted));
        let (committed, checkpointing) = checkpointer::spawn(
            ledger.store.clone(),
            ledger.note_signer.clone(),
            server_key,
            std::time::Duration::from_millis(config.checkpoint_interval_ms),
            vetting.clone(),
        );
        let allocator = allocator::Allocator::new(allocator::AllocatorSettings::new(
            config.allocator.allocations_at_once,
            config.allocator.allocator_threads,
        ));
        let erasures_due = Arc::new(tokio::sync::Notify::new());
        let sequencer = Sequencer::spawn(
            ledger.store.clone(),
            ledger.rules.clone(),
            config.commit_batch,
            vec![committed, allocator.due(), erasures_due.clone()],
            vetting.clone(),
        );
        limits::publish(
            &ledger.store,
            &sequencer,
            &ledger.server_key,
            config.allocator.limits(),
        )
        .await
        .map_err(StartError::Limits)?;
        let allocating = allocator::spawn(
            ledger.store.clone(),
            sequencer.clone(),
            ledger.server_key.clone(),
            allocator.clone(),
        )
        .map_err(StartError::Allocator)?;
        let settings = config.api_settings(
            ledger.note_signer.verifier().to_vkey(),
            startup_check,
            witnesses,
        );
        let keeping = spawn_keeper(&ledger, &sequencer, &config, erasures_due);
        let app = api::router(AppState {
            store: ledger.store.clone(),
            sequencer,
            allocator,
            settings: Arc::new(settings),
            nonces: api::auth::NonceCache::default(),
        });
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Listen(config.listen, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen(config.listen, e))?;
        let (shutdown, stop_signal) = oneshot::channel::<()>();
        let serving = tokio::spawn(api::serve(listener, app, async move {
            let _ = stop_signal.await;
        }));
        tracing::info!(%addr, "fairshare is serving");
        Ok(Self {
            addr,
            shutdown,
            serving,
            background: vec![
                checkpointing,
                allocating,
                keeping,
                api::metrics::spawn_upkeep(),
            ],
            ledger,
            vetting,
        })
    }

    /// What the checkpointer has vetted, and why it last refused to sign, if it did.
    pub fn vetting(&self) -> &checkpointer::Vetting {
        &self.vetting
    }

    pub fn store(&self) -> &Store {
        &self.ledger.store
    }

    /// Stops accepting requests, finishes the ones in flight, then closes the database.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        if let Ok(Err(error)) = self.serving.await {
            tracing::warn!(
                error = &error as &dyn std::error::Error,
                "server stopped with an error"
            );
        }
        for task in self.background {
            task.abort();
            let _ = task.await;
        }
        self.ledger.close().await;
    }
}
