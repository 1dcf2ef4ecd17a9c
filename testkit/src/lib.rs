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
    let maintenance = with_database(server, "postgres");
    let names = names.to_vec();
    let cleanup = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let Ok(mut admin) = sqlx::PgConnection::connect(&maintenance).await else {
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

/// The URL of a PostgreSQL server for this test run (one per process).
async fn server_url() -> String {
    SERVER_URL
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                return url;
            }
            let dir = std::env::temp_dir().join(format!("crm-metrics-test-{}", std::process::id()));
            let embedded = EmbeddedPostgres::start_unsynced(&dir)
                .await
                .expect("embedded postgresql starts");
            let url = embedded.database_url();
            *EMBEDDED.lock().expect("lock") = Some((embedded, dir));
            // SAFETY: registering a plain extern "C" function with the C runtime.
            #[allow(unsafe_code)]
            unsafe {
                atexit(stop_embedded);
            }
            url
        })
        .await
        .clone()
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (prefix, _) = base.rsplit_once('/').expect("url has a database path");
    match query {
        Some(query) => format!("{prefix}/{database}?{query}"),
        None => format!("{prefix}/{database}"),
    }
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
pub async fn fresh_database() -> TestDatabase {
    let server = server_url().await;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&with_database(&server, "postgres"))
        .await
        .expect("connect to the maintenance database");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    if std::env::var_os("DATABASE_URL").is_some() {
        CREATED.lock().expect("lock").push(name.clone());
        // SAFETY: registering a plain extern "C" function with the C runtime, once.
        #[allow(unsafe_code)]
        DROP_AT_EXIT.call_once(|| unsafe {
            atexit(drop_created_databases);
        });
    }
    TestDatabase {
        owned: Arc::new(OwnedDatabase {
            url: with_database(&server, &name),
            server,
            name,
        }),
    }
}

/// Drops a test database, closing its connections (the service's pool included).
pub async fn drop_database(url: &str) {
    let name = url
        .split('?')
        .next()
        .and_then(|base| base.rsplit('/').next())
        .expect("database name")
        .to_owned();
    let server = server_url().await;
    let mut admin = sqlx::PgConnection::connect(&with_database(&server, "postgres"))
        .await
        .expect("connect to the maintenance database");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the test database");
}
