//! The change feed's server side (SPEC §10): the publication
//! `neonhub_changes` over the 13 tables, which each service handle's
//! temporary logical replication slot decodes, and `REPLICA IDENTITY
//! FULL` on `agent_executions` and `analytics`.
//!
//! Why FULL on those two: their cached results are aggregates over
//! ranges (an agent's executions in a period, analytics per day), and an
//! update can move a row out of a range (another agent, another date).
//! With the default identity PostgreSQL sends only the new row and, for a
//! delete, only the key, so every such report would have to be dropped on
//! every update. FULL makes updates and deletes of those two tables log
//! the old row as well: more WAL for their updates and deletes (inserts,
//! the common write there, are unchanged); the benchmark measures the
//! write cost. The other tables keep the default: their cached results
//! are lists, which the cache indexes by the rows they hold.
//!
//! A no-op on SQLite. Creating a publication needs no `wal_level`; using
//! it does (the service checks at connect).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::schema::TABLES;

/// The publication's name (SPEC §10).
pub const PUBLICATION: &str = "neonhub_changes";

/// Tables whose updates and deletes log the whole old row.
pub const FULL_IDENTITY: &[&str] = &["agent_executions", "analytics"];

/// Creates the publication and sets the replica identities.
#[derive(DeriveMigrationName)]
pub struct Migration;

fn table_list() -> String {
    TABLES
        .iter()
        .map(|t| format!("\"{}\"", t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        // Short lock waits: ALTER TABLE takes a brief exclusive lock.
        conn.execute_unprepared("SET LOCAL lock_timeout = '5s'")
            .await?;
        let tables = table_list();
        conn.execute_unprepared(&format!(
            "DO $$ BEGIN \
               IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '{PUBLICATION}') THEN \
                 ALTER PUBLICATION \"{PUBLICATION}\" SET TABLE {tables}; \
               ELSE \
                 CREATE PUBLICATION \"{PUBLICATION}\" FOR TABLE {tables}; \
               END IF; \
             END $$"
        ))
        .await?;
        for table in FULL_IDENTITY {
            conn.execute_unprepared(&format!("ALTER TABLE \"{table}\" REPLICA IDENTITY FULL"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let conn = manager.get_connection();
        conn.execute_unprepared("SET LOCAL lock_timeout = '5s'")
            .await?;
        conn.execute_unprepared(&format!("DROP PUBLICATION IF EXISTS \"{PUBLICATION}\""))
            .await?;
        for table in FULL_IDENTITY {
            conn.execute_unprepared(&format!(
                "ALTER TABLE IF EXISTS \"{table}\" REPLICA IDENTITY DEFAULT"
            ))
            .await?;
        }
        Ok(())
    }

    /// One transaction: the publication and the identities together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
