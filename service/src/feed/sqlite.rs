//! The SQLite change feed: `PRAGMA data_version` polled on the handle's
//! writer connection. SQLite raises that number when *another*
//! connection (another process, or statements sent through
//! [`NeonDb::connection`](crate::NeonDb::connection)) commits to the
//! file, never for the writer's own commits, which invalidate precisely
//! as they return. Any change clears the whole cache: SQLite says that
//! something committed, not what (coarse, and documented so).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::{Feed, FeedKind, Shared};
use crate::cache::QueryCache;

/// How often the version is read.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// Read on the writer's pool directly (not through SeaORM), so that the
/// polls are not counted as the application's statements.
async fn data_version(writer: &DatabaseConnection) -> Result<i64, String> {
    use sea_orm::sqlx::Row as _;
    let pool = writer.get_sqlite_connection_pool();
    let row = sea_orm::sqlx::query("PRAGMA data_version")
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?;
    row.try_get::<i64, _>(0).map_err(|e| e.to_string())
}

/// Starts polling `writer` (the handle's one writer connection).
///
/// # Errors
/// The first read failed.
pub(crate) async fn start(
    writer: DatabaseConnection,
    cache: Arc<QueryCache>,
) -> Result<Feed, String> {
    let mut seen = data_version(&writer).await?;
    let shared = Arc::new(Shared::default());
    shared.set_up(true);
    let state = shared.clone();
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(POLL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match data_version(&writer).await {
                Ok(v) => {
                    if v != seen {
                        seen = v;
                        cache.clear();
                        state.events("other", 1);
                    }
                    if !state.is_up() {
                        state.set_up(true);
                    }
                }
                Err(e) => {
                    // Not knowing is a gap: nothing cached can be trusted.
                    if state.is_up() {
                        tracing::warn!(error = %e, "SQLite change poll failed; cache cleared");
                        state.set_up(false);
                        state.gap();
                    }
                    cache.clear();
                }
            }
            state.polled();
        }
    });
    Ok(Feed::running(shared, FeedKind::Sqlite, task))
}
