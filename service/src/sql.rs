//! Sending statements, with values bound the way each backend stores them.
//!
//! SQLite has no arrays, and sea-query-sqlx panics when asked to bind one;
//! the scalar-list columns (`platforms`, `tags`) are JSON text there. Every
//! write the service makes goes through [`execute`] / [`query_all`], which
//! build the statement for the connection's backend and, on SQLite, rewrite
//! array values to their JSON text ([`entity::types::sqlite_compatible`]).

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, ExecResult, QueryResult, Statement, StatementBuilder,
    Values,
};

/// Builds `stmt` for `backend` with values it can bind.
pub fn build<S: StatementBuilder>(backend: DatabaseBackend, stmt: &S) -> Statement {
    let mut statement = stmt.build(&backend);
    if backend == DatabaseBackend::Sqlite
        && let Some(values) = statement.values.take()
    {
        statement.values = Some(Values(
            values
                .0
                .into_iter()
                .map(entity::types::sqlite_compatible)
                .collect(),
        ));
    }
    statement
}

/// Executes a write.
///
/// # Errors
/// The database's error.
pub async fn execute<C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<ExecResult, DbErr> {
    conn.execute_raw(build(conn.get_database_backend(), stmt))
        .await
}

/// Runs a statement that returns rows (a SELECT, or a write with RETURNING).
///
/// # Errors
/// The database's error.
pub async fn query_all<C: ConnectionTrait, S: StatementBuilder>(
    conn: &C,
    stmt: &S,
) -> Result<Vec<QueryResult>, DbErr> {
    conn.query_all_raw(build(conn.get_database_backend(), stmt))
        .await
}
