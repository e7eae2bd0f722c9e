//! `fairshare keygen`.

use super::CliError;
use crate::crypto::SecretKey;
use crate::entry::ActorId;
use crate::keyfile;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the new key (refuses to overwrite).
    #[arg(long)]
    out: PathBuf,
    /// The actor id the key is for. Without it, a random pseudonym is proposed: an id stays
    /// in the log for ever, so it should never be a real name (docs/PRIVACY.md).
    #[arg(long, value_parser = ActorId::parse)]
    actor: Option<ActorId>,
}

pub fn run(args: &KeygenArgs) -> Result<(), CliError> {
    let key =
        SecretKey::generate().map_err(|e| CliError::failed_because("cannot make a key", e))?;
    keyfile::write(&args.out, &key)
        .map_err(|e| CliError::input_because("cannot write the key file", e))?;
    let actor = match &args.actor {
        Some(actor) => actor.clone(),
        None => pseudonym()?,
    };
    let public = key.public_key();
    println!(
        "actor {actor}\npublic_key {}\nkey {}",
        public.to_base64(),
        public.key_id()
    );
    Ok(())
}

/// `actor-` and 16 random hex characters: 64 bits, so two proposals practically never meet.
fn pseudonym() -> Result<ActorId, CliError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::failed_because("no randomness for an actor id", e))?;
    ActorId::parse(&format!("actor-{}", hex::encode(bytes))).map_err(CliError::Failed)
}
