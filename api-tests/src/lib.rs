//! The test harness: every test gets a database of its own.
//!
//! * PostgreSQL: a uniquely named database created on the server of
//!   `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//!   and dropped afterwards, also when the test panics.
//! * SQLite: a temporary file, removed afterwards.
//!
//! [`both_backends!`] turns one test body into a `sqlite` and a `postgres`
//! test. If PostgreSQL cannot be reached the `postgres` variants fail with
//! a message that says how to start it; they never skip.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection};

/// Default server for the PostgreSQL variants.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    /// The backend.
    pub backend: Backend,
    /// URL of the test's own database.
    pub url: String,
    /// A connection pool to it.
    pub conn: DatabaseConnection,
    cleanup: Cleanup,
}

#[derive(Clone)]
enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PostgresDatabase { server_url: String, name: String },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub(crate) fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The PostgreSQL server URL tests create their databases on.
pub fn test_server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

fn postgres_unreachable(url: &str, err: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL is not reachable at {url}: {err}\n\
         The postgres variants of the tests need a server. Start the local one with\n  \
         pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
         or point TEST_DATABASE_URL at a server where the user may CREATE DATABASE."
    )
}

/// Connects with a small pool and a short acquire timeout.
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(5)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// Replaces the database name (the path) of a PostgreSQL URL.
pub fn with_database(server_url: &str, name: &str) -> String {
    match url::Url::parse(server_url) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => panic!("TEST_DATABASE_URL is not a URL: {server_url}"),
    }
}

impl TestDb {
    /// Creates an empty database for one test. Panics (the test fails) if
    /// it cannot: a test that was asked to run never silently skips.
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let path =
                    std::env::temp_dir().join(format!("neonhub_test_{}.db", unique_suffix()));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let conn = connect(&url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot open SQLite file {}: {e}", path.display()));
                TestDb {
                    backend,
                    url,
                    conn,
                    cleanup: Cleanup::SqliteFile(path),
                }
            }
            Backend::Postgres => {
                let server_url = test_server_url();
                let admin = connect(&server_url)
                    .await
                    .unwrap_or_else(|e| postgres_unreachable(&server_url, e));
                let name = format!("neonhub_test_{}", unique_suffix());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|e| postgres_unreachable(&server_url, e));
                let _ = admin.close().await;
                let url = with_database(&server_url, &name);
                let conn = connect(&url)
                    .await
                    .unwrap_or_else(|e| postgres_unreachable(&url, e));
                TestDb {
                    backend,
                    url,
                    conn,
                    cleanup: Cleanup::PostgresDatabase { server_url, name },
                }
            }
        }
    }

    /// The SeaORM backend.
    pub fn db_backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// Applies every migration.
    pub async fn migrate(&self) {
        use sea_orm_migration::MigratorTrait;
        migration::Migrator::up(&self.conn, None)
            .await
            .unwrap_or_else(|e| panic!("migrate {}: {e}", self.url));
    }

    /// A service handle on this database (migrate first).
    pub async fn service(&self) -> service::NeonDb {
        self.service_with(service::Config::new(self.url.clone()))
            .await
    }

    /// A service handle with custom settings (its URL is replaced by this
    /// database's).
    pub async fn service_with(&self, mut config: service::Config) -> service::NeonDb {
        config.database_url = service::config::DatabaseUrl::new(self.url.clone());
        config.max_connections = config.max_connections.min(5);
        service::NeonDb::connect(config)
            .await
            .unwrap_or_else(|e| panic!("service connect {}: {e}", self.url))
    }

    /// Opens another pool on the same database.
    pub async fn reconnect(&self) -> DatabaseConnection {
        connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("reconnect to {}: {e}", self.url))
    }
}

async fn cleanup(cleanup: Cleanup) {
    match cleanup {
        Cleanup::SqliteFile(path) => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        Cleanup::PostgresDatabase { server_url, name } => {
            if let Ok(admin) = connect(&server_url).await {
                // A change feed's temporary slot keeps DROP ... FORCE from
                // dropping the database until its walsender is gone.
                let mut result = Ok(());
                for _ in 0..50 {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                             WHERE database = '{name}' AND active_pid IS NOT NULL"
                        ))
                        .await;
                    result = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                        .map(drop);
                    if result.is_ok() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                if let Err(e) = result {
                    eprintln!("warning: could not drop test database {name}: {e}");
                }
                let _ = admin.close().await;
            }
        }
    }
}

/// Runs `body` on a fresh database of `backend`, then removes the database,
/// whether the body returned or panicked (the panic is then re-raised).
pub async fn with_db<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDb::create(backend).await;
    let conn = db.conn.clone();
    let cleanup_of = db.cleanup.clone();
    let outcome = tokio::spawn(body(db)).await;
    let _ = conn.close().await;
    cleanup(cleanup_of).await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

/// Declares tests that run the same body on SQLite and on PostgreSQL:
///
/// ```ignore
/// both_backends! {
///     async fn migrates(db) { /* db: TestDb */ }
/// }
/// ```
/// expands to a module `migrates` with tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! both_backends {
    ($( $(#[$meta:meta])* async fn $name:ident($db:ident) $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($db: $crate::TestDb) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::with_db($crate::Backend::Sqlite, body).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::with_db($crate::Backend::Postgres, body).await;
                }
            }
        )*
    };
}

/// Declares tests that only make sense on PostgreSQL (adoption of a
/// Prisma-made database, INVALID indexes, native types).
#[macro_export]
macro_rules! postgres_only {
    ($( $(#[$meta:meta])* async fn $name:ident($db:ident) $body:block )*) => {
        $(
            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                async fn body($db: $crate::TestDb) $body
                $crate::with_db($crate::Backend::Postgres, body).await;
            }
        )*
    };
}

/// The ids of the high-value leads (score 7 and up) `db` reads, sorted:
/// what a dashboard shows, for tests that watch it change.
pub async fn high_value_ids(db: &service::NeonDb) -> Vec<String> {
    use service::prelude::*;
    let mut ids: Vec<String> = db
        .leads()
        .high_value(Some(7.0), None)
        .await
        .unwrap_or_else(|e| panic!("high-value leads: {e}"))
        .iter()
        .map(|l| l.id.clone())
        .collect();
    ids.sort();
    ids
}

pub mod catalog;
pub mod cluster;
