//! The Prisma model's schema: enum types, tables, unique keys, foreign keys.
//!
//! On PostgreSQL every statement is guarded, so running this against a
//! database that Prisma created adopts it unchanged; afterwards the
//! migration checks that every table has every column the model expects
//! and refuses to go on (nothing is changed, the transaction rolls back)
//! if an existing table has another shape.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::schema::{self, TABLES};

/// Creates the schema.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                conn.execute_unprepared(&schema::postgres_up_tables())
                    .await?;
                check_adopted_columns(conn).await?;
                conn.execute_unprepared(&schema::postgres_up_keys()).await?;
                Ok(())
            }
            _ => {
                for stmt in schema::sqlite_up() {
                    conn.execute_unprepared(&stmt).await?;
                }
                Ok(())
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                conn.execute_unprepared(&schema::postgres_down()).await?;
            }
            _ => {
                for stmt in schema::sqlite_down() {
                    conn.execute_unprepared(&stmt).await?;
                }
            }
        }
        Ok(())
    }

    /// All or nothing on every backend (SQLite DDL is transactional too).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// Fails with the list of missing columns if a table that existed before
/// (and so was kept by `IF NOT EXISTS`) lacks columns of the model.
async fn check_adopted_columns<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema()",
        ))
        .await?;
    let mut present = std::collections::HashSet::new();
    for row in rows {
        let table: String = row.try_get_by_index(0)?;
        let column: String = row.try_get_by_index(1)?;
        present.insert((table, column));
    }
    let missing: Vec<String> = TABLES
        .iter()
        .flat_map(|t| {
            schema::expected_columns(t.name)
                .into_iter()
                .map(move |c| (t.name, c))
        })
        .filter(|(t, c)| !present.contains(&((*t).to_owned(), (*c).to_owned())))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DbErr::Migration(format!(
            "existing tables do not match the NeonHub schema; missing columns: {}",
            missing.join(", ")
        )))
    }
}
