//! The handle applications share: one connection pool per [`NeonDb`].

use std::sync::Arc;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseBackend, DatabaseConnection};

use crate::config::Config;
use crate::error::{Error, Result};

/// A connection pool and its settings. `Clone + Send + Sync`; a clone is
/// a reference count, so share it freely across tasks.
#[derive(Clone)]
pub struct NeonDb {
    inner: Arc<Inner>,
}

struct Inner {
    conn: DatabaseConnection,
    config: Config,
}

impl std::fmt::Debug for NeonDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NeonDb")
            .field("backend", &self.backend())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl NeonDb {
    /// Opens the pool described by `config`.
    ///
    /// SQLite is opened for concurrent use: WAL journal (readers never wait
    /// for the writer), `synchronous = NORMAL`, foreign keys on, and a busy
    /// timeout so writers queue instead of failing. Use a file: every
    /// connection to `sqlite::memory:` would be a database of its own.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad settings; [`Error::Unavailable`] if the
    /// database cannot be reached.
    pub async fn connect(config: Config) -> Result<Self> {
        config.validate()?;
        let mut options = ConnectOptions::new(config.database_url.expose().to_owned());
        options
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_timeout(config.connect_timeout)
            .idle_timeout(config.idle_timeout)
            .sqlx_logging(false);
        if let Some(timeout) = config.statement_timeout
            && config.database_url.is_postgres()
        {
            options.statement_timeout(timeout);
        }
        let busy = config.sqlite_busy_timeout;
        options.map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy)
        });
        let conn = Database::connect(options)
            .await
            .map_err(|e| match Error::from(e) {
                Error::Database(e) => Error::Unavailable(e),
                other => other,
            })?;
        Ok(Self {
            inner: Arc::new(Inner { conn, config }),
        })
    }

    /// The SeaORM connection (a pool), for statements of your own.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.inner.conn
    }

    /// PostgreSQL or SQLite.
    pub fn backend(&self) -> DatabaseBackend {
        self.inner.conn.get_database_backend()
    }

    /// The settings this handle was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Closes the pool once the last clone is gone; waits for connections
    /// in use to be returned.
    ///
    /// # Errors
    /// The database's error while closing.
    pub async fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner.conn.close().await.map_err(Error::from),
            Err(_) => Ok(()),
        }
    }
}
