//! The service's one error type, and what a caller should do with each
//! variant (SPEC §7, §13).
//!
//! | variant | produced by | the caller should |
//! |---|---|---|
//! | [`Error::NotFound`] | the row the call names does not exist | report it |
//! | [`Error::Invalid`] | input rejected before any SQL ran | fix the input |
//! | [`Error::Conflict`] | a unique or foreign-key constraint (`DbErr::sql_err()`) | report it; nothing changed |
//! | [`Error::Unavailable`] | connection refused, lost or terminated (SQLSTATE class 08, 57P01–57P03, 53300), pool exhausted, the fail-fast circuit open | retry later (the layer probes the server in the background) or shed load |
//! | [`Error::Timeout`] | a statement cancelled by `statement_timeout` (57014); `wait_for` past its deadline | shed load or narrow the query; retrying at once rarely helps |
//! | [`Error::Retry`] | serialization failure (40001) or deadlock (40P01) | retry the whole transaction |
//! | [`Error::Database`] | anything else the database said | a bug or an operator problem: log it |
//!
//! [`Error::is_transient`] says whether retrying the same call later can
//! succeed. No variant carries the database URL, so no password can leak
//! through an error message.

use std::fmt;

use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// What kind of constraint refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// A unique key (for example `users_email_key`).
    Unique,
    /// A foreign key (the referenced row is missing, or still referenced).
    ForeignKey,
}

/// What ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// The database cancelled a statement (`statement_timeout`, SQLSTATE 57014).
    Statement,
    /// [`crate::NeonDb::wait_for`]: the change feed did not apply the
    /// token in time.
    ChangeFeed,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Statement => "statement",
            TimeoutKind::ChangeFeed => "change feed",
        })
    }
}

/// Why a transaction should be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    /// A serialization failure (SQLSTATE 40001).
    Serialization,
    /// A deadlock was detected and this transaction was chosen to abort
    /// (SQLSTATE 40P01).
    Deadlock,
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
    /// No connection could be had or the one in use was lost: refused,
    /// shut down, terminated, pool exhausted, or the fail-fast circuit is
    /// open. Whether a write in flight when the connection was lost was
    /// committed is unknown; nothing was reported to the cache.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// A deadline passed.
    #[error("{kind} timeout: {message}")]
    Timeout {
        /// What timed out.
        kind: TimeoutKind,
        /// What happened.
        message: String,
        /// The database's error, for a statement timeout.
        #[source]
        source: Option<DbErr>,
    },
    /// The database aborted the transaction; running it again can succeed.
    #[error("transaction aborted ({kind:?}), retry it: {source}")]
    Retry {
        /// Serialization failure or deadlock.
        kind: RetryKind,
        /// The database's error.
        #[source]
        source: DbErr,
    },
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

    /// Whether the same call can succeed later without a change of input:
    /// [`Error::Unavailable`], [`Error::Timeout`] and [`Error::Retry`].
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_) | Error::Timeout { .. } | Error::Retry { .. }
        )
    }
}

/// The class of a database failure, from SQLSTATE and the driver's error
/// kinds. One place decides, for [`From<DbErr>`] and for the fail-fast
/// circuit ([`crate::pool`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The connection is unusable or could not be made.
    Connection,
    /// The pool had no free connection in time (the server may be healthy).
    PoolTimeout,
    /// `statement_timeout` cancelled the statement.
    StatementTimeout,
    /// Serialization failure or deadlock.
    Retry(RetryKind),
    /// Anything else.
    Other,
}

/// SQLSTATEs meaning the session is gone: connection exceptions (class
/// 08), operator intervention that ends sessions (57P01 admin shutdown,
/// 57P02 crash shutdown, 57P03 cannot connect now) and too many
/// connections (53300).
fn connection_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

pub(crate) fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

pub(crate) fn classify(err: &DbErr) -> Class {
    use sea_orm::sqlx::Error as E;
    match err {
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => return Class::PoolTimeout,
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return Class::Connection,
        _ => {}
    }
    let Some(e) = sqlx_error(err) else {
        return Class::Other;
    };
    match e {
        E::PoolTimedOut => Class::PoolTimeout,
        E::Io(_) | E::Tls(_) | E::PoolClosed | E::WorkerCrashed | E::Protocol(_) => {
            Class::Connection
        }
        E::Database(db) => match db.code().as_deref() {
            Some(code) if connection_sqlstate(code) => Class::Connection,
            Some("57014") => Class::StatementTimeout,
            Some("40001") => Class::Retry(RetryKind::Serialization),
            Some("40P01") => Class::Retry(RetryKind::Deadlock),
            _ => Class::Other,
        },
        _ => Class::Other,
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
        match classify(&err) {
            Class::Connection | Class::PoolTimeout => return Error::Unavailable(err),
            Class::StatementTimeout => {
                return Error::Timeout {
                    kind: TimeoutKind::Statement,
                    message: "the statement was cancelled by statement_timeout".to_owned(),
                    source: Some(err),
                };
            }
            Class::Retry(kind) => return Error::Retry { kind, source: err },
            Class::Other => {}
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
        Error::Database(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_sqlstates() {
        for code in ["08006", "08001", "57P01", "57P02", "57P03", "53300"] {
            assert!(connection_sqlstate(code), "{code}");
        }
        for code in ["57014", "40001", "23505", "42P01"] {
            assert!(!connection_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn pool_timeout_is_unavailable_and_transient() {
        let e = Error::from(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
        assert!(e.is_transient());
        assert!(!Error::invalid("x", "y").is_transient());
    }
}
