//! `fairshare serve`.

use super::CliError;
use crate::server::{RunningServer, ServerConfig};

pub async fn run(config: ServerConfig) -> Result<(), CliError> {
    let server = RunningServer::start(config)
        .await
        .map_err(|e| CliError::failed_because("cannot start the server", e))?;
    println!("fairshare listening on http://{}", server.addr);
    wait_for_stop_signal().await;
    println!("stopping");
    server.stop().await;
    Ok(())
}

/// Ctrl-C or SIGTERM (what docker and systemd send).
async fn wait_for_stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
