use clap::Parser;
use clap::error::ErrorKind;
use fairshare::cli::{self, Cli, LogDestination};
use fairshare::server::LogFormat;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A refused value: clap's first paragraph, which names the flag (and the values it
        // takes), without its pointer to --help.
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::ValueValidation | ErrorKind::InvalidValue
            ) =>
        {
            let rendered = error.render().to_string();
            let first_paragraph = rendered.split("\n\n").next().unwrap_or_default();
            eprintln!("{}", first_paragraph.trim_end());
            std::process::exit(2);
        }
        Err(error) => error.exit(),
    };
    init_logging(cli.log_destination(), cli.log_format());
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

/// Log lines at FAIRSHARE_LOG's level (default info), as text or JSON, to stderr or a file.
fn init_logging(destination: LogDestination, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAIRSHARE_LOG")
        .unwrap_or_else(|_| "info".into());
    let logging = tracing_subscriber::fmt().with_env_filter(filter);
    let logging = match destination {
        LogDestination::Stderr => logging.with_writer(BoxMakeWriter::new(std::io::stderr)),
        LogDestination::File(path) => match std::fs::File::create(&path) {
            Ok(file) => logging
                .with_ansi(false)
                .with_writer(BoxMakeWriter::new(std::sync::Mutex::new(file))),
            Err(e) => {
                eprintln!("error: cannot write the log file {}: {e}", path.display());
                std::process::exit(1);
            }
        },
    };
    match format {
        LogFormat::Text => logging.init(),
        LogFormat::Json => logging.json().init(),
    }
}
