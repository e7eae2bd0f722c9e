//! `fairshare actor register`: the server operator registers the first actors directly in
//! the database, with a registration signed by the server key.

use super::CliError;
use super::sign::random_nonce;
use crate::crypto::PublicKey;
use crate::entry::envelope::{Envelope, format_timestamp};
use crate::entry::{ActorId, ActorKind, EntryType, SignedEntry};
use crate::server::{DatabaseConfig, Ledger};
use crate::service::append_batch;
use serde_json::json;
use std::sync::Arc;

#[derive(clap::Subcommand, Debug)]
pub enum ActorCommand {
    /// Register an actor (the operator's bootstrap: the first regulator and platforms).
    #[command(
        after_help = "Example:\n  fairshare actor register --id regulator --kind regulator --public-key \"$(jq -r .public_key reg.key)\""
    )]
    Register(RegisterArgs),
}

#[derive(clap::Args, Debug)]
pub struct RegisterArgs {
    #[arg(long)]
    id: String,
    /// human, ai, platform or regulator.
    #[arg(long)]
    kind: String,
    /// The actor's ed25519 public key, standard base64.
    #[arg(long)]
    public_key: String,
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
    #[command(flatten)]
    database: DatabaseConfig,
}

pub async fn run(command: ActorCommand) -> Result<(), CliError> {
    let ActorCommand::Register(args) = command;
    let actor = ActorId::parse(&args.id).map_err(CliError::Input)?;
    ActorKind::parse(&args.kind).map_err(CliError::Input)?;
    PublicKey::from_base64(&args.public_key)
        .map_err(|e| CliError::input_because("--public-key", e))?;
    let mut body = json!({"kind": args.kind, "public_key": args.public_key});
    if let Some(name) = &args.name {
        body["name"] = json!(name);
    }
    if let Some(operator) = &args.operator {
        body["operator"] = json!(operator);
    }
    if args.model_name.is_some() || args.model_version.is_some() {
        body["model"] = json!({"name": args.model_name, "version": args.model_version});
    }

    let ledger = Ledger::open(&args.database, 2)
        .await
        .map_err(|e| CliError::failed_because("cannot open the ledger", e))?;
    let envelope = Envelope::unsigned(
        EntryType::ActorRegistered,
        actor.as_str(),
        ledger.server_key.public_key().key_id(),
        &format!("operator-{}", random_nonce()?),
        &format_timestamp(chrono::Utc::now()),
        body,
    );
    let outcome = async {
        let entry = SignedEntry::sign(envelope, &ledger.server_key)
            .map_err(|e| CliError::input_because("not a valid registration", e))?;
        let plan = append_batch(
            &ledger.store,
            &Arc::new(ledger.rules.clone()),
            Arc::new(vec![entry]),
            Vec::new(),
            &mut None,
        )
        .await
        .map_err(|e| CliError::failed_because("cannot append the registration", e))?;
        let answer = plan
            .result(0)
            .map_err(|e| CliError::input_because("the registration was refused", e))?;
        println!("{}", json!(answer.receipt));
        Ok(())
    }
    .await;
    ledger.close().await;
    outcome
}
