//! The NeonHub data layer: what applications import.
//!
//! ```no_run
//! # async fn run() -> Result<(), service::Error> {
//! let db = service::NeonDb::connect(service::Config::from_env()?).await?;
//! let handle = db.clone(); // cheap; share it across tasks
//! # let _ = handle; Ok(()) }
//! ```
//!
//! Modules, one job each: [`config`] (every setting and its environment
//! variable), [`error`] (the one error type), [`db`] (the handle and its
//! pool), [`sql`] (sending statements with per-backend binding).

pub mod config;
pub mod db;
pub mod error;
pub mod sql;

pub use config::Config;
pub use db::NeonDb;
pub use error::{Error, Result};
