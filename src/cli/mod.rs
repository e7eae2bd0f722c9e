//! The command line: one file per subcommand. `main.rs` only calls [`run`].

mod actor;
mod audit;
mod check;
mod db;
mod demo;
mod export;
mod import;
mod keygen;
mod privacy;
mod prove;
mod request;
mod serve;
pub mod shapley;
mod sign;
mod submit;
mod verify;
mod witness;

use clap::{Parser, Subcommand};

/// What caused a command's error, kept so `main` can print it after the message.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Errors of the command-line layer; `exit_code` maps them to the process status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: a malformed file or argument. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// The command could not complete. Exit code 1.
    #[error("{0}")]
    Failed(String),
    /// Bad input, and the error that showed it. Exit code 2.
    #[error("{message}")]
    InputCause {
        message: String,
        #[source]
        cause: Cause,
    },
    /// The command could not complete, and why. Exit code 1.
    #[error("{message}")]
    FailedCause {
        message: String,
        #[source]
        cause: Cause,
    },
    /// The server could not be reached, refused, or served what does not verify. Exit code 1.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Input(_) | Self::InputCause { .. } => 2,
            Self::Failed(_) | Self::FailedCause { .. } | Self::Client(_) => 1,
        }
    }

    /// Bad input: `message` says which, `cause` what showed it.
    pub fn input_because(message: impl Into<String>, cause: impl Into<Cause>) -> Self {
        Self::InputCause {
            message: message.into(),
            cause: cause.into(),
        }
    }

    /// A failure: `message` says what could not be done, `cause` why.
    pub fn failed_because(message: impl Into<String>, cause: impl Into<Cause>) -> Self {
        Self::FailedCause {
            message: message.into(),
            cause: cause.into(),
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "fairshare",
    version,
    about = "A signed, append-only ledger of contributions and a fair (Shapley) split of the value they create"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the process's log lines go.
pub enum LogDestination {
    Stderr,
    /// A file, created afresh: `fairshare demo` tells its story on the terminal and the
    /// server's log lines would interleave with it.
    File(std::path::PathBuf),
}

impl Cli {
    pub fn log_destination(&self) -> LogDestination {
        match &self.command {
            Command::Demo(args) => args.log_destination(),
            _ => LogDestination::Stderr,
        }
    }

    /// The server's `--log-format`; the other commands log text.
    pub fn log_format(&self) -> crate::server::LogFormat {
        match &self.command {
            Command::Serve(config) => config.log_format,
            _ => crate::server::LogFormat::Text,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (embedded PostgreSQL unless DATABASE_URL is set).
    #[command(
        after_help = "Example:\n  fairshare serve --listen 127.0.0.1:8080\n  DATABASE_URL=postgres://postgres@127.0.0.1/fairshare fairshare serve"
    )]
    Serve(crate::server::ServerConfig),
    /// Register actors over HTTP (operator registrations are signed with the log's key).
    #[command(subcommand)]
    Actor(actor::ActorCommand),
    /// Database administration: set up roles and the database, apply migrations.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Create an ed25519 key file (mode 0600) and print its public key and key id.
    #[command(after_help = "Example:\n  fairshare keygen --out alice.key")]
    Keygen(keygen::KeygenArgs),
    /// Commit to a name, note, reason or artifact: prints the commitment for the body and
    /// the cleartext and salt that open it (keep them).
    Commit(privacy::CommitArgs),
    /// Deposit the cleartexts and salts of an entry's commitments with the server.
    Disclose(privacy::DiscloseArgs),
    /// Show that an artifact is what a contribution's evidence commits to (offline, from an export).
    ProveEvidence(privacy::ProveEvidenceArgs),
    /// Sign an entry: prints the signed entry JSON.
    #[command(
        after_help = "Example:\n  fairshare sign --key alice.key --actor alice --type contribution --body draft.json > entry.json"
    )]
    Sign(sign::SignArgs),
    /// Add a co-signature to a signed entry (an ai actor's operator, or a new key).
    #[command(
        after_help = "Example:\n  fairshare cosign --key acme.key --actor acme entry.json > cosigned.json"
    )]
    Cosign(sign::CosignArgs),
    /// Compute Shapley (or Owen, Banzhaf) values of a game file.
    #[command(
        after_help = "Example:\n  fairshare shapley --game glove.json --json\n  fairshare shapley --game voting.json --method monte-carlo --target-error 0.001 --seed 7"
    )]
    Shapley(shapley::ShapleyArgs),
    /// Play a realistic scenario end to end and show the allocations and their verification.
    #[command(after_help = "Example:\n  fairshare demo")]
    Demo(demo::DemoArgs),
    /// Export the whole log (NDJSON) and its latest checkpoint; resumes a partial file.
    #[command(
        after_help = "Example:\n  fairshare export --server http://127.0.0.1:8080 --out log.ndjson\n  fairshare export --actor regulator --key regulator.key --out log.ndjson"
    )]
    Export(export::ExportArgs),
    /// Verify an exported log offline: signatures, leaves, rules, roots, checkpoints.
    #[command(
        after_help = "Example:\n  fairshare verify --log log.ndjson --log-key \"$(curl -s localhost:8080/v1/log/key)\" --previous-checkpoint old.checkpoint"
    )]
    Verify(verify::VerifyArgs),
    /// Rebuild an empty database from an exported log, verified as `verify` does (direct database access).
    #[command(
        after_help = "Example:\n  fairshare import --log log.ndjson --log-key \"$(cat log.vkey)\" --database-url postgres://fairshare_app@127.0.0.1/fairshare\n\nReads FILE.checkpoint beside the log unless --checkpoint names another. With the\nlog's server key in place (--server-key, default DATA_DIR/server.key) the restored\nserver continues the log; docs/DEPLOY.md says what to do without it."
    )]
    Import(import::ImportArgs),
    /// Recompute the stored tree and checkpoints from the stored leaves (direct database access).
    #[command(
        after_help = "Example:\n  fairshare check --database-url postgres://postgres@127.0.0.1/fairshare"
    )]
    Check(check::CheckArgs),
    /// The regulator's reports, read through a server's API.
    #[command(
        subcommand,
        after_help = "Example:\n  fairshare audit report --server http://127.0.0.1:8080 <allocation id>"
    )]
    Audit(audit::AuditCommand),
    /// Submit one signed entry, or a file of them (NDJSON), to a server.
    #[command(
        after_help = "Example:\n  fairshare submit --server http://127.0.0.1:8080 entry.json\n  fairshare submit --server http://127.0.0.1:8080 entries.ndjson"
    )]
    Submit(submit::SubmitArgs),
    /// Sign one request as an actor, send it, print the answer (reads that are not public).
    #[command(
        after_help = "Example:\n  fairshare request GET /v1/actors/alice --actor alice --key alice.key\n  fairshare request GET '/v1/allocations?project=novel' --actor acme --key acme.key"
    )]
    Request(request::RequestArgs),
    /// Witness a log (C2SP tlog-witness): cosign each checkpoint consistent with the last one cosigned; stop on a fork.
    #[command(
        after_help = "Example:\n  fairshare witness --log http://127.0.0.1:8080 --log-key \"$(curl -s localhost:8080/v1/log/key)\" --key regulator.key --name regulator.example/witness --state witness-state"
    )]
    Witness(witness::WitnessArgs),
    /// Check an entry's proof bundle (C2SP tlog-proof) offline.
    #[command(
        after_help = "Example:\n  fairshare request GET /v1/entries/7/proof --actor alice --key alice.key > 7.tlog-proof\n  fairshare prove --bundle 7.tlog-proof --log-key \"$(cat log.vkey)\" --witness \"$(cat witness.vkey)\""
    )]
    Prove(prove::ProveArgs),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(config) => serve::run(config).await,
        Command::Actor(command) => actor::run(command).await,
        Command::Db(command) => db::run(command).await,
        Command::Keygen(args) => keygen::run(&args),
        Command::Sign(args) => sign::run_sign(&args),
        Command::Commit(args) => privacy::run_commit(&args),
        Command::Disclose(args) => privacy::run_disclose(&args).await,
        Command::ProveEvidence(args) => privacy::run_prove_evidence(&args),
        Command::Cosign(args) => sign::run_cosign(&args),
        Command::Submit(args) => submit::run(&args).await,
        Command::Request(args) => request::run(&args).await,
        Command::Shapley(args) => shapley::run(args),
        Command::Export(args) => export::run(&args).await,
        Command::Demo(args) => demo::run(&args).await,
        Command::Verify(args) => verify::run(&args).await,
        Command::Import(args) => import::run(&args).await,
        Command::Check(args) => check::run(&args).await,
        Command::Witness(args) => witness::run(&args).await,
        Command::Prove(args) => prove::run(&args),
        Command::Audit(command) => audit::run(&command).await,
    }
}

/// Reads a file named on the command line; a missing file is bad input.
fn read_input(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::input_because(format!("cannot read {}", path.display()), e))
}

fn json_input(path: &std::path::Path) -> Result<serde_json::Value, CliError> {
    serde_json::from_str(&read_input(path)?)
        .map_err(|e| CliError::input_because(format!("{} is not JSON", path.display()), e))
}
