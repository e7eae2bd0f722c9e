//! `fairshare witness`: a C2SP tlog-witness for one log, pulling (docs/PROTOCOL.md,
//! "Witnesses"). It keeps the last checkpoint it cosigned in `--state`, reads the checkpoint
//! the log asks it to cosign and a consistency proof from its own, makes the add-checkpoint
//! checks (`ledger::witness`), persists the new state, then posts the cosignature. On a fork
//! it writes both signed checkpoints to a report in `--state` and exits non-zero.

use super::CliError;
use super::verify::log_key;
use crate::client::LogClient;
use crate::keyfile;
use crate::ledger::checkpoint::{NoteSigner, NoteVerifier, SignedNote};
use crate::ledger::witness::{SignedCheckpoint, Step, add_checkpoint};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// The log's server URL.
    #[arg(long)]
    log: String,
    /// The log's verifier key (`name+hash+base64`), or a file holding it.
    #[arg(long)]
    log_key: String,
    /// The witness's ed25519 key file (`fairshare keygen`).
    #[arg(long)]
    key: PathBuf,
    /// The witness's name, as its cosignature lines and verifier key carry it.
    #[arg(long, default_value = "fairshare.local/witness")]
    name: String,
    /// Folder for the last cosigned checkpoint (`checkpoint`) and fork reports.
    #[arg(long)]
    state: PathBuf,
    /// Check the log once and exit, instead of polling it.
    #[arg(long)]
    once: bool,
    /// Time between two polls of the log, in milliseconds (1 to a day).
    #[arg(long, default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=24 * 3600 * 1000))]
    interval_ms: u64,
}

/// The file in `--state` holding the last cosigned checkpoint.
const STATE_FILE: &str = "checkpoint";

pub async fn run(args: &WitnessArgs) -> Result<(), CliError> {
    let log = log_key(&args.log_key)?;
    let key = keyfile::read(&args.key)
        .map_err(|e| CliError::input_because("cannot read the witness key file", e))?;
    let signer = NoteSigner::cosigner(
        args.name.clone(),
        ed25519_dalek::SigningKey::from_bytes(&key.seed()),
    )
    .map_err(|e| CliError::input_because("--name", e))?;
    std::fs::create_dir_all(&args.state).map_err(|e| {
        CliError::input_because(format!("cannot create {}", args.state.display()), e)
    })?;
    println!("witness {}", signer.verifier().to_vkey());
    let client = LogClient::new(&args.log);
    loop {
        witness_once(&client, &log, &signer, &args.state).await?;
        if args.once {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
}

/// One round: read, check, persist, cosign.
async fn witness_once(
    client: &LogClient,
    log: &NoteVerifier,
    signer: &NoteSigner,
    state: &Path,
) -> Result<(), CliError> {
    let cosigned = read_state(state, log)?;
    let note = client.checkpoint_to_cosign().await?;
    let shown = SignedCheckpoint::open(&note, log)
        .map_err(|e| CliError::failed_because("the log's checkpoint", e))?;
    let proof = match &cosigned {
        Some(old) if old.checkpoint.size != shown.checkpoint.size => {
            let (first, second) = ordered(old.checkpoint.size, shown.checkpoint.size);
            client.consistency_proof(first, second).await?
        }
        _ => Vec::new(),
    };
    match add_checkpoint(cosigned.as_ref(), &shown, &proof, signer, now())
        .map_err(|e| CliError::failed_because("cannot cosign", e))?
    {
        Step::Cosign(line) => {
            let cosigned_note = format!("{}{}", shown.note, line.to_line());
            write_state(state, &cosigned_note)?;
            client.post_cosignature(&cosigned_note).await?;
            println!("cosigned size {}", shown.checkpoint.size);
            Ok(())
        }
        // The one already cosigned: cosigned again (as add-checkpoint does for an equal
        // checkpoint) only if the log lacks this witness's line, say after a lost post.
        Step::Unchanged if !carries_line_of(&shown.note, signer) => {
            let line = signer
                .cosign(&shown.checkpoint.to_note_text(), now())
                .map_err(|e| CliError::failed_because("cannot cosign", e))?;
            client
                .post_cosignature(&format!("{}{}", shown.note, line.to_line()))
                .await?;
            println!("cosigned size {} again", shown.checkpoint.size);
            Ok(())
        }
        Step::Unchanged | Step::Older => Ok(()),
        Step::Fork(fork) => {
            let path = state.join(format!("fork-{}.txt", now()));
            std::fs::write(&path, fork.report()).map_err(|e| {
                CliError::failed_because(format!("cannot write {}", path.display()), e)
            })?;
            Err(CliError::Failed(format!(
                "the log forked: its checkpoints of sizes {} and {} are not consistent ({}); both signed checkpoints are in {}",
                fork.cosigned.checkpoint.size,
                fork.shown.checkpoint.size,
                fork.reason,
                path.display()
            )))
        }
    }
}

/// Whether `note` carries a signature line of `signer`'s name and key ID.
fn carries_line_of(note: &str, signer: &NoteSigner) -> bool {
    SignedNote::parse(note).is_ok_and(|parsed| {
        parsed
            .signatures
            .iter()
            .any(|s| s.name == signer.name() && s.key_id == signer.key_id())
    })
}

fn ordered(a: u64, b: u64) -> (u64, u64) {
    (a.min(b), a.max(b))
}

/// POSIX seconds now.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The last cosigned checkpoint, if this witness cosigned one.
fn read_state(state: &Path, log: &NoteVerifier) -> Result<Option<SignedCheckpoint>, CliError> {
    let path = state.join(STATE_FILE);
    let note = match std::fs::read_to_string(&path) {
        Ok(note) => note,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CliError::input_because(
                format!("cannot read {}", path.display()),
                e,
            ));
        }
    };
    SignedCheckpoint::open(&note, log).map(Some).map_err(|e| {
        CliError::input_because(format!("{} is not the log's checkpoint", path.display()), e)
    })
}

/// Replaces the state file whole (a new file renamed over the old one), so a crash leaves
/// the old state or the new one.
fn write_state(state: &Path, note: &str) -> Result<(), CliError> {
    let failed = |e: std::io::Error| {
        CliError::failed_because(format!("cannot write the state in {}", state.display()), e)
    };
    let mut file = tempfile::NamedTempFile::new_in(state).map_err(failed)?;
    std::io::Write::write_all(&mut file, note.as_bytes()).map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(state.join(STATE_FILE))
        .map_err(|e| failed(e.error))?;
    Ok(())
}
