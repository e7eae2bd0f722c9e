//! `fairshare verify`: check an exported log offline against the log's key and checkpoints.
//! The log comes from a file written by `fairshare export` or straight from a server.

use super::export::{ExportReader, checkpoint_path};
use super::{CliError, read_input};
use crate::allocation::reproduce::Reproducer;
use crate::client::LogClient;
use crate::crypto::{PublicKey, hash};
use crate::entry::envelope::PROTOCOL_VERSION;
use crate::ledger::checkpoint::{
    Checkpoint, NoteVerifier, SIGNATURE_TYPE_ED25519, open_checkpoint,
};
use crate::ledger::merkle::Frontier;
use crate::ledger::replay::{BadLeaf, ReplayReport, replay_stream};
use crate::ledger::witness::WitnessPolicy;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// An exported log (NDJSON file) or a server URL to read it from.
    #[arg(long)]
    log: String,
    /// The log's verifier key (`name+hash+base64`, as served at /v1/log/key), or a file holding it.
    #[arg(long)]
    log_key: String,
    /// The checkpoint the log must match (default: FILE.checkpoint, or the server's latest).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// A checkpoint saved earlier: the log must extend it (exposes rewritten or forked history).
    #[arg(long)]
    previous_checkpoint: Option<PathBuf>,
    #[command(flatten)]
    witnesses: WitnessKeys,
}

/// The witnesses a checkpoint must be cosigned by, for `verify` and `prove`.
#[derive(clap::Args, Debug)]
pub(super) struct WitnessKeys {
    /// A witness's verifier key (`name+hash+base64(0x04 || key)`) or a file holding it;
    /// repeat for each. The checkpoint must carry cosignatures of --quorum of them.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned the checkpoint (default: all).
    #[arg(long, requires = "witnesses")]
    quorum: Option<usize>,
}

pub async fn run(args: &VerifyArgs) -> Result<(), CliError> {
    let verifier = log_key(&args.log_key)?;
    let is_url = args.log.starts_with("http://") || args.log.starts_with("https://");
    let client = is_url.then(|| LogClient::new(&args.log));
    let policy = args.witnesses.policy()?;
    let (checkpoint, note) = match (&args.checkpoint, &client) {
        (Some(path), _) => signed_checkpoint_file(path, &verifier, "--checkpoint")?,
        (None, Some(client)) => {
            let signed = client.checkpoint(&verifier).await?;
            (signed.checkpoint, signed.note)
        }
        (None, None) => signed_checkpoint_file(
            &checkpoint_path(Path::new(&args.log)),
            &verifier,
            "checkpoint",
        )?,
    };
    let witnessed = policy
        .as_ref()
        .map(|policy| {
            policy
                .open(&note, &verifier)
                .map(|(_, cosignatures)| (cosignatures.len(), policy.quorum()))
                .map_err(|e| CliError::failed_because("the checkpoint is not witnessed", e))
        })
        .transpose()?;
    let previous = args
        .previous_checkpoint
        .as_deref()
        .map(|path| checkpoint_file(path, &verifier, "--previous-checkpoint"))
        .transpose()?;
    let sizes: Vec<u64> = std::iter::once(checkpoint.size)
        .chain(previous.as_ref().map(|p| p.size))
        .collect();
    let report = match client {
        Some(client) => replay_from_server(client, &checkpoint, &verifier, sizes).await?,
        None => {
            let path = Path::new(&args.log);
            let file = std::fs::File::open(path).map_err(|e| {
                CliError::input_because(format!("cannot read {}", path.display()), e)
            })?;
            let windows = ExportReader::new(std::io::BufReader::new(file), path);
            replay_log(windows, checkpoint.size, &verifier, sizes).await?
        }
    };
    check_against(&checkpoint, &report, "checkpoint")?;
    if let Some(previous) = &previous {
        check_extends(previous, &checkpoint, &report)?;
    }
    println!(
        "ok: {} entries, {} actors; every signature, leaf and rule of protocol v{PROTOCOL_VERSION} checked, every allocation recomputed; root {} matches the checkpoint of size {}{}{}",
        report.entries,
        report.actors,
        hash::to_hex(&report.root),
        checkpoint.size,
        witnessed
            .map(|(valid, quorum)| format!(
                ", cosigned by {valid} of the named witnesses (quorum {quorum})"
            ))
            .unwrap_or_default(),
        previous
            .map(|p| format!(
                ", consistent with the previous checkpoint of size {}",
                p.size
            ))
            .unwrap_or_default()
    );
    Ok(())
}

/// `--log-key`: the key itself, or a file holding it.
pub(super) fn log_key(argument: &str) -> Result<NoteVerifier, CliError> {
    let text = std::fs::read_to_string(argument).unwrap_or_else(|_| argument.to_owned());
    let key = NoteVerifier::from_vkey(text.trim())
        .map_err(|e| CliError::input_because("--log-key", e))?;
    // A witness's key (type 0x04) would take its cosignature for the log's signature.
    if key.signature_type() != SIGNATURE_TYPE_ED25519 {
        return Err(CliError::Input(format!(
            "--log-key {} is not a log's key (signature type 0x01)",
            key.to_vkey()
        )));
    }
    Ok(key)
}

impl WitnessKeys {
    /// `--witness` keys (each the key or a file holding it) and `--quorum`; none without keys.
    pub(super) fn policy(&self) -> Result<Option<WitnessPolicy>, CliError> {
        if self.witnesses.is_empty() {
            return Ok(None);
        }
        let keys = self
            .witnesses
            .iter()
            .map(|argument| {
                let text =
                    std::fs::read_to_string(argument).unwrap_or_else(|_| argument.to_owned());
                NoteVerifier::from_vkey(text.trim())
                    .map_err(|e| CliError::input_because("--witness", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quorum = self.quorum.unwrap_or(keys.len());
        WitnessPolicy::new(keys, quorum)
            .map(Some)
            .map_err(|e| CliError::input_because("--witness and --quorum", e))
    }
}

/// The checkpoint in the file `path`, verified under the log's key.
fn checkpoint_file(
    path: &Path,
    verifier: &NoteVerifier,
    what: &str,
) -> Result<Checkpoint, CliError> {
    signed_checkpoint_file(path, verifier, what).map(|(checkpoint, _)| checkpoint)
}

/// The checkpoint in the file `path`, verified under the log's key, and the signed note.
pub(super) fn signed_checkpoint_file(
    path: &Path,
    verifier: &NoteVerifier,
    what: &str,
) -> Result<(Checkpoint, String), CliError> {
    let note = read_input(path)?;
    let (checkpoint, _) = open_checkpoint(&note, std::slice::from_ref(verifier))
        .map_err(|e| CliError::input_because(format!("{what} {}", path.display()), e))?;
    Ok((checkpoint, note))
}

/// Replays every leaf the server holds, page by page as it arrives (a page is a window of
/// the replay). The replay recomputes the roots and names the first bad leaf, which says
/// more than the stream's own root check, so that check is left to it; a failed fetch is
/// reported as such.
async fn replay_from_server(
    client: LogClient,
    checkpoint: &Checkpoint,
    verifier: &NoteVerifier,
    sizes: Vec<u64>,
) -> Result<ReplayReport, CliError> {
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    let checkpoint = checkpoint.clone();
    let expected = checkpoint.size;
    let fetching = async move {
        let mut stream = client.leaves(checkpoint, Frontier::new()).to_log_end();
        while let Some(page) = stream.next_page().await? {
            let leaves: Vec<Vec<u8>> = page.into_iter().map(|leaf| leaf.bytes).collect();
            if sender.send(Ok(leaves)).await.is_err() {
                break; // The replay stopped at a bad leaf.
            }
        }
        Ok::<(), CliError>(())
    };
    let mut receiver = receiver;
    let windows = std::iter::from_fn(move || receiver.blocking_recv());
    let (fetched, replayed) =
        tokio::join!(fetching, replay_log(windows, expected, verifier, sizes));
    fetched?;
    replayed
}

/// Replays the log as it arrives in `windows` (`expected` leaves, for the progress bar) on
/// all cores, holding only a window of leaves and the state the rules and the allocations
/// need; `sizes` are the tree sizes whose roots the checks need.
pub(super) async fn replay_log<W: AsRef<[Vec<u8>]>>(
    windows: impl Iterator<Item = Result<W, BadLeaf>> + Send + 'static,
    expected: u64,
    verifier: &NoteVerifier,
    sizes: Vec<u64>,
) -> Result<ReplayReport, CliError> {
    let server_key = PublicKey::from_bytes(verifier.public_key().as_bytes())
        .map_err(|e| CliError::input_because("--log-key", e))?;
    let progress = ProgressBar::new(expected);
    progress.set_style(
        ProgressStyle::with_template("{msg:22} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if expected < 100_000 {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    tokio::task::spawn_blocking(move || {
        let progress_fn = |phase: &'static str, done: u64| {
            progress.set_message(phase);
            progress.set_position(done);
        };
        let result = replay_stream(
            windows,
            server_key,
            &sizes,
            &mut Reproducer::default(),
            &progress_fn,
        );
        progress.finish_and_clear();
        result
    })
    .await
    .map_err(|e| CliError::failed_because("the replay did not finish", e))?
    .map_err(|bad| CliError::Failed(format!("verification failed at {bad}")))
}

/// The log holds `checkpoint`'s leaves: its root at that size is the checkpoint's.
pub(super) fn check_against(
    checkpoint: &Checkpoint,
    report: &ReplayReport,
    what: &str,
) -> Result<(), CliError> {
    match report.roots.get(&checkpoint.size) {
        None => Err(CliError::Failed(format!(
            "the {what} covers {} entries but the log has only {}: entries were removed",
            checkpoint.size, report.entries
        ))),
        Some(root) if *root != checkpoint.root => Err(CliError::Failed(format!(
            "the root recomputed from the first {} leaves ({}) differs from the {what}'s ({})",
            checkpoint.size,
            hash::to_hex(root),
            hash::to_hex(&checkpoint.root)
        ))),
        Some(_) => Ok(()),
    }
}

/// The log the current checkpoint signs extends the one the previous checkpoint signed.
fn check_extends(
    previous: &Checkpoint,
    current: &Checkpoint,
    report: &ReplayReport,
) -> Result<(), CliError> {
    if previous.size > current.size {
        return Err(CliError::Failed(format!(
            "inconsistent checkpoints: the previous checkpoint has {} entries, the current one only {}",
            previous.size, current.size
        )));
    }
    check_against(previous, report, "previous checkpoint").map_err(|e| {
        CliError::Failed(format!(
            "inconsistent checkpoints: {e}: history was rewritten or forked"
        ))
    })
}
