//! `fairshare sign` and `fairshare cosign`: the client side of the protocol.

use super::{CliError, json_input};
use crate::entry::envelope::{Envelope, format_timestamp, sign_envelope};
use crate::entry::{ActorId, EntryType, SignedEntry};
use crate::keyfile;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The signer's key file.
    #[arg(long)]
    key: PathBuf,
    /// The signing actor's id.
    #[arg(long)]
    actor: String,
    /// Entry type.
    #[arg(long = "type", value_parser = entry_types())]
    entry_type: EntryType,
    /// JSON file holding the body.
    #[arg(long)]
    body: PathBuf,
    /// Nonce (default: 24 random hex characters).
    #[arg(long)]
    nonce: Option<String>,
    /// Timestamp, RFC 3339 UTC (default: now).
    #[arg(long)]
    ts: Option<String>,
}

/// Every entry type, as `--help` lists them and `--type` accepts them.
fn entry_types() -> impl clap::builder::TypedValueParser<Value = EntryType> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(EntryType::ALL.map(EntryType::as_str))
        .try_map(|name: String| EntryType::parse(&name))
}

#[derive(clap::Args, Debug)]
pub struct CosignArgs {
    /// The co-signer's key file.
    #[arg(long)]
    key: PathBuf,
    /// The co-signing actor's id.
    #[arg(long)]
    actor: String,
    /// The signed entry (JSON file).
    entry: PathBuf,
}

pub fn run_sign(args: &SignArgs) -> Result<(), CliError> {
    let key = read_key(&args.key)?;
    let nonce = match &args.nonce {
        Some(n) => n.clone(),
        None => random_nonce()?,
    };
    let ts = args
        .ts
        .clone()
        .unwrap_or_else(|| format_timestamp(chrono::Utc::now()));
    let envelope = Envelope::unsigned(
        args.entry_type,
        &args.actor,
        key.public_key().key_id(),
        &nonce,
        &ts,
        json_input(&args.body)?,
    );
    let signed = sign_envelope(&envelope, &key, &[])
        .map_err(|e| CliError::input_because("cannot sign the envelope", e))?;
    // Refuse to print an entry the server would refuse for its form.
    SignedEntry::parse(&signed).map_err(|e| CliError::Input(e.to_string()))?;
    println!("{signed}");
    Ok(())
}

/// 24 random hex characters.
pub(super) fn random_nonce() -> Result<String, CliError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::failed_because("no randomness for a nonce", e))?;
    Ok(hex::encode(bytes))
}

fn read_key(path: &std::path::Path) -> Result<crate::crypto::SecretKey, CliError> {
    keyfile::read(path).map_err(|e| CliError::input_because("cannot read the key file", e))
}

pub fn run_cosign(args: &CosignArgs) -> Result<(), CliError> {
    let key = read_key(&args.key)?;
    let actor = ActorId::parse(&args.actor).map_err(CliError::Input)?;
    let mut entry: Value = json_input(&args.entry)?;
    let message = SignedEntry::parse(&entry)
        .map_err(|e| CliError::Input(e.to_string()))?
        .signing_message();
    let cosignature = json!({"actor": actor.as_str(), "key": key.public_key().key_id().to_string(), "signature": key.sign(&message).to_base64()});
    match entry.get_mut("cosignatures").and_then(Value::as_array_mut) {
        Some(list) => list.push(cosignature),
        None => entry["cosignatures"] = json!([cosignature]),
    }
    println!("{entry}");
    Ok(())
}
