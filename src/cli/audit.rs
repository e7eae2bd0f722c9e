//! `fairshare audit report`: the manipulation report of one allocation, read through the
//! server's API (`GET /v1/audit/allocations/{id}/report`) and printed as JSON.

use super::CliError;
use crate::entry::EntryId;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// The manipulation report of an allocation (by its entry id or its value entry's id).
    Report(ReportArgs),
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Server base URL.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Entry id of the allocation, or of the value entry it allocates.
    id: String,
    /// The report is for regulators and auditors.
    #[command(flatten)]
    sign_as: super::request::SignAs,
}

pub async fn run(command: &AuditCommand) -> Result<(), CliError> {
    match command {
        AuditCommand::Report(args) => {
            EntryId::parse(&args.id).map_err(|e| CliError::Input(format!("{}: {e}", args.id)))?;
            let report = args
                .sign_as
                .client(&args.server)?
                .audit_report(&args.id)
                .await?;
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| CliError::Failed(format!("cannot print the report: {e}")))?;
            println!("{text}");
            Ok(())
        }
    }
}
