//! The eight dashboard queries of SPEC §4: their parameters (which double
//! as typed cache keys), the exact statements they send, and their results.
//!
//! Every query validates its parameters before any SQL runs, never returns
//! unbounded results, and breaks ties in its ordering by `id` so results
//! are deterministic. [`Query::statement`] is the statement the index
//! contract (`EXPLAIN`) is checked against: the one that reads the table
//! the query is about.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use crate::error::Result;

mod analytics;
mod campaigns;
mod executions;
mod simple;

pub use analytics::{AnalyticsTimeSeries, CampaignAnalytics, DayCount};
pub use campaigns::{CampaignWithAnalytics, CampaignsByUserAndStatus};
pub use executions::{AgentPerformance, AgentPerformanceReport, StatusCount};
pub use simple::{ContentByPlatformAndStatus, HighValueLeads, TrendingKeywords, UsersByRole};

/// The query names of SPEC §8, used in metrics labels and in the output of
/// `neonhub-db bench` and `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryName {
    /// Users of a role, newest first.
    UsersByRole,
    /// A user's campaigns, each with its latest analytics row.
    CampaignsByUserAndStatus,
    /// Aggregates of an agent's executions in a time range.
    AgentPerformance,
    /// A campaign's analytics rows, newest first.
    CampaignAnalytics,
    /// Analytics rows per day.
    AnalyticsTimeSeries,
    /// Leads scoring at least a threshold.
    HighValueLeads,
    /// Trends scoring at least a threshold.
    TrendingKeywords,
    /// Content of a platform, newest first.
    ContentByPlatformAndStatus,
}

impl QueryName {
    /// All eight, in the order of SPEC §4.
    pub const ALL: [QueryName; 8] = [
        QueryName::UsersByRole,
        QueryName::CampaignsByUserAndStatus,
        QueryName::AgentPerformance,
        QueryName::CampaignAnalytics,
        QueryName::AnalyticsTimeSeries,
        QueryName::HighValueLeads,
        QueryName::TrendingKeywords,
        QueryName::ContentByPlatformAndStatus,
    ];

    /// The name as SPEC §8 spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            QueryName::UsersByRole => "users_by_role",
            QueryName::CampaignsByUserAndStatus => "campaigns_by_user_and_status",
            QueryName::AgentPerformance => "agent_performance",
            QueryName::CampaignAnalytics => "campaign_analytics",
            QueryName::AnalyticsTimeSeries => "analytics_time_series",
            QueryName::HighValueLeads => "high_value_leads",
            QueryName::TrendingKeywords => "trending_keywords",
            QueryName::ContentByPlatformAndStatus => "content_by_platform_and_status",
        }
    }
}

impl fmt::Display for QueryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A score threshold usable as part of a cache key: finite (checked by
/// validation), with `-0.0` and `0.0` equal.
#[derive(Debug, Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 || (self.0.is_nan() && other.0.is_nan())
    }
}

impl Eq for Score {}

impl Hash for Score {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let v = if self.0 == 0.0 { 0.0f64 } else { self.0 };
        v.to_bits().hash(state);
    }
}

/// One dashboard query: parameters in, a typed result out.
pub trait DashboardQuery: Clone + fmt::Debug + Send + Sync + 'static {
    /// What the query returns.
    type Output: fmt::Debug + PartialEq + Send + Sync + crate::cache::size::ApproxBytes + 'static;

    /// Its name.
    const NAME: QueryName;

    /// Checks the parameters; runs before any SQL.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] naming the parameter.
    fn validate(&self) -> Result<()>;

    /// The parameters as a cache key.
    fn key(&self) -> Query;

    /// The statement that reads the query's main table; the one the index
    /// contract is checked against.
    fn statement(&self, backend: DatabaseBackend) -> Statement;

    /// Runs the query (one or two statements).
    fn run<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> impl Future<Output = Result<Self::Output, DbErr>> + Send;
}

/// Any of the eight queries with its parameters: the typed cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Query {
    UsersByRole(UsersByRole),
    CampaignsByUserAndStatus(CampaignsByUserAndStatus),
    AgentPerformance(AgentPerformance),
    CampaignAnalytics(CampaignAnalytics),
    AnalyticsTimeSeries(AnalyticsTimeSeries),
    HighValueLeads(HighValueLeads),
    TrendingKeywords(TrendingKeywords),
    ContentByPlatformAndStatus(ContentByPlatformAndStatus),
}

macro_rules! dispatch {
    ($self:expr, $q:ident => $body:expr) => {
        match $self {
            Query::UsersByRole($q) => $body,
            Query::CampaignsByUserAndStatus($q) => $body,
            Query::AgentPerformance($q) => $body,
            Query::CampaignAnalytics($q) => $body,
            Query::AnalyticsTimeSeries($q) => $body,
            Query::HighValueLeads($q) => $body,
            Query::TrendingKeywords($q) => $body,
            Query::ContentByPlatformAndStatus($q) => $body,
        }
    };
}

impl Query {
    /// The query's name.
    pub fn name(&self) -> QueryName {
        fn name_of<Q: DashboardQuery>(_: &Q) -> QueryName {
            Q::NAME
        }
        dispatch!(self, q => name_of(q))
    }

    /// See [`DashboardQuery::statement`].
    pub fn statement(&self, backend: DatabaseBackend) -> Statement {
        dispatch!(self, q => q.statement(backend))
    }

    /// See [`DashboardQuery::validate`].
    ///
    /// # Errors
    /// [`crate::Error::Invalid`].
    pub fn validate(&self) -> Result<()> {
        dispatch!(self, q => q.validate())
    }

    /// The index SPEC §4 says the statement must use.
    pub fn expected_index(&self) -> &'static str {
        match self {
            Query::UsersByRole(_) => "users_role_createdAt_idx",
            Query::CampaignsByUserAndStatus(_) => "campaigns_userId_status_createdAt_idx",
            Query::AgentPerformance(_) => "agent_executions_agentId_startedAt_idx",
            Query::CampaignAnalytics(_) => "analytics_campaignId_type_date_idx",
            Query::AnalyticsTimeSeries(_) => "analytics_type_period_date_idx",
            Query::HighValueLeads(_) => "leads_score_createdAt_id_idx",
            Query::TrendingKeywords(q) if q.platform.is_some() => {
                "trends_platform_score_detectedAt_idx"
            }
            Query::TrendingKeywords(_) => "trends_score_volume_idx",
            Query::ContentByPlatformAndStatus(_) => "contents_platform_status_createdAt_idx",
        }
    }
}

/// The statement of a newest-first list with an optional status filter:
/// one index range in order with a status, one [`union_all`] branch per
/// status without.
pub(crate) fn newest_first_by_status<S: Copy, E: sea_orm::EntityTrait>(
    backend: DatabaseBackend,
    status: Option<S>,
    all: &[S],
    limit: u64,
    select: impl Fn(S) -> sea_orm::Select<E>,
) -> Statement {
    use sea_orm::QueryTrait;
    match status {
        Some(s) => crate::sql::build(backend, &select(s).into_query()),
        None => union_all(
            backend,
            all.iter()
                .map(|s| crate::sql::build(backend, &select(*s).into_query()))
                .collect(),
            r#""createdAt" DESC, "id" DESC"#,
            limit,
        ),
    }
}

/// `SELECT * FROM (b1) AS u1 UNION ALL SELECT * FROM (b2) AS u2 ... ORDER
/// BY <order> LIMIT <limit>`: a skip scan written by hand. A list query
/// without its optional status filter cannot read the (owner, status,
/// createdAt) index in createdAt order; one branch per status can, each
/// stopping after `limit` rows, and only `statuses × limit` rows are
/// sorted instead of every row of the owner.
pub(crate) fn union_all(
    backend: DatabaseBackend,
    branches: Vec<Statement>,
    order: &str,
    limit: u64,
) -> Statement {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (i, branch) in branches.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        let offset = values.len();
        let text = match backend {
            DatabaseBackend::Postgres => renumber(&branch.sql, offset),
            _ => branch.sql,
        };
        sql.push_str(&format!("SELECT * FROM ({text}) AS \"u{i}\""));
        values.extend(branch.values.map(|v| v.0).unwrap_or_default());
    }
    sql.push_str(&format!(" ORDER BY {order} LIMIT {limit}"));
    Statement::from_sql_and_values(backend, sql, values)
}

/// Shifts every `$n` placeholder by `offset`.
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            out.push('$');
            out.push_str(&(n + offset).to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Raw SQL written with `?` placeholders, numbered `$n` for PostgreSQL.
pub(crate) fn raw(backend: DatabaseBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(ch);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    crate::sql::bindable(Statement::from_sql_and_values(backend, sql, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_spec() {
        let names: Vec<&str> = QueryName::ALL.iter().map(|q| q.as_str()).collect();
        assert_eq!(
            names,
            [
                "users_by_role",
                "campaigns_by_user_and_status",
                "agent_performance",
                "campaign_analytics",
                "analytics_time_series",
                "high_value_leads",
                "trending_keywords",
                "content_by_platform_and_status"
            ]
        );
    }

    #[test]
    fn union_branches_renumber_their_placeholders() {
        let b = |sql: &str| {
            Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, vec![1.into(), 2.into()])
        };
        let u = union_all(
            DatabaseBackend::Postgres,
            vec![b("x = $1 AND y = $2"), b("x = $1 AND y = $2")],
            "\"id\" DESC",
            5,
        );
        assert_eq!(
            u.sql,
            "SELECT * FROM (x = $1 AND y = $2) AS \"u0\" UNION ALL SELECT * FROM (x = $3 AND y = $4) AS \"u1\" ORDER BY \"id\" DESC LIMIT 5"
        );
        assert_eq!(u.values.map(|v| v.0.len()), Some(4));
    }

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        let s = raw(
            DatabaseBackend::Postgres,
            "a = ? AND b = ?",
            vec![1.into(), 2.into()],
        );
        assert_eq!(s.sql, "a = $1 AND b = $2");
    }
}
