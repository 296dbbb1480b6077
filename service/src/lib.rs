//! The NeonHub data layer: what applications import.
//!
//! ```no_run
//! use service::prelude::*; // the repository traits
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
//! * [`cache`]: the query cache (TTLs, invalidation, coalescing);
//! * [`change`]: what writes report, for cache invalidation;
//! * [`ids`]: primary keys;
//! * [`metrics`]: statement and call metrics, Prometheus, the snapshot;
//! * [`pool`]: the connections behind a handle and the fail-fast circuit;
//! * [`feed`]: the change feed (every writer's commits reach the cache).

pub mod cache;
pub mod change;
pub mod config;
pub mod db;
pub mod error;
pub mod explain;
pub mod feed;
pub mod ids;
mod lease;
pub mod metrics;
pub mod pool;
pub mod queries;
pub mod replica;
pub mod repo;
pub mod sql;
pub mod validate;

pub use cache::{CacheStats, Outcome};
pub use change::{Change, ChangeKind};
pub use config::{Config, FeedMode};
pub use db::{NeonDb, Tx, WarmReport};
pub use error::{Error, Result};
pub use feed::{FeedStatus, Token};
pub use queries::{Query, QueryName};
pub use replica::{Fallback, ReadRoute, ReplicaStatus, RoutingStats};
pub use repo::*;

/// The repository traits, to bring their methods into scope.
pub mod prelude {
    pub use crate::repo::{
        AbTestRepository, AgentRepository, AnalyticsRepository, CampaignRepository,
        ContentRepository, ExecutionRepository, LeadRepository, TrendRepository, UserRepository,
    };
}
