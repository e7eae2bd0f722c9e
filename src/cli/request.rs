//! `fairshare request METHOD PATH --actor ID --key FILE`: signs one request as an actor
//! (PROTOCOL.md, "Signed requests"), sends it and prints the answer's body; the exit code
//! is 0 for a 2xx answer, 1 otherwise (the problem document is printed all the same).

use super::{CliError, read_input};
use crate::client::{LogClient, RequestSigner};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// The HTTP method (GET, POST, ...).
    method: String,
    /// The path and query, such as /v1/actors/alice or '/v1/allocations?project=novel'.
    path: String,
    /// The signing actor's id.
    #[arg(long, env = "FAIRSHARE_ACTOR")]
    actor: String,
    /// The actor's key file (`fairshare keygen`).
    #[arg(long, env = "FAIRSHARE_KEY")]
    key: PathBuf,
    /// A file holding a JSON body to send and sign (with its Content-Digest).
    #[arg(long)]
    body: Option<PathBuf>,
    /// Server base URL.
    #[arg(
        long,
        env = "FAIRSHARE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
}

/// `--actor` and `--key` of a command that reads what is not public (PROTOCOL.md, "Access
/// rules"): its requests are signed as that actor, a regulator or an auditor for most.
#[derive(clap::Args, Debug)]
pub struct SignAs {
    /// Sign the requests as this actor (unsigned: only public reads, or a server with
    /// --public-reads); needs --key.
    #[arg(long, requires = "key")]
    actor: Option<String>,
    /// The key file of --actor.
    #[arg(long, requires = "actor")]
    key: Option<PathBuf>,
}

impl SignAs {
    /// A client of `server`, signing as `--actor` when given.
    pub(super) fn client(&self, server: &str) -> Result<LogClient, CliError> {
        let client = LogClient::new(server);
        Ok(match (&self.actor, &self.key) {
            (Some(actor), Some(key)) => client.signed_by(signer(actor, key)?),
            _ => client,
        })
    }
}

/// The signer of `actor`'s requests, with its key file.
pub(super) fn signer(actor: &str, key: &std::path::Path) -> Result<RequestSigner, CliError> {
    let key = crate::keyfile::read(key)
        .map_err(|e| CliError::input_because("cannot read the key file", e))?;
    Ok(RequestSigner::new(actor, key))
}

pub async fn run(args: &RequestArgs) -> Result<(), CliError> {
    let method = args.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(CliError::Input(format!(
            "{:?} is not an HTTP method",
            args.method
        )));
    }
    if !args.path.starts_with('/') {
        return Err(CliError::Input(format!(
            "{:?} is not a path: it starts with /",
            args.path
        )));
    }
    let body = match &args.body {
        Some(path) => read_input(path)?.into_bytes(),
        None => Vec::new(),
    };
    let client = LogClient::new(&args.server).signed_by(signer(&args.actor, &args.key)?);
    let (status, text) = client.request(&method, &args.path, body).await?;
    println!("{}", text.trim_end());
    if status.is_success() {
        Ok(())
    } else {
        Err(CliError::Failed(format!("the server answered {status}")))
    }
}
