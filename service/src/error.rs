//! The service's one error type.
//!
//! * [`Error::NotFound`]: the row the call names does not exist.
//! * [`Error::Invalid`]: input rejected before any SQL ran.
//! * [`Error::Conflict`]: a unique or foreign-key constraint refused the
//!   write (classified by `DbErr::sql_err()`).
//! * [`Error::Unavailable`]: no connection could be had (pool timeout,
//!   connection refused); worth retrying later.
//! * [`Error::Database`]: anything else the database said.
//!
//! No variant carries the database URL, so no password can leak through an
//! error message.

use sea_orm::{DbErr, SqlErr};

/// What kind of constraint refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// A unique key (for example `users_email_key`).
    Unique,
    /// A foreign key (the referenced row is missing, or still referenced).
    ForeignKey,
}

/// The service's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named row does not exist.
    #[error("{entity} {id:?} not found")]
    NotFound {
        /// The entity (table) name.
        entity: &'static str,
        /// The id looked up.
        id: String,
    },
    /// Input rejected before any SQL ran; nothing was changed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field or parameter.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A constraint refused the write; nothing was changed.
    #[error("conflict ({kind:?}): {message}")]
    Conflict {
        /// Unique or foreign key.
        kind: ConflictKind,
        /// The database's message.
        message: String,
    },
    /// No connection could be had: pool timeout, refused or lost connection.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] DbErr),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) => {
                return Error::Conflict {
                    kind: ConflictKind::Unique,
                    message,
                };
            }
            Some(SqlErr::ForeignKeyConstraintViolation(message)) => {
                return Error::Conflict {
                    kind: ConflictKind::ForeignKey,
                    message,
                };
            }
            _ => {}
        }
        // SQLite reports some constraint failures under extended codes
        // `sql_err()` does not map (a RESTRICT foreign key on DELETE comes
        // back as 1811); its messages are fixed, so classify by them.
        let message = err.to_string();
        if message.contains("FOREIGN KEY constraint failed") {
            return Error::Conflict {
                kind: ConflictKind::ForeignKey,
                message,
            };
        }
        if message.contains("UNIQUE constraint failed") {
            return Error::Conflict {
                kind: ConflictKind::Unique,
                message,
            };
        }
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Error::Unavailable(err),
            DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
            | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
                if is_connection_error(e) =>
            {
                Error::Unavailable(err)
            }
            _ => Error::Database(err),
        }
    }
}

fn is_connection_error(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    matches!(
        e,
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed
    )
}
