//! `fairshare db`: the database administrator's commands. The server itself never holds a
//! connection that could change the log; these take the stronger ones.

use super::CliError;
use crate::store::{self, setup};

#[derive(clap::Subcommand, Debug)]
pub enum DbCommand {
    /// Create the owner and server roles and the database, and migrate it (as a superuser).
    #[command(
        after_help = "Example:\n  fairshare db setup --admin-url postgres://postgres@127.0.0.1/postgres --database fairshare\n\nPrints the DATABASE_URL the server should use. The roles get no password: for\nclusters that trust local connections. docs/SECURITY.md gives the SQL for others."
    )]
    Setup(SetupArgs),
    /// Apply pending migrations, connected as the tables' owner.
    #[command(
        after_help = "Example:\n  fairshare db migrate --owner-url postgres://fairshare_owner:SECRET@db/fairshare"
    )]
    Migrate(MigrateArgs),
}

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// A superuser's URL on the cluster (any database).
    #[arg(long, env = "FAIRSHARE_ADMIN_URL")]
    admin_url: String,
    /// The database to create (or reuse) for the log.
    #[arg(long, default_value = "fairshare")]
    database: String,
}

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The URL of the log's database as the role that owns its tables.
    #[arg(long, env = "FAIRSHARE_OWNER_URL")]
    owner_url: String,
}

pub async fn run(command: DbCommand) -> Result<(), CliError> {
    match command {
        DbCommand::Setup(args) => {
            let admin = store::connect_options(&args.admin_url)
                .map_err(|e| CliError::input_because("--admin-url", e))?;
            setup::provision(&admin, &args.database)
                .await
                .map_err(|e| CliError::failed_because("cannot set the database up", e))?;
            println!("DATABASE_URL={}", app_url(&args.admin_url, &args.database)?);
        }
        DbCommand::Migrate(args) => {
            let owner = store::connect_options(&args.owner_url)
                .map_err(|e| CliError::input_because("--owner-url", e))?;
            setup::migrate(&owner)
                .await
                .map_err(|e| CliError::failed_because("cannot migrate the database", e))?;
            println!("migrations applied");
        }
    }
    Ok(())
}

/// The admin URL with the server's role and the log's database in place of its own (host,
/// port and socket kept).
fn app_url(admin_url: &str, database: &str) -> Result<url::Url, CliError> {
    let mut url =
        url::Url::parse(admin_url).map_err(|e| CliError::input_because("--admin-url", e))?;
    let unusable = |_| CliError::Input("--admin-url: not a URL with a user and a path".into());
    url.set_username(setup::APP_ROLE).map_err(unusable)?;
    url.set_password(None).map_err(unusable)?;
    url.set_path(database);
    Ok(url)
}
