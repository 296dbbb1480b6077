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
    bindable(stmt.build(&backend))
}

/// Rewrites a statement's values so that its backend can bind them (see
/// the module documentation); a no-op on PostgreSQL.
pub fn bindable(mut statement: Statement) -> Statement {
    if statement.db_backend == DatabaseBackend::Sqlite
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

/// Runs a SELECT (or a write with RETURNING) and decodes every row as `M`.
///
/// # Errors
/// The database's error, or a row that does not decode.
pub async fn fetch_all<M, C, S>(conn: &C, stmt: &S) -> Result<Vec<M>, DbErr>
where
    M: sea_orm::FromQueryResult,
    C: ConnectionTrait,
    S: StatementBuilder,
{
    query_all(conn, stmt)
        .await?
        .iter()
        .map(|row| M::from_query_result(row, ""))
        .collect()
}

/// Runs an already built statement and decodes every row as `M`.
///
/// # Errors
/// The database's error, or a row that does not decode.
pub async fn fetch_statement<M, C>(conn: &C, statement: Statement) -> Result<Vec<M>, DbErr>
where
    M: sea_orm::FromQueryResult,
    C: ConnectionTrait,
{
    conn.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| M::from_query_result(row, ""))
        .collect()
}

/// A `RETURNING` clause with every column of `E`, enum and enum-array
/// columns cast to text as SeaORM's own SELECTs do, so rows decode into
/// `E::Model` on PostgreSQL.
pub fn returning_all<E: sea_orm::EntityTrait>() -> sea_orm::sea_query::ReturningClause {
    use sea_orm::sea_query::{Expr, Query};
    use sea_orm::{ColumnTrait, Iterable};
    Query::returning().exprs(E::Column::iter().map(|c| c.select_as(Expr::col(c))))
}
