//! `fairshare commit`, `fairshare disclose` and `fairshare prove-evidence`: the client side
//! of commitments (PROTOCOL.md, "Commitments, disclosures and erasures"). Cleartexts and
//! salts stay on the client unless it deposits them.

use super::{CliError, json_input};
use crate::client::layout::parse_leaf_line;
use crate::client::{LogClient, RequestSigner, layout};
use crate::crypto::commit::Salt;
use crate::crypto::hash;
use crate::entry::privacy::{CommittedField, Disclosure};
use crate::entry::{EntryId, SignedEntry};
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CommitArgs {
    /// The body field the commitment is for: name, note, reason or evidence.
    #[arg(long, value_parser = CommittedField::parse)]
    field: CommittedField,
    /// The text committed to (a name, note or reason).
    #[arg(
        long,
        conflicts_with = "artifact",
        required_unless_present = "artifact"
    )]
    text: Option<String>,
    /// The artifact an evidence commitment is for: its blake3 digest is committed to.
    #[arg(long)]
    artifact: Option<PathBuf>,
}

/// Prints `{"commitment", "field", "cleartext", "salt"}`: the commitment goes into the body,
/// the rest is what `disclose` deposits (keep it: without the salt nobody can open it).
pub fn run_commit(args: &CommitArgs) -> Result<(), CliError> {
    let cleartext = match (&args.text, &args.artifact) {
        (_, Some(path)) => artifact_digest(path)?,
        (Some(text), None) => text.clone(),
        (None, None) => return Err(CliError::Input("give --text or --artifact".into())),
    };
    let (commitment, disclosure) =
        Disclosure::commit(args.field, cleartext).map_err(CliError::Input)?;
    println!(
        "{}",
        json!({"commitment": commitment.to_string(), "field": disclosure.field.as_str(),
               "cleartext": disclosure.cleartext, "salt": disclosure.salt.to_hex()})
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct DiscloseArgs {
    /// The server's base URL.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// The entry whose committed fields are disclosed (its id).
    #[arg(long, value_parser = EntryId::parse)]
    entry: EntryId,
    /// Files as `fairshare commit` prints them, one per field, to deposit. Without them, the
    /// entry's disclosures are shown (to its subject or a regulator: --actor and --key).
    #[arg(long = "disclosure")]
    disclosures: Vec<PathBuf>,
    /// The reading actor's id (its requests are signed).
    #[arg(long, env = "FAIRSHARE_ACTOR", requires = "key")]
    actor: Option<String>,
    /// The reading actor's key file.
    #[arg(long, env = "FAIRSHARE_KEY", requires = "actor")]
    key: Option<PathBuf>,
}

/// Deposits the disclosures with the server, which stores them once they open the entry's
/// commitments; without any, shows the entry's disclosures, each checked against its leaf.
pub async fn run_disclose(args: &DiscloseArgs) -> Result<(), CliError> {
    if args.disclosures.is_empty() {
        return show(args).await;
    }
    let mut items = Vec::with_capacity(args.disclosures.len());
    for path in &args.disclosures {
        let printed: Value = json_input(path)?;
        items.push(
            json!({"field": printed["field"], "cleartext": printed["cleartext"],
                          "salt": printed["salt"]}),
        );
    }
    let answer = LogClient::new(&args.server)
        .deposit_disclosures(&json!({"entry": args.entry.to_string(), "disclosures": items}))
        .await
        .map_err(CliError::Client)?;
    println!("{answer}");
    Ok(())
}

/// Prints each committed field of the entry: its opening (checked here against the leaf the
/// server sent, whose blake3 must be the entry id), or that it was erased or not deposited.
async fn show(args: &DiscloseArgs) -> Result<(), CliError> {
    let (Some(actor), Some(key)) = (&args.actor, &args.key) else {
        return Err(CliError::Input(
            "showing disclosures needs --actor and --key (or give --disclosure files to deposit)"
                .into(),
        ));
    };
    let key = crate::keyfile::read(key)
        .map_err(|e| CliError::input_because("cannot read the key file", e))?;
    let client = LogClient::new(&args.server).signed_by(RequestSigner::new(actor, key));
    let path = layout::DISCLOSURE.replace("{entry}", &args.entry.to_string());
    let (status, text) = client.request("GET", &path, Vec::new()).await?;
    if !status.is_success() {
        return Err(CliError::Failed(format!(
            "the server answered {status}: {text}"
        )));
    }
    let shown: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::failed_because("the answer is not JSON", e))?;
    let leaf = crate::crypto::b64_decode(shown["leaf"].as_str().unwrap_or_default())
        .map_err(|e| CliError::failed_because("the answer's leaf is not base64", e))?;
    if hash::blake3(&leaf) != args.entry.0 {
        return Err(CliError::Failed(
            "the server sent another entry's leaf".into(),
        ));
    }
    let (entry, _) = SignedEntry::from_leaf(&leaf)
        .map_err(|e| CliError::Failed(format!("the server's leaf: {e}")))?;
    for field in shown["fields"].as_array().into_iter().flatten() {
        let name = field["field"].as_str().unwrap_or("?");
        match field["status"].as_str() {
            Some("disclosed") => {
                let opening = CommittedField::parse(name)
                    .and_then(|f| {
                        let salt = Salt::parse(field["salt"].as_str().unwrap_or_default())?;
                        let text = field["cleartext"].as_str().unwrap_or_default().to_owned();
                        Disclosure::new(f, text, salt)
                    })
                    .map_err(|e| CliError::Failed(format!("{name}: {e}")))?;
                if !opening.opens(&entry.envelope.body) {
                    return Err(CliError::Failed(format!(
                        "{name}: the server's opening does not open the leaf's commitment"
                    )));
                }
                println!(
                    "{name}: {} (salt {}; opens the commitment)",
                    opening.cleartext,
                    opening.salt.to_hex()
                );
            }
            Some("erased") => println!(
                "{name}: erased by the erasure entry at seq {}",
                field["erasure_seq"]
            ),
            _ => println!("{name}: not deposited"),
        }
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ProveEvidenceArgs {
    /// The artifact.
    #[arg(long)]
    artifact: PathBuf,
    /// The salt of the contribution's evidence commitment (64 hex characters).
    #[arg(long, value_parser = Salt::parse)]
    salt: Salt,
    /// The contribution's entry id.
    #[arg(long, value_parser = EntryId::parse)]
    entry: EntryId,
    /// The exported log that holds the entry (`fairshare export`).
    #[arg(long)]
    log: PathBuf,
}

/// Finds the entry in the export (its id is blake3 of its leaf) and checks that the artifact
/// under the salt is what its evidence commits to; exit 0 and a line saying so, or 1.
pub fn run_prove_evidence(args: &ProveEvidenceArgs) -> Result<(), CliError> {
    let digest = artifact_digest(&args.artifact)?;
    let disclosure = Disclosure::new(CommittedField::Evidence, digest.clone(), args.salt)
        .map_err(CliError::Input)?;
    let (index, entry) = find_entry(&args.log, &args.entry)?;
    if disclosure.opens(&entry.envelope.body) {
        println!(
            "ok: {} (artifact {digest}) is the evidence of contribution {} (leaf {index}, actor {})",
            args.artifact.display(),
            args.entry,
            entry.envelope.actor
        );
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "the artifact under this salt is not what entry {} commits to",
            args.entry
        )))
    }
}

/// `blake3:<hex>` of the file's bytes.
fn artifact_digest(path: &std::path::Path) -> Result<String, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::input_because(format!("cannot read {}", path.display()), e))?;
    Ok(format!("blake3:{}", hash::to_hex(&hash::blake3(&bytes))))
}

/// The entry `id` of the export file `path`, with its index.
fn find_entry(path: &std::path::Path, id: &EntryId) -> Result<(u64, SignedEntry), CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::input_because(format!("cannot read {}", path.display()), e))?;
    for line in std::io::BufReader::new(file).lines() {
        let line = line
            .map_err(|e| CliError::input_because(format!("cannot read {}", path.display()), e))?;
        let (index, leaf) = parse_leaf_line(&line).map_err(|e| {
            CliError::input_because(format!("{} is not an export", path.display()), e)
        })?;
        if hash::blake3(&leaf) == id.0 {
            let (entry, _) = SignedEntry::from_leaf(&leaf)
                .map_err(|e| CliError::Input(format!("leaf {index} of the export: {e}")))?;
            return Ok((index, entry));
        }
    }
    Err(CliError::Input(format!(
        "entry {id} is not in {}",
        path.display()
    )))
}
