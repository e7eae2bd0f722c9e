//! `fairshare check`: recompute the stored tree and checkpoints from the stored leaves, and
//! replay the entries after the last checkpoint (`--full`: every entry) through the rules
//! and signatures.

use super::CliError;
use crate::server::{DatabaseConfig, Ledger, ServerKeyFile};
use crate::service::check::{Depth, check};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Replay every entry through the rules and signatures and recompute every allocation,
    /// as `fairshare verify` does, not only the entries after the last signed checkpoint.
    #[arg(long)]
    full: bool,
    #[command(flatten)]
    database: DatabaseConfig,
}

pub async fn run(args: &CheckArgs) -> Result<(), CliError> {
    // The log's key must be there already: checking never makes one.
    let ledger = Ledger::open(&args.database, 2, ServerKeyFile::MustExist)
        .await
        .map_err(|e| CliError::failed_because("cannot open the ledger", e))?;
    let depth = if args.full {
        Depth::Full
    } else {
        Depth::SinceCheckpoint
    };
    let outcome = check(
        &ledger.store,
        &ledger.note_signer.verifier(),
        ledger.server_key.public_key(),
        depth,
    )
    .await;
    ledger.close().await;
    let report = outcome.map_err(|e| CliError::failed_because("check failed", e))?;
    println!(
        "ok: {} entries and {} checkpoints agree with the stored tree; entries {}..{} obey the rules and their signatures verify",
        report.entries, report.checkpoints, report.vetted_from, report.entries
    );
    Ok(())
}
