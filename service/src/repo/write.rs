//! The generic write statements every repository uses: chunked multi-row
//! INSERT, single-statement UPDATE ... RETURNING and DELETE ... RETURNING.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Iterable,
    QueryFilter, QueryTrait,
};

use crate::sql;

/// Bind parameters one statement may carry: PostgreSQL's wire protocol
/// allows 65535, SQLite (3.32+) 32766.
pub fn bind_limit(backend: DatabaseBackend) -> usize {
    match backend {
        DatabaseBackend::Postgres => 65_535,
        _ => 32_766,
    }
}

/// Rows per INSERT for an entity with `columns` columns.
pub fn rows_per_statement(backend: DatabaseBackend, columns: usize) -> usize {
    (bind_limit(backend) / columns.max(1)).max(1)
}

/// Inserts every model, as few multi-row INSERTs as the bind limit allows.
/// Run it inside a transaction for all or nothing.
///
/// # Errors
/// The database's error; earlier chunks are not rolled back here.
pub async fn insert_all<A, C>(conn: &C, models: Vec<A>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter().count();
    let per = rows_per_statement(conn.get_database_backend(), columns);
    let mut inserted = 0u64;
    let mut models = models.into_iter().peekable();
    while models.peek().is_some() {
        let chunk: Vec<A> = models.by_ref().take(per).collect();
        let n = chunk.len() as u64;
        let stmt = <A::Entity as EntityTrait>::insert_many(chunk).into_query();
        sql::execute(conn, &stmt).await?;
        inserted += n;
    }
    Ok(inserted)
}

/// `UPDATE ... SET <the set fields of am> WHERE id = ? RETURNING *`:
/// the new row, or `None` if no row has that id.
///
/// # Errors
/// The database's error.
pub async fn update_returning<E, C>(
    conn: &C,
    id_column: E::Column,
    id: &str,
    am: E::ActiveModel,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: Send,
    C: ConnectionTrait,
{
    update_returning_where::<E, C>(conn, id_column, id, am, sea_orm::Condition::all()).await
}

/// Like [`update_returning`], changing the row only if it also meets
/// `condition` (checked in the same statement, against the stored row).
///
/// # Errors
/// The database's error.
pub async fn update_returning_where<E, C>(
    conn: &C,
    id_column: E::Column,
    id: &str,
    am: E::ActiveModel,
    condition: sea_orm::Condition,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: Send,
    C: ConnectionTrait,
{
    let mut stmt = E::update_many()
        .set(am)
        .filter(id_column.eq(id))
        .filter(condition)
        .into_query();
    stmt.returning(sql::returning_all::<E>());
    Ok(sql::fetch_all(conn, &stmt).await?.into_iter().next())
}

/// `DELETE ... WHERE id = ? RETURNING *`: the deleted row, or `None` if no
/// row had that id.
///
/// # Errors
/// The database's error (a foreign key still referencing the row is a
/// conflict).
pub async fn delete_returning<E, C>(
    conn: &C,
    id_column: E::Column,
    id: &str,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut stmt = E::delete_many().filter(id_column.eq(id)).into_query();
    stmt.returning(sql::returning_all::<E>());
    Ok(sql::fetch_all(conn, &stmt).await?.into_iter().next())
}
