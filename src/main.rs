use clap::Parser;
use fairshare::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FAIRSHARE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(error) = runtime.block_on(cli::run(cli)) {
        eprintln!("error: {}", fairshare::service::describe(&error));
        std::process::exit(error.exit_code());
    }
}
