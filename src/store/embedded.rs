//! The embedded PostgreSQL default: a private cluster, made with the machine's own server
//! binaries (initdb, pg_ctl) in a data folder of ours, listening on a unix socket only, so
//! clusters never collide on ports. PostgreSQL refuses to run as root: as root, the binaries
//! run as the `postgres` user and the data folder is handed to it.

use super::StoreError;
use sqlx::postgres::PgConnectOptions;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster. [`EmbeddedPostgres::stop`] stops it if this process started it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Starts (after initdb, the first time) the cluster kept in `data_dir/pgdata`, or joins
    /// it when another process already runs it. Blocking: call it from a blocking context.
    pub fn start(data_dir: &Path, configured_bin_dir: Option<&Path>) -> Result<Self, StoreError> {
        let bin_dir = find_binaries(configured_bin_dir)?;
        let run_as = if effective_uid() == 0 {
            Some(postgres_user()?)
        } else {
            None
        };
        std::fs::create_dir_all(data_dir).map_err(|e| io_error("create", data_dir, e))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(|e| io_error("resolve", data_dir, e))?;
        let cluster_dir = data_dir.join("pgdata");
        // Unix socket paths are limited to ~107 bytes: keep the socket folder short.
        let digest = crate::crypto::hash::blake3(data_dir.as_os_str().as_encoded_bytes());
        let socket_dir =
            std::env::temp_dir().join(format!("fairshare-pg-{}", &hex::encode(digest)[..12]));
        for dir in [&data_dir, &cluster_dir, &socket_dir] {
            std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
            hand_over(dir, run_as)?;
        }
        let mut cluster = Self {
            bin_dir,
            cluster_dir,
            socket_dir,
            run_as,
            started_here: false,
        };
        if !cluster.cluster_dir.join("PG_VERSION").exists() {
            cluster.run(
                "initdb",
                [OsStr::new("-D"), cluster.cluster_dir.as_os_str()],
                &[
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
            )?;
        }
        if cluster.pg_ctl(&["status"]).is_err() {
            let log = data_dir.join("postgres.log");
            let options = format!(
                "-c listen_addresses='' -c unix_socket_directories='{}' -c max_connections=200",
                cluster.socket_dir.display()
            );
            cluster.pg_ctl(&[
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ])?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    /// Connection options for the cluster's `postgres` database.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username("postgres")
            .database("postgres")
    }

    /// A URL form of [`Self::connect_options`], for people and tools.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@localhost/postgres?host={}",
            self.socket_dir.display()
        )
    }

    /// Stops the cluster (fast shutdown) if this process started it.
    pub fn stop(&mut self) -> Result<(), StoreError> {
        if std::mem::take(&mut self.started_here) {
            self.pg_ctl(&["-m", "fast", "-w", "stop"])?;
        }
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), StoreError> {
        self.run(
            "pg_ctl",
            [OsStr::new("-D"), self.cluster_dir.as_os_str()],
            args,
        )
    }

    fn run(&self, program: &str, dir_args: [&OsStr; 2], args: &[&str]) -> Result<(), StoreError> {
        let mut command = Command::new(self.bin_dir.join(program));
        command.args(dir_args).args(args).current_dir("/");
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        let output = command
            .output()
            .map_err(|e| StoreError::Embedded(format!("cannot run {program}: {e}")))?;
        if output.status.success() {
            return Ok(());
        }
        Err(StoreError::Embedded(format!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Err(error) = self.stop() {
            tracing::warn!(%error, "could not stop the embedded PostgreSQL");
        }
    }
}

/// The folder holding initdb and pg_ctl: the configured one, else the one on PATH, else the
/// newest /usr/lib/postgresql/<version>/bin.
pub fn find_binaries(configured: Option<&Path>) -> Result<PathBuf, StoreError> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = configured {
        return if has_tools(dir) {
            Ok(dir.to_owned())
        } else {
            Err(StoreError::Embedded(format!(
                "{} holds no initdb and pg_ctl (FAIRSHARE_PG_BIN)",
                dir.display()
            )))
        };
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            Some((
                e.file_name().to_str()?.parse::<u32>().ok()?,
                e.path().join("bin"),
            ))
        })
        .collect();
    versioned.sort();
    on_path.chain(versioned.into_iter().rev().map(|(_, dir)| dir)).find(|d| has_tools(d)).ok_or_else(|| {
        StoreError::Embedded(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin. \
             Install them (Debian/Ubuntu: apt-get install postgresql), or set FAIRSHARE_PG_BIN to their folder, \
             or set DATABASE_URL to use a running PostgreSQL server."
                .into(),
        )
    })
}

/// uid and gid of the `postgres` user, read from /etc/passwd.
/// The process's effective user id: PostgreSQL refuses to run as root, so as root the
/// cluster runs as the `postgres` user.
#[allow(unsafe_code)] // std has no geteuid (one of two unsafe calls, with setpriority).
fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

fn postgres_user() -> Result<(u32, u32), StoreError> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&"postgres"))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .ok_or_else(|| {
            StoreError::Embedded(
                "running as root, but PostgreSQL refuses to run as root and there is no 'postgres' user to run it as: \
                 create one (useradd postgres), run fairshare as another user, or set DATABASE_URL"
                    .into(),
            )
        })
}

/// Gives `dir` to the user the cluster runs as, readable by nobody else (initdb requires it).
fn hand_over(dir: &Path, run_as: Option<(u32, u32)>) -> Result<(), StoreError> {
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|e| io_error("chown", dir, e))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| io_error("chmod", dir, e))
}

fn io_error(action: &str, path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Embedded(format!("cannot {action} {}: {error}", path.display()))
}
