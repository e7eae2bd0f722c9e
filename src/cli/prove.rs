//! `fairshare prove`: checks one entry's C2SP tlog-proof bundle offline, against the log's
//! key and, when named, a quorum of witnesses.

use super::verify::{WitnessKeys, log_key};
use super::{CliError, read_input};
use crate::crypto::hash;
use crate::ledger::proof::ProofBundle;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ProveArgs {
    /// A proof bundle, as `GET /v1/entries/{seq}/proof` serves it.
    #[arg(long)]
    bundle: PathBuf,
    /// The log's verifier key (`name+hash+base64`), or a file holding it.
    #[arg(long)]
    log_key: String,
    #[command(flatten)]
    witnesses: WitnessKeys,
}

pub fn run(args: &ProveArgs) -> Result<(), CliError> {
    let log = log_key(&args.log_key)?;
    let policy = args.witnesses.policy()?;
    let text = read_input(&args.bundle)?;
    let bundle = ProofBundle::parse(&text)
        .map_err(|e| CliError::input_because(format!("{}", args.bundle.display()), e))?;
    let (checkpoint, leaf, cosigned) = bundle
        .verify(&log, policy.as_ref())
        .map_err(|e| CliError::failed_because("the proof does not hold", e))?;
    println!(
        "ok: entry {} is leaf {} of the log's checkpoint of size {}{}",
        hash::to_hex(&hash::blake3(leaf)),
        bundle.index,
        checkpoint.size,
        policy
            .map(|p| format!(
                ", cosigned by {cosigned} of the named witnesses (quorum {})",
                p.quorum()
            ))
            .unwrap_or_default()
    );
    Ok(())
}
