//! An embedded PostgreSQL for running without `DATABASE_URL`: a private cluster under the data
//! directory, run from the server binaries installed on the machine.
//!
//! The server listens only on a Unix socket in a directory of its own (`listen_addresses=''`,
//! `-k <dir>`), so it never collides with another PostgreSQL on the machine, whatever port that
//! one uses. PostgreSQL refuses to run as root, so as root the binaries run as the `postgres` OS
//! user (created if missing) via `runuser`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use host::{
    create_private_dir, find_binaries, io, is_root, percent_encode, run_checked, socket_dir_for,
    with_log_tail,
};

mod host;

/// The database the service uses inside the embedded cluster.
const DATABASE: &str = "crm_metrics";
/// The OS user (and database superuser) that runs the server when we are root.
const OS_USER: &str = "postgres";
/// Longest socket directory we use: `sun_path` holds 107 bytes and PostgreSQL appends
/// `/.s.PGSQL.5432`.
const MAX_SOCKET_DIR_LEN: usize = 90;

/// Why the embedded PostgreSQL could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// No PostgreSQL server binaries on this machine.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, in \
         /usr/lib/postgresql/<version>/bin or /usr/local/pgsql/bin: install them (e.g. \
         `apt-get install postgresql`) or set DATABASE_URL to an existing database"
    )]
    BinariesNotFound,
    /// A file-system step failed.
    #[error("embedded postgres: {step}: {source}")]
    Io {
        step: String,
        #[source]
        source: std::io::Error,
    },
    /// A PostgreSQL tool exited with an error.
    #[error("embedded postgres: {step} failed: {detail}")]
    Command { step: String, detail: String },
    /// Creating a database over the socket failed.
    #[error("embedded postgres: creating database {name:?}: {source}")]
    Database {
        name: String,
        #[source]
        source: sqlx::Error,
    },
}

/// A running private PostgreSQL cluster; stopped by [`EmbeddedPostgres::stop`] or on drop.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    cluster_dir: PathBuf,
    socket_dir: PathBuf,
    run_as_postgres: bool,
    running: bool,
}

impl EmbeddedPostgres {
    /// Starts (initialising on first use) the cluster in `<data_dir>/pg`, with durable settings,
    /// and creates the `crm_metrics` database if missing. A server already running from that
    /// directory is reused.
    pub async fn start(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        Self::start_with(data_dir, true).await
    }

    /// Like [`EmbeddedPostgres::start`] but with fsync and synchronous commit off: faster, and
    /// loses data on an OS crash. For tests and throwaway data only.
    pub async fn start_unsynced(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        Self::start_with(data_dir, false).await
    }

    async fn start_with(data_dir: &Path, durable: bool) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_binaries().ok_or(EmbeddedError::BinariesNotFound)?;
        // Not private: as root, the postgres user must be able to traverse it.
        std::fs::create_dir_all(data_dir).map_err(io("creating the data dir"))?;
        let data_dir = std::fs::canonicalize(data_dir).map_err(io("resolving the data dir"))?;
        let cluster_dir = data_dir.join("pg");
        let socket_dir = socket_dir_for(&data_dir);
        let log_file = data_dir.join("pg.log");
        let fresh = !cluster_dir.join("PG_VERSION").is_file();
        create_private_dir(&cluster_dir)?;
        create_private_dir(&socket_dir)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .map_err(io("creating the server log"))?;

        let mut server = EmbeddedPostgres {
            bin_dir,
            cluster_dir,
            socket_dir,
            run_as_postgres: is_root().await?,
            running: false,
        };
        if server.run_as_postgres {
            server.hand_over_to_postgres_user(&log_file, fresh).await?;
        }
        if fresh {
            tracing::info!(dir = %server.cluster_dir.display(), "initialising embedded postgres");
            server
                .pg_tool(
                    "initdb",
                    "initdb",
                    &[
                        "-D".into(),
                        server.cluster_dir.clone().into(),
                        "-U".into(),
                        OS_USER.into(),
                        "--auth=trust".into(),
                        "-E".into(),
                        "UTF8".into(),
                        // C locale: byte order, and never depends on locales installed on the host.
                        "--locale=C".into(),
                        "--no-sync".into(),
                    ],
                )
                .await?;
        }

        server.clear_zombie_lock()?;
        if server.is_running().await? {
            tracing::info!(socket_dir = %server.socket_dir.display(), "reusing running embedded postgres");
        } else {
            let sync = if durable { "on" } else { "off" };
            let options = format!(
                "-c listen_addresses='' -k '{}' -c fsync={sync} -c synchronous_commit={sync} \
                 -c full_page_writes={sync}",
                server.socket_dir.display()
            );
            server
                .pg_tool(
                    "pg_ctl start",
                    "pg_ctl",
                    &[
                        "-D".into(),
                        server.cluster_dir.clone().into(),
                        "-l".into(),
                        log_file.clone().into(),
                        "-o".into(),
                        options.into(),
                        "-w".into(),
                        "-t".into(),
                        "60".into(),
                        "start".into(),
                    ],
                )
                .await
                .map_err(|error| with_log_tail(error, &log_file))?;
            tracing::info!(socket_dir = %server.socket_dir.display(), "embedded postgres started");
        }
        // From here on, dropping `server` stops the cluster.
        server.running = true;
        server.create_database(DATABASE).await?;
        Ok(server)
    }

    /// The URL of the service's database, over the private socket.
    pub fn database_url(&self) -> String {
        self.database_url_for(DATABASE)
    }

    /// The URL of database `name` in this cluster.
    pub fn database_url_for(&self, name: &str) -> String {
        format!(
            "postgres:///{}?host={}&user={OS_USER}",
            percent_encode(name),
            percent_encode(&self.socket_dir.to_string_lossy())
        )
    }

    /// Creates database `name` unless it exists (tests use one fresh database each) and returns
    /// its URL.
    pub async fn create_database(&self, name: &str) -> Result<String, EmbeddedError> {
        let failed = |source| EmbeddedError::Database {
            name: name.to_owned(),
            source,
        };
        let mut conn = PgConnection::connect(&self.database_url_for("postgres"))
            .await
            .map_err(failed)?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut conn)
                .await
                .map_err(failed)?;
        if !exists {
            let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
            match sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await {
                Ok(_) => tracing::info!(database = name, "created database"),
                // Created concurrently by another process: just as good.
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => {}
                Err(error) => return Err(failed(error)),
            }
        }
        let _ = conn.close().await;
        Ok(self.database_url_for(name))
    }

    /// Stops the server (fast shutdown: open connections are cut, committed data is kept).
    pub async fn stop(mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let result = self
            .pg_tool("pg_ctl stop", "pg_ctl", &self.stop_args())
            .await;
        match result {
            Ok(_) => tracing::info!("embedded postgres stopped"),
            Err(error) => tracing::warn!(%error, "stopping embedded postgres failed"),
        }
    }

    fn stop_args(&self) -> Vec<OsString> {
        vec![
            "-D".into(),
            self.cluster_dir.clone().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "stop".into(),
        ]
    }

    /// Removes the lock files of a crashed postmaster that is still a zombie. A dead pid is
    /// handled by PostgreSQL itself, but a zombie (left unreaped when PID 1 of a container does
    /// not reap orphans) still "exists" for `kill(pid, 0)`, so every later start would refuse.
    fn clear_zombie_lock(&self) -> Result<(), EmbeddedError> {
        let pid_file = self.cluster_dir.join("postmaster.pid");
        let Ok(text) = std::fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let Some(pid) = text
            .lines()
            .next()
            .and_then(|line| line.trim().parse::<u32>().ok())
        else {
            return Ok(());
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Format: `pid (comm) state ...`; comm may contain spaces or parentheses.
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if zombie {
            tracing::warn!(pid, "removing lock files of a crashed embedded postgres");
            for lock in [pid_file, self.socket_dir.join(".s.PGSQL.5432.lock")] {
                match std::fs::remove_file(&lock) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(EmbeddedError::Io {
                            step: format!("removing stale {}", lock.display()),
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// `pg_ctl status`: 0 running, 3 not running (other codes: no usable data dir).
    async fn is_running(&self) -> Result<bool, EmbeddedError> {
        let args: [OsString; 3] = [
            "-D".into(),
            self.cluster_dir.clone().into(),
            "status".into(),
        ];
        let output = self.command("pg_ctl", &args).output().await;
        let output = output.map_err(io("running pg_ctl status"))?;
        Ok(output.status.success())
    }

    /// As root: makes sure the `postgres` user exists and owns what the server writes.
    async fn hand_over_to_postgres_user(
        &self,
        log_file: &Path,
        fresh: bool,
    ) -> Result<(), EmbeddedError> {
        let known = tokio::process::Command::new("id")
            .args(["-u", OS_USER])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .map_err(io("running id"))?;
        if !known.success() {
            tracing::info!(user = OS_USER, "creating os user for embedded postgres");
            run_checked(
                "useradd",
                tokio::process::Command::new("useradd").args(["--system", OS_USER]),
            )
            .await?;
        }
        let owner = format!("{OS_USER}:");
        let mut chown = tokio::process::Command::new("chown");
        if fresh {
            // An interrupted earlier initdb may have left files behind.
            chown.arg("-R");
        }
        chown
            .arg(&owner)
            .arg(&self.cluster_dir)
            .arg(&self.socket_dir)
            .arg(log_file);
        run_checked("chown", &mut chown).await?;
        allow_traversal(&self.cluster_dir)?;

        // The postgres user must also be able to reach the directories (e.g. not under /root).
        let reachable = self
            .command("test", &["-w".into(), self.cluster_dir.clone().into()])
            .status()
            .await
            .map_err(io("checking access of the postgres user"))?;
        if !reachable.success() {
            return Err(EmbeddedError::Command {
                step: "checking access".into(),
                detail: format!(
                    "the {OS_USER} os user cannot write {}: a directory above the data dir is \
                     closed to other users (e.g. under /root, or inside a `mktemp -d` directory); \
                     choose a data dir whose parent directories others may traverse, or open \
                     them with `chmod o+x`",
                    self.cluster_dir.display()
                ),
            });
        }
        Ok(())
    }

    /// Runs a PostgreSQL tool from the binary dir, failing with its output on a non-zero exit.
    async fn pg_tool(
        &self,
        step: &str,
        tool: &str,
        args: &[OsString],
    ) -> Result<Output, EmbeddedError> {
        let program = self.bin_dir.join(tool);
        run_checked(step, &mut self.command(program, args)).await
    }

    /// A command run as the `postgres` user when we are root, from `/` so that an unreadable
    /// working directory (e.g. /root) does not bother it.
    fn command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[OsString],
    ) -> tokio::process::Command {
        let mut command = if self.run_as_postgres {
            let mut command = tokio::process::Command::new("runuser");
            command.args(["-u", OS_USER, "--"]).arg(program);
            command
        } else {
            tokio::process::Command::new(program)
        };
        command.args(args).current_dir("/").stdin(Stdio::null());
        command
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        // Best effort and synchronous: there may be no runtime left to run anything async.
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let mut command = if self.run_as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", OS_USER, "--"]).arg(pg_ctl);
            command
        } else {
            std::process::Command::new(pg_ctl)
        };
        let status = command
            .args(self.stop_args())
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(error) = status {
            tracing::warn!(%error, "stopping embedded postgres on drop failed");
        }
    }
}

/// Lets other users traverse (not list) the data dir holding `cluster_dir`, so the postgres user
/// reaches its cluster inside: a data dir made by `mktemp -d` is 0700.
fn allow_traversal(cluster_dir: &Path) -> Result<(), EmbeddedError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(data_dir) = cluster_dir.parent() else {
        return Ok(());
    };
    let mut permissions = std::fs::metadata(data_dir)
        .map_err(io("reading the data dir's permissions"))?
        .permissions();
    if permissions.mode() & 0o001 == 0 {
        permissions.set_mode(permissions.mode() | 0o001);
        std::fs::set_permissions(data_dir, permissions)
            .map_err(io("letting the postgres user traverse the data dir"))?;
        tracing::info!(data_dir = %data_dir.display(), "let other users traverse the data dir");
    }
    Ok(())
}
