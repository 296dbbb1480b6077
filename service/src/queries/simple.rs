//! The single-statement list queries: users by role, high-value leads,
//! trending keywords, content by platform and status.

use entity::enums::{ContentStatus, Platform, UserRole};
use entity::{content, lead, trend, user};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};

use super::{DashboardQuery, Query, QueryName, Score};
use crate::error::Result;
use crate::{sql, validate};

/// SQLite only: pins `index` for a statement on `table`.
///
/// SQLite's planner (the bundled 3.50), given `ANALYZE` statistics, answers
/// `score >= ? ORDER BY score DESC, ...` with a skip-scan over a
/// low-cardinality index ((status, score) for leads, (category, score) for
/// trends) and a full sort: at `small` scale 40.6 ms against 0.40 ms with
/// the score index (leads; trends 54.1 ms against 0.35 ms). So on SQLite
/// these statements say `INDEXED BY` (leads: the covering
/// `leads_score_createdAt_id_idx`). PostgreSQL's planner picks the score
/// index by itself and gets no hint.
fn pin_sqlite_index(
    backend: DatabaseBackend,
    mut stmt: Statement,
    table: &str,
    index: &str,
) -> Statement {
    if backend == DatabaseBackend::Sqlite {
        let from = format!(r#"FROM "{table}""#);
        stmt.sql = stmt
            .sql
            .replacen(&from, &format!(r#"{from} INDEXED BY "{index}""#), 1);
    }
    stmt
}

/// Runs a statement that may pin an index; if that index does not exist
/// (dropped by an operator or by the benchmark's no-index phase), runs the
/// statement without the pin.
async fn fetch_pinned<M, C>(
    conn: &C,
    pinned: Statement,
    unpinned: impl FnOnce() -> Statement,
) -> Result<Vec<M>, DbErr>
where
    M: sea_orm::FromQueryResult,
    C: ConnectionTrait,
{
    match sql::fetch_statement(conn, pinned).await {
        Err(e) if e.to_string().contains("no such index") => {
            sql::fetch_statement(conn, unpinned()).await
        }
        other => other,
    }
}

/// Users of a role, newest first (`users_role_createdAt_idx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsersByRole {
    /// The role.
    pub role: UserRole,
    /// At most this many rows (1..=1000, default 50).
    pub limit: u64,
}

impl UsersByRole {
    /// Default limit.
    pub const DEFAULT_LIMIT: u64 = 50;

    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for a limit outside 1..=1000.
    pub fn new(role: UserRole, limit: Option<u64>) -> Result<Self> {
        Ok(Self {
            role,
            limit: validate::limit(limit, Self::DEFAULT_LIMIT)?,
        })
    }

    fn select(&self) -> sea_orm::Select<user::Entity> {
        user::Entity::find()
            .filter(user::Column::Role.eq(self.role))
            .order_by_desc(user::Column::CreatedAt)
            .order_by_desc(user::Column::Id)
            .limit(self.limit)
    }
}

impl DashboardQuery for UsersByRole {
    type Output = Vec<user::Model>;
    const NAME: QueryName = QueryName::UsersByRole;

    fn validate(&self) -> Result<()> {
        validate::limit(Some(self.limit), Self::DEFAULT_LIMIT).map(|_| ())
    }

    fn key(&self) -> Query {
        Query::UsersByRole(self.clone())
    }

    fn statement(&self, backend: DatabaseBackend) -> Statement {
        sql::build(backend, &self.select().into_query())
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        sql::fetch_all(conn, &self.select().into_query()).await
    }
}

/// Leads with `score >= min_score`, by score then `createdAt`, descending
/// (`leads_score_createdAt_id_idx`, read backwards: the whole ORDER BY, so
/// leads tied on score are not sorted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HighValueLeads {
    /// Threshold (default 7.0).
    pub min_score: Score,
    /// At most this many rows (1..=1000, default 50).
    pub limit: u64,
}

impl HighValueLeads {
    /// Default threshold.
    pub const DEFAULT_MIN_SCORE: f64 = 7.0;
    /// Default limit.
    pub const DEFAULT_LIMIT: u64 = 50;

    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for a non-finite score or a bad limit.
    pub fn new(min_score: Option<f64>, limit: Option<u64>) -> Result<Self> {
        let min_score = min_score.unwrap_or(Self::DEFAULT_MIN_SCORE);
        validate::finite("min_score", min_score)?;
        Ok(Self {
            min_score: Score(min_score),
            limit: validate::limit(limit, Self::DEFAULT_LIMIT)?,
        })
    }

    fn select(&self) -> sea_orm::Select<lead::Entity> {
        lead::Entity::find()
            .filter(lead::Column::Score.gte(self.min_score.0))
            .order_by_desc(lead::Column::Score)
            .order_by_desc(lead::Column::CreatedAt)
            .order_by_desc(lead::Column::Id)
            .limit(self.limit)
    }
}

impl DashboardQuery for HighValueLeads {
    type Output = Vec<lead::Model>;
    const NAME: QueryName = QueryName::HighValueLeads;

    fn validate(&self) -> Result<()> {
        validate::finite("min_score", self.min_score.0)?;
        validate::limit(Some(self.limit), Self::DEFAULT_LIMIT).map(|_| ())
    }

    fn key(&self) -> Query {
        Query::HighValueLeads(self.clone())
    }

    fn statement(&self, backend: DatabaseBackend) -> Statement {
        let stmt = sql::build(backend, &self.select().into_query());
        pin_sqlite_index(backend, stmt, "leads", "leads_score_createdAt_id_idx")
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        let backend = conn.get_database_backend();
        fetch_pinned(conn, self.statement(backend), || {
            sql::build(backend, &self.select().into_query())
        })
        .await
    }
}

/// Trends with `score >= min_score`, optionally on one platform, by score
/// then `detectedAt`, descending (`trends_platform_score_detectedAt_idx`
/// with a platform, `trends_score_volume_idx` without).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrendingKeywords {
    /// Only this platform, if given.
    pub platform: Option<Platform>,
    /// Threshold (default 5.0).
    pub min_score: Score,
    /// At most this many rows (1..=1000, default 20).
    pub limit: u64,
}

impl TrendingKeywords {
    /// Default threshold.
    pub const DEFAULT_MIN_SCORE: f64 = 5.0;
    /// Default limit.
    pub const DEFAULT_LIMIT: u64 = 20;

    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for a non-finite score or a bad limit.
    pub fn new(
        platform: Option<Platform>,
        min_score: Option<f64>,
        limit: Option<u64>,
    ) -> Result<Self> {
        let min_score = min_score.unwrap_or(Self::DEFAULT_MIN_SCORE);
        validate::finite("min_score", min_score)?;
        Ok(Self {
            platform,
            min_score: Score(min_score),
            limit: validate::limit(limit, Self::DEFAULT_LIMIT)?,
        })
    }

    fn select(&self) -> sea_orm::Select<trend::Entity> {
        let mut select = trend::Entity::find();
        if let Some(platform) = self.platform {
            select = select.filter(trend::Column::Platform.eq(platform));
        }
        select
            .filter(trend::Column::Score.gte(self.min_score.0))
            .order_by_desc(trend::Column::Score)
            .order_by_desc(trend::Column::DetectedAt)
            .order_by_desc(trend::Column::Id)
            .limit(self.limit)
    }
}

impl DashboardQuery for TrendingKeywords {
    type Output = Vec<trend::Model>;
    const NAME: QueryName = QueryName::TrendingKeywords;

    fn validate(&self) -> Result<()> {
        validate::finite("min_score", self.min_score.0)?;
        validate::limit(Some(self.limit), Self::DEFAULT_LIMIT).map(|_| ())
    }

    fn key(&self) -> Query {
        Query::TrendingKeywords(self.clone())
    }

    fn statement(&self, backend: DatabaseBackend) -> Statement {
        let stmt = sql::build(backend, &self.select().into_query());
        match self.platform {
            Some(_) => stmt,
            None => pin_sqlite_index(backend, stmt, "trends", "trends_score_volume_idx"),
        }
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        let backend = conn.get_database_backend();
        fetch_pinned(conn, self.statement(backend), || {
            sql::build(backend, &self.select().into_query())
        })
        .await
    }
}

/// Content of a platform (optionally of one status), newest first
/// (`contents_platform_status_createdAt_idx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentByPlatformAndStatus {
    /// The platform.
    pub platform: Platform,
    /// Only this status, if given.
    pub status: Option<ContentStatus>,
    /// At most this many rows (1..=1000, default 50).
    pub limit: u64,
}

impl ContentByPlatformAndStatus {
    /// Default limit.
    pub const DEFAULT_LIMIT: u64 = 50;

    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for a bad limit.
    pub fn new(
        platform: Platform,
        status: Option<ContentStatus>,
        limit: Option<u64>,
    ) -> Result<Self> {
        Ok(Self {
            platform,
            status,
            limit: validate::limit(limit, Self::DEFAULT_LIMIT)?,
        })
    }

    fn select(&self, status: ContentStatus) -> sea_orm::Select<content::Entity> {
        content::Entity::find()
            .filter(content::Column::Platform.eq(self.platform))
            .filter(content::Column::Status.eq(status))
            .order_by_desc(content::Column::CreatedAt)
            .order_by_desc(content::Column::Id)
            .limit(self.limit)
    }
}

impl DashboardQuery for ContentByPlatformAndStatus {
    type Output = Vec<content::Model>;
    const NAME: QueryName = QueryName::ContentByPlatformAndStatus;

    fn validate(&self) -> Result<()> {
        validate::limit(Some(self.limit), Self::DEFAULT_LIMIT).map(|_| ())
    }

    fn key(&self) -> Query {
        Query::ContentByPlatformAndStatus(self.clone())
    }

    /// With a status, one index range in order; without, one branch per
    /// status ([`super::union_all`]).
    fn statement(&self, backend: DatabaseBackend) -> Statement {
        super::newest_first_by_status(backend, self.status, ContentStatus::ALL, self.limit, |s| {
            self.select(s)
        })
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        sql::fetch_statement(conn, self.statement(conn.get_database_backend())).await
    }
}
