//! `fairshare actor register`: a registration signed with the key it is given and submitted
//! over HTTP like any other entry. Registering another key than one's own is an operator
//! action: the key must be the one the log names (`GET /v1/log/key`).

use super::CliError;
use super::sign::random_nonce;
use crate::client::LogClient;
use crate::crypto::{PublicKey, SecretKey};
use crate::entry::envelope::{Envelope, format_timestamp, sign_envelope};
use crate::entry::{ActorId, ActorKind, EntryType, SignedEntry};
use crate::keyfile;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum ActorCommand {
    /// Register an actor: the operator registers platforms and regulators with the log's
    /// key; anyone registers their own key as a human (or, co-signed, an ai).
    #[command(
        after_help = "Example:\n  fairshare actor register --key .fairshare/server.key --id regulator --kind regulator --public-key \"$(jq -r .public_key reg.key)\""
    )]
    Register(RegisterArgs),
}

#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    /// Server base URL.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// The signing key file: the log's key (the server key) for an operator registration,
    /// or the registered actor's own key. Never created by this command.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER_KEY",
        default_value = ".fairshare/server.key"
    )]
    key: PathBuf,
    #[arg(long)]
    id: String,
    /// human, ai, platform or regulator.
    #[arg(long)]
    kind: String,
    /// The actor's ed25519 public key, standard base64 (default: the signing key's own).
    #[arg(long)]
    public_key: Option<String>,
    /// The accountable human or platform (ai actors only).
    #[arg(long)]
    operator: Option<String>,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Model name (ai actors only).
    #[arg(long)]
    model_name: Option<String>,
    /// Model version (ai actors only).
    #[arg(long)]
    model_version: Option<String>,
}

pub async fn run(command: ActorCommand) -> Result<(), CliError> {
    let ActorCommand::Register(args) = command;
    let actor = ActorId::parse(&args.id).map_err(CliError::Input)?;
    ActorKind::parse(&args.kind).map_err(CliError::Input)?;
    let key = keyfile::read(&args.key)
        .map_err(|e| CliError::input_because("cannot read the key file", e))?;
    let public_key = match &args.public_key {
        Some(text) => {
            PublicKey::from_base64(text).map_err(|e| CliError::input_because("--public-key", e))?
        }
        None => key.public_key(),
    };
    let client = LogClient::new(&args.server);
    if public_key != key.public_key() {
        require_log_key(&client, &args, &key).await?;
    }
    let envelope = Envelope::unsigned(
        EntryType::ActorRegistered,
        actor.as_str(),
        key.public_key().key_id(),
        &random_nonce()?,
        &format_timestamp(chrono::Utc::now()),
        registration_body(&args, &public_key),
    );
    let signed = sign_envelope(&envelope, &key, &[])
        .map_err(|e| CliError::input_because("cannot sign the registration", e))?;
    // Refuse to send a registration the server would refuse for its form.
    SignedEntry::parse(&signed).map_err(|e| CliError::Input(e.to_string()))?;
    println!("{}", client.submit(&signed).await?);
    Ok(())
}

fn registration_body(args: &RegisterArgs, public_key: &PublicKey) -> Value {
    let mut body = json!({"kind": args.kind, "public_key": public_key.to_base64()});
    if let Some(name) = &args.name {
        body["name"] = json!(name);
    }
    if let Some(operator) = &args.operator {
        body["operator"] = json!(operator);
    }
    if args.model_name.is_some() || args.model_version.is_some() {
        body["model"] = json!({"name": args.model_name, "version": args.model_version});
    }
    body
}

/// An operator registration is signed with the log's key: refuses any other key before
/// anything is sent.
async fn require_log_key(
    client: &LogClient,
    args: &RegisterArgs,
    key: &SecretKey,
) -> Result<(), CliError> {
    let log_key = client.log_key().await?;
    let log_public = PublicKey::from_bytes(log_key.public_key().as_bytes())
        .map_err(|e| CliError::failed_because("the server's log key is not an ed25519 key", e))?;
    if log_public == key.public_key() {
        return Ok(());
    }
    Err(CliError::Input(format!(
        "{} holds key {}, not the log's operator key {} (GET /v1/log/key at {}): registering another key than the signer's own is an operator action",
        args.key.display(),
        key.public_key().key_id(),
        log_public.key_id(),
        args.server
    )))
}
