//! The handle applications share: one connection pool per [`NeonDb`].

use std::sync::{Arc, Mutex};

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction,
    TransactionTrait,
};

use crate::change::Change;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::queries::DashboardQuery;
use crate::repo::{
    AbTests, Agents, AnalyticsRepo, Campaigns, Contents, Executions, Leads, Repo, Trends, Users,
};

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

    /// Runs a validated dashboard query on the pool.
    pub(crate) async fn read<Q: DashboardQuery>(&self, query: Q) -> Result<Arc<Q::Output>> {
        Ok(Arc::new(query.run(&self.inner.conn).await?))
    }

    /// Takes note of committed changes (the cache's invalidation entry
    /// point).
    pub(crate) fn apply_changes(&self, changes: &[Change]) {
        let _ = changes;
    }

    fn repo(&self) -> Repo<'_, DatabaseConnection> {
        Repo::new(&self.inner.conn, self, None)
    }

    /// Users.
    pub fn users(&self) -> Users<'_, DatabaseConnection> {
        Users(self.repo())
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_, DatabaseConnection> {
        Campaigns(self.repo())
    }

    /// AI agents.
    pub fn agents(&self) -> Agents<'_, DatabaseConnection> {
        Agents(self.repo())
    }

    /// Agent executions.
    pub fn executions(&self) -> Executions<'_, DatabaseConnection> {
        Executions(self.repo())
    }

    /// Analytics rows.
    pub fn analytics(&self) -> AnalyticsRepo<'_, DatabaseConnection> {
        AnalyticsRepo(self.repo())
    }

    /// Content.
    pub fn contents(&self) -> Contents<'_, DatabaseConnection> {
        Contents(self.repo())
    }

    /// Leads.
    pub fn leads(&self) -> Leads<'_, DatabaseConnection> {
        Leads(self.repo())
    }

    /// Trends.
    pub fn trends(&self) -> Trends<'_, DatabaseConnection> {
        Trends(self.repo())
    }

    /// A/B tests.
    pub fn ab_tests(&self) -> AbTests<'_, DatabaseConnection> {
        AbTests(self.repo())
    }

    /// Begins a transaction. Repositories taken from it ([`Tx::users`], ...)
    /// run inside it; dashboard queries inside it read the database
    /// directly (they must see the transaction's own writes). What the
    /// writes changed is reported when [`Tx::commit`] succeeds; dropping
    /// the `Tx` or calling [`Tx::rollback`] rolls back and reports nothing.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if no connection can be had.
    pub async fn begin(&self) -> Result<Tx> {
        let txn = self.inner.conn.begin().await?;
        Ok(Tx {
            txn,
            db: self.clone(),
            pending: Mutex::new(Vec::new()),
        })
    }
}

/// A database transaction with the repositories bound to it.
pub struct Tx {
    txn: DatabaseTransaction,
    db: NeonDb,
    pending: Mutex<Vec<Change>>,
}

impl Tx {
    fn repo(&self) -> Repo<'_, DatabaseTransaction> {
        Repo::new(&self.txn, &self.db, Some(&self.pending))
    }

    /// The SeaORM transaction, for statements of your own.
    pub fn connection(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Users.
    pub fn users(&self) -> Users<'_, DatabaseTransaction> {
        Users(self.repo())
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Campaigns<'_, DatabaseTransaction> {
        Campaigns(self.repo())
    }

    /// AI agents.
    pub fn agents(&self) -> Agents<'_, DatabaseTransaction> {
        Agents(self.repo())
    }

    /// Agent executions.
    pub fn executions(&self) -> Executions<'_, DatabaseTransaction> {
        Executions(self.repo())
    }

    /// Analytics rows.
    pub fn analytics(&self) -> AnalyticsRepo<'_, DatabaseTransaction> {
        AnalyticsRepo(self.repo())
    }

    /// Content.
    pub fn contents(&self) -> Contents<'_, DatabaseTransaction> {
        Contents(self.repo())
    }

    /// Leads.
    pub fn leads(&self) -> Leads<'_, DatabaseTransaction> {
        Leads(self.repo())
    }

    /// Trends.
    pub fn trends(&self) -> Trends<'_, DatabaseTransaction> {
        Trends(self.repo())
    }

    /// A/B tests.
    pub fn ab_tests(&self) -> AbTests<'_, DatabaseTransaction> {
        AbTests(self.repo())
    }

    /// Commits, then reports what the transaction's writes changed.
    ///
    /// # Errors
    /// The database's error; then nothing was committed or reported.
    pub async fn commit(self) -> Result<()> {
        let Tx { txn, db, pending } = self;
        txn.commit().await?;
        let changes = pending.into_inner().unwrap_or_else(|p| p.into_inner());
        db.apply_changes(&changes);
        Ok(())
    }

    /// Rolls back; nothing is reported.
    ///
    /// # Errors
    /// The database's error.
    pub async fn rollback(self) -> Result<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}
