//! `fairshare import`: rebuild an empty database from an exported log. The export is read a
//! window at a time and replayed by the offline verifier's engine (`ledger::replay`, with
//! the allocation reproducer), and each accepted entry's rows are written as the append
//! writes them (`store::Rows`), with the sequence number and `received_at` its leaf holds.
//! Everything happens in one transaction under the log's append lock: a leaf that does not
//! verify, a database error or a checkpoint that does not match leaves the database as it
//! was.

use super::CliError;
use super::export::{ExportReader, checkpoint_path};
use super::verify::{check_against, log_key, signed_checkpoint_file};
use crate::allocation::reproduce::Reproducer;
use crate::crypto::{PublicKey, hash};
use crate::keyfile;
use crate::ledger::checkpoint::{Checkpoint, NoteVerifier};
use crate::ledger::merkle::{Frontier, Hash, NodeId};
use crate::ledger::replay::{BadLeaf, Observer, ReplayReport, Replayed, replay_stream};
use crate::server::{DatabaseConfig, close_store, open_store};
use crate::store::{AppendTx, NewRow, Rows, Store, StoreError};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// Entries per batch of INSERTs (the sequencer's default commit batch).
const BATCH: usize = 4000;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// An exported log (NDJSON, as `fairshare export` writes it).
    #[arg(long)]
    log: PathBuf,
    /// The log's verifier key (`name+hash+base64`, as served at /v1/log/key), or a file holding it.
    #[arg(long)]
    log_key: String,
    /// The checkpoint the log must match, stored with it (default: FILE.checkpoint).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Earlier checkpoints of the same log, checked against its prefix and stored too.
    #[arg(long)]
    previous_checkpoint: Vec<PathBuf>,
    #[command(flatten)]
    database: DatabaseConfig,
}

/// A checkpoint to store: the signed note and what it signs.
struct Signed {
    checkpoint: Checkpoint,
    note: String,
}

pub async fn run(args: &ImportArgs) -> Result<(), CliError> {
    let verifier = log_key(&args.log_key)?;
    if verifier.name() != args.database.log_origin {
        return Err(CliError::Input(format!(
            "the log's origin is {:?} (its key's name), but the server would sign as {:?}: run import and serve with --log-origin {:?} (FAIRSHARE_LOG_ORIGIN)",
            verifier.name(),
            args.database.log_origin,
            verifier.name()
        )));
    }
    let log_key = PublicKey::from_bytes(verifier.public_key().as_bytes())
        .map_err(|e| CliError::input_because("--log-key", e))?;
    let key_restored = server_key_matches(&args.database, &log_key)?;
    let checkpoint_file = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| checkpoint_path(&args.log));
    let latest = signed(&checkpoint_file, &verifier, "checkpoint")?;
    let mut checkpoints = args
        .previous_checkpoint
        .iter()
        .map(|path| signed(path, &verifier, "--previous-checkpoint"))
        .collect::<Result<Vec<_>, _>>()?;
    checkpoints.push(latest);
    let file = std::fs::File::open(&args.log)
        .map_err(|e| CliError::input_because(format!("cannot read {}", args.log.display()), e))?;
    let leaves = ExportReader::new(std::io::BufReader::new(file), &args.log);

    let (store, embedded) = open_store(&args.database, 2)
        .await
        .map_err(|e| CliError::failed_because("cannot open the database", e))?;
    let imported = import(&store, leaves, log_key, &checkpoints).await;
    close_store(&store, embedded).await;
    let report = imported?;
    println!(
        "imported {} entries of {} actors and {} checkpoint(s) into log {:?}; root {} matches the checkpoint of size {}",
        report.entries,
        report.actors,
        checkpoints.len(),
        args.database.log_id,
        hash::to_hex(&report.root),
        report.entries
    );
    if !key_restored {
        println!(
            "no server key at {}: `fairshare serve` refuses this log until the log's key is restored there (docs/DEPLOY.md, \"Restore\")",
            args.database.server_key_path().display()
        );
    }
    Ok(())
}

fn signed(path: &Path, verifier: &NoteVerifier, what: &str) -> Result<Signed, CliError> {
    let (checkpoint, note) = signed_checkpoint_file(path, verifier, what)?;
    Ok(Signed { checkpoint, note })
}

/// Whether the server key file holds the log's key. A key file that holds another key is
/// refused: a server with it would refuse the restored log (its checkpoints would not verify)
/// and sign new entries no verifier of this log accepts. A missing file is only missing
/// (said after the import), unless `--server-key` named it.
fn server_key_matches(config: &DatabaseConfig, log_key: &PublicKey) -> Result<bool, CliError> {
    let path = config.server_key_path();
    if config.server_key.is_none() && !path.exists() {
        return Ok(false);
    }
    let key = keyfile::read(&path)
        .map_err(|e| CliError::input_because(format!("--server-key {}", path.display()), e))?;
    if key.public_key() != *log_key {
        return Err(CliError::Input(format!(
            "the server key {} (key id {}) is not the log's key (key id {}): restore the key the log was written with, or import without it",
            path.display(),
            key.public_key().key_id(),
            log_key.key_id()
        )));
    }
    Ok(true)
}

/// Replays `leaves` into the empty log of `store` and stores `checkpoints` (the last is the
/// one the whole log must match), in one transaction.
async fn import(
    store: &Store,
    leaves: ExportReader<impl BufRead + Send + 'static>,
    log_key: PublicKey,
    checkpoints: &[Signed],
) -> Result<ReplayReport, CliError> {
    let failed =
        |e: StoreError| CliError::failed_because("the import failed and changed nothing", e);
    let mut tx = store.begin_append().await.map_err(failed)?;
    let holdings = tx.holdings().await.map_err(failed)?;
    if !holdings.is_empty() {
        return Err(CliError::Failed(format!(
            "log {:?} already holds {} entries and {} checkpoints: import restores into an empty database (nothing was changed)",
            store.log_id(),
            holdings.entries,
            holdings.checkpoints
        )));
    }
    let sizes: Vec<u64> = checkpoints.iter().map(|s| s.checkpoint.size).collect();
    let expected = sizes.last().copied().unwrap_or_default();
    let (sender, receiver) = mpsc::channel(2);
    let replaying =
        tokio::task::spawn_blocking(move || replay_into(leaves, log_key, sizes, expected, sender));
    let written = write_batches(&mut tx, receiver).await;
    let replayed = replaying
        .await
        .map_err(|e| CliError::failed_because("the replay did not finish", e))?;
    // A database error explains a replay that stopped because its rows were not taken.
    written.map_err(failed)?;
    let report = replayed.map_err(|bad| {
        CliError::Failed(format!(
            "verification failed at {bad}; nothing was imported"
        ))
    })?;
    matches_checkpoints(checkpoints, &report)?;
    for signed in checkpoints {
        let checkpoint = &signed.checkpoint;
        tx.insert_checkpoint(checkpoint.size, &checkpoint.root, &signed.note)
            .await
            .map_err(failed)?;
    }
    tx.commit().await.map_err(failed)?;
    Ok(report)
}

/// The replay, on a blocking thread: each accepted entry's rows go to `sender` in batches.
fn replay_into(
    leaves: ExportReader<impl BufRead>,
    log_key: PublicKey,
    sizes: Vec<u64>,
    expected: u64,
    sender: mpsc::Sender<Batch>,
) -> Result<ReplayReport, BadLeaf> {
    let progress = ProgressBar::new(expected);
    progress.set_style(
        ProgressStyle::with_template("{msg:22} {bar:40} {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if expected < 100_000 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let progress_fn = |phase: &'static str, done: u64| {
        progress.set_message(phase);
        progress.set_position(done);
    };
    let mut importer = Importer {
        reproducer: Reproducer::default(),
        batch: Batch::default(),
        frontier: Frontier::new(),
        sender,
    };
    let report = replay_stream(leaves, log_key, &sizes, &mut importer, &progress_fn)
        .and_then(|report| importer.flush().map(|()| report));
    progress.finish_and_clear();
    report
}

/// Writes each batch as it arrives; on an error, stops taking them (which stops the replay).
async fn write_batches(
    tx: &mut AppendTx,
    mut receiver: mpsc::Receiver<Batch>,
) -> Result<(), StoreError> {
    while let Some(batch) = receiver.recv().await {
        tx.write_rows(&batch.rows).await?;
        tx.insert_nodes(&batch.nodes).await?;
    }
    Ok(())
}

/// The leaves the checkpoints sign are exactly the export's (the last checkpoint covers it
/// all).
fn matches_checkpoints(checkpoints: &[Signed], report: &ReplayReport) -> Result<(), CliError> {
    let nothing = |e: CliError| {
        CliError::failed_because(
            "the export does not match its checkpoints; nothing was imported",
            e,
        )
    };
    for signed in checkpoints {
        check_against(&signed.checkpoint, report, "checkpoint").map_err(nothing)?;
    }
    match checkpoints.last() {
        Some(last) if last.checkpoint.size != report.entries => {
            Err(nothing(CliError::Failed(format!(
                "the export holds {} leaves but its checkpoint signs {}: import exactly the leaves a checkpoint signs",
                report.entries, last.checkpoint.size
            ))))
        }
        _ => Ok(()),
    }
}

/// The rows of up to [`BATCH`] entries and the tree nodes they complete.
#[derive(Default)]
struct Batch {
    rows: Rows,
    nodes: Vec<(NodeId, Hash)>,
}

/// The replay's observer: recomputes allocations as `fairshare verify` does, and gathers
/// each accepted entry's rows.
struct Importer {
    reproducer: Reproducer,
    batch: Batch,
    frontier: Frontier,
    sender: mpsc::Sender<Batch>,
}

impl Observer for Importer {
    fn observe(&mut self, replayed: &Replayed<'_>) -> Result<(), String> {
        self.reproducer.observe(replayed)?;
        let received_at = DateTime::parse_from_rfc3339(replayed.received_at)
            .map_err(|e| format!("received_at {:?}: {e}", replayed.received_at))?
            .with_timezone(&Utc);
        self.batch
            .rows
            .push(NewRow {
                seq: replayed.seq,
                id: replayed.id,
                leaf_hash: replayed.leaf_hash,
                leaf: replayed.leaf,
                received_at,
                entry: replayed.entry,
                effects: replayed.effects,
            })
            .map_err(|e| e.to_string())?;
        let nodes = &mut self.batch.nodes;
        self.frontier
            .append_with(replayed.leaf_hash, |node, hash| nodes.push((node, hash)))
            .map_err(|e| e.to_string())?;
        if self.batch.rows.len() >= BATCH {
            self.flush().map_err(|stopped| stopped.reason)?;
        }
        Ok(())
    }
}

impl Importer {
    /// Hands the batch to the writer (waiting while it writes the one before).
    fn flush(&mut self) -> Result<(), BadLeaf> {
        if self.batch.rows.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.sender.blocking_send(batch).map_err(|_| BadLeaf {
            index: self.frontier.size(),
            reason: "the database stopped taking rows".into(),
        })
    }
}
