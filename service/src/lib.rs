//! The NeonHub data layer: what applications import.
//!
//! ```no_run
//! # async fn run() -> Result<(), service::Error> {
//! let db = service::NeonDb::connect(service::Config::from_env()?).await?;
//! let admins = db.users().by_role(entity::enums::UserRole::Admin, None).await?;
//! # let _ = admins; Ok(()) }
//! ```
//!
//! Modules, one job each:
//! * [`config`]: every setting and its environment variable;
//! * [`error`]: the one error type;
//! * [`db`]: the shared handle and its pool, transactions;
//! * [`repo`]: the repository traits and their SeaORM implementations;
//! * [`queries`]: the eight dashboard queries of SPEC §4 (statements,
//!   parameters, results);
//! * [`validate`]: input checks that run before any SQL;
//! * [`sql`]: sending statements with per-backend binding;
//! * [`change`]: what writes report, for cache invalidation;
//! * [`ids`]: primary keys.

pub mod change;
pub mod config;
pub mod db;
pub mod error;
pub mod explain;
pub mod ids;
pub mod queries;
pub mod repo;
pub mod sql;
pub mod validate;

pub use config::Config;
pub use db::{NeonDb, Tx};
pub use error::{Error, Result};
pub use queries::QueryName;
pub use repo::*;
