//! `crm-metrics-testkit`: the one database harness of the workspace's tests.
//!
//! Every test that needs PostgreSQL takes a fresh, empty database from [`fresh_database`]: on the
//! server of `DATABASE_URL` when it is set, else on one embedded cluster per test process,
//! started under a temporary directory on first use (so tests never silently skip). The
//! [`TestDatabase`] handle drops the database, connections and all, as soon as its last clone
//! goes: when the test ends. Whatever a crash leaves is dropped when the test process exits (the
//! embedded cluster goes whole, with its directory).

use std::sync::{Arc, Mutex};

use crm_metrics::storage::embedded::EmbeddedPostgres;
use sqlx::Connection;

/// The embedded cluster and its directory, when `DATABASE_URL` is unset; stopped and removed when
/// the test process exits.
static EMBEDDED: Mutex<Option<(EmbeddedPostgres, std::path::PathBuf)>> = Mutex::new(None);
static SERVER_URL: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
/// The databases this process created on a server given by `DATABASE_URL` and still holds,
/// dropped at exit.
static CREATED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static DROP_AT_EXIT: std::sync::Once = std::sync::Once::new();

/// Drops the databases this process created on the `DATABASE_URL` server and still holds (an
/// embedded cluster goes whole with its directory). Runs at exit.
extern "C" fn drop_created_databases() {
    let names = CREATED
        .lock()
        .map(|mut names| std::mem::take(&mut *names))
        .unwrap_or_default();
    if let Ok(server) = std::env::var("DATABASE_URL") {
        drop_now(&server, &names);
    }
}

/// Drops the databases `names` on `server` (with their connections) before returning, on a
/// thread of its own with its own runtime, so it can run from `Drop` or at exit.
fn drop_now(server: &str, names: &[String]) {
    if names.is_empty() {
        return;
    }
    let server = server.to_owned();
    let names = names.to_vec();
    let cleanup = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let Ok(mut admin) = maintenance(&server).await else {
                return;
            };
            for name in names {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(&mut admin)
                    .await;
            }
        });
    });
    let _ = cleanup.join();
}

extern "C" fn stop_embedded() {
    if let Ok(mut guard) = EMBEDDED.lock()
        && let Some((embedded, dir)) = guard.take()
    {
        // Dropping stops the cluster synchronously; then its files go.
        drop(embedded);
        let _ = std::fs::remove_dir_all(dir);
    }
}

// The C runtime's exit hooks: the one use of unsafe in the tests, to stop the embedded cluster
// and drop the test databases when the test process exits.
#[allow(unsafe_code)]
unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> i32;
}

/// Why the harness could not give a test its database (the test reports it and fails).
#[derive(Debug)]
pub struct HarnessError(String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

/// A harness error saying what failed and why.
fn failed(what: &str, cause: impl std::fmt::Display) -> HarnessError {
    HarnessError(format!("{what}: {cause}"))
}

/// The URL of a PostgreSQL server for this test run (one per process).
async fn server_url() -> Result<String, HarnessError> {
    SERVER_URL
        .get_or_try_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                return Ok(url);
            }
            let dir = std::env::temp_dir().join(format!("crm-metrics-test-{}", std::process::id()));
            let embedded = EmbeddedPostgres::start_unsynced(&dir)
                .await
                .map_err(|e| failed("starting the embedded PostgreSQL", e))?;
            let url = embedded.database_url();
            *EMBEDDED
                .lock()
                .map_err(|e| failed("keeping the embedded cluster", e))? = Some((embedded, dir));
            // SAFETY: registering a plain extern "C" function with the C runtime.
            #[allow(unsafe_code)]
            unsafe {
                atexit(stop_embedded);
            }
            Ok(url)
        })
        .await
        .cloned()
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> Result<String, HarnessError> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (prefix, _) = base
        .rsplit_once('/')
        .ok_or_else(|| failed("a database URL without a database path", url))?;
    Ok(match query {
        Some(query) => format!("{prefix}/{database}?{query}"),
        None => format!("{prefix}/{database}"),
    })
}

/// A connection to the server's maintenance database.
async fn maintenance(server: &str) -> Result<sqlx::PgConnection, HarnessError> {
    sqlx::PgConnection::connect(&with_database(server, "postgres")?)
        .await
        .map_err(|e| failed("connecting to the maintenance database", e))
}

/// A test's own database. Clones share it; when the last one goes (the test ends, or the last
/// service started on it stops), the database is dropped with its connections.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    owned: Arc<OwnedDatabase>,
}

#[derive(Debug)]
struct OwnedDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.owned.url
    }
}

impl Drop for OwnedDatabase {
    fn drop(&mut self) {
        if let Ok(mut created) = CREATED.lock() {
            created.retain(|name| *name != self.name);
        }
        drop_now(&self.server, std::slice::from_ref(&self.name));
    }
}

/// A fresh, empty database on the test server.
pub async fn fresh_database() -> Result<TestDatabase, HarnessError> {
    let server = server_url().await?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = maintenance(&server).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .map_err(|e| failed("creating the test database", e))?;
    if std::env::var_os("DATABASE_URL").is_some() {
        CREATED
            .lock()
            .map_err(|e| failed("noting the test database", e))?
            .push(name.clone());
        // SAFETY: registering a plain extern "C" function with the C runtime, once.
        #[allow(unsafe_code)]
        DROP_AT_EXIT.call_once(|| unsafe {
            atexit(drop_created_databases);
        });
    }
    Ok(TestDatabase {
        owned: Arc::new(OwnedDatabase {
            url: with_database(&server, &name)?,
            server,
            name,
        }),
    })
}

/// Drops a test database, closing its connections (the service's pool included).
pub async fn drop_database(url: &str) -> Result<(), HarnessError> {
    let name = url
        .split('?')
        .next()
        .and_then(|base| base.rsplit('/').next())
        .ok_or_else(|| failed("a database URL without a database name", url))?
        .to_owned();
    let mut admin = maintenance(&server_url().await?).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .map_err(|e| failed("dropping the test database", e))?;
    Ok(())
}
