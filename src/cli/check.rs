//! `fairshare check`: recompute the stored tree and checkpoints from the stored leaves.

use super::CliError;
use crate::server::{DatabaseConfig, Ledger, ServerKeyFile};
use crate::service::check::check;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    database: DatabaseConfig,
}

pub async fn run(args: &CheckArgs) -> Result<(), CliError> {
    // The log's key must be there already: checking never makes one.
    let ledger = Ledger::open(&args.database, 2, ServerKeyFile::MustExist)
        .await
        .map_err(|e| CliError::failed_because("cannot open the ledger", e))?;
    let outcome = check(&ledger.store, &ledger.note_signer.verifier()).await;
    ledger.close().await;
    let report = outcome.map_err(|e| CliError::failed_because("check failed", e))?;
    println!(
        "ok: {} entries and {} checkpoints agree with the stored tree",
        report.entries, report.checkpoints
    );
    Ok(())
}
