//! Agent performance: aggregates of an agent's executions that started in
//! a range, computed in SQL, plus its 20 most recent completed executions.
//! Two statements.
//!
//! Definitions (identical on both backends):
//! * duration = `completedAt - startedAt` in whole milliseconds, for
//!   executions that have a `completedAt`;
//! * p95 duration: nearest rank, the `ceil(0.95 n)`-th smallest duration;
//! * success rate: COMPLETED / (COMPLETED + FAILED + CANCELLED), i.e. among
//!   finished executions (`None` if none finished);
//! * average performance: mean of the non-NULL `performance` values,
//!   summed exactly (NUMERIC on PostgreSQL), so the same rows always give
//!   the same report.

use entity::enums::ExecutionStatus;
use entity::{Timestamp, agent_execution};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use serde::Serialize;

use super::{DashboardQuery, Query, QueryName, raw};
use crate::error::Result;
use crate::{sql, validate};

/// How many recent completed executions the report lists.
pub const RECENT: u64 = 20;

/// Parameters: an agent and an optional start-time range, both bounds
/// inclusive (`agent_executions_agentId_startedAt_idx`, which narrows on
/// the range and carries every column the report reads).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentPerformance {
    /// The agent.
    pub agent_id: String,
    /// Executions that started at or after this, if given.
    pub from: Option<Timestamp>,
    /// Executions that started at or before this, if given.
    pub to: Option<Timestamp>,
}

/// Executions of one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusCount {
    /// The status.
    pub status: ExecutionStatus,
    /// How many.
    pub count: u64,
}

/// The agent performance report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentPerformanceReport {
    /// Executions in the range.
    pub total: u64,
    /// Count per status, every status listed, in declaration order.
    pub by_status: Vec<StatusCount>,
    /// COMPLETED among finished executions.
    pub success_rate: Option<f64>,
    /// Mean duration in milliseconds.
    pub avg_duration_ms: Option<f64>,
    /// 95th percentile duration (nearest rank) in milliseconds.
    pub p95_duration_ms: Option<i64>,
    /// Mean performance score.
    pub avg_performance: Option<f64>,
    /// The 20 most recently started COMPLETED executions in the range.
    pub recent_completed: Vec<agent_execution::Model>,
}

impl AgentPerformance {
    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for an empty id or `from > to`.
    pub fn new(agent_id: &str, from: Option<Timestamp>, to: Option<Timestamp>) -> Result<Self> {
        let q = Self {
            agent_id: agent_id.to_owned(),
            from,
            to,
        };
        q.validate()?;
        Ok(q)
    }

    fn recent(&self) -> sea_orm::Select<agent_execution::Entity> {
        let mut select = agent_execution::Entity::find()
            .filter(agent_execution::Column::AgentId.eq(self.agent_id.as_str()))
            .filter(agent_execution::Column::Status.eq(ExecutionStatus::Completed));
        if let Some(from) = self.from {
            select = select.filter(agent_execution::Column::StartedAt.gte(from));
        }
        if let Some(to) = self.to {
            select = select.filter(agent_execution::Column::StartedAt.lte(to));
        }
        select
            .order_by_desc(agent_execution::Column::StartedAt)
            .order_by_desc(agent_execution::Column::Id)
            .limit(RECENT)
    }
}

impl DashboardQuery for AgentPerformance {
    type Output = AgentPerformanceReport;
    const NAME: QueryName = QueryName::AgentPerformance;

    fn validate(&self) -> Result<()> {
        validate::id("agent_id", &self.agent_id)?;
        validate::range("from", self.from, self.to)
    }

    fn key(&self) -> Query {
        Query::AgentPerformance(self.clone())
    }

    /// The aggregate statement.
    fn statement(&self, backend: DatabaseBackend) -> Statement {
        // PostgreSQL may sum in parallel workers, in any order: summing
        // doubles would then differ in the last bits from run to run, and a
        // cached report would never equal a fresh one. NUMERIC sums exactly.
        let exact_sum = match backend {
            DatabaseBackend::Postgres => "CAST(SUM(CAST(perf AS NUMERIC)) AS DOUBLE PRECISION)",
            _ => "CAST(SUM(perf) AS DOUBLE PRECISION)",
        };
        let duration = match backend {
            DatabaseBackend::Postgres => {
                r#"CAST(ROUND(EXTRACT(EPOCH FROM ("completedAt" - "startedAt")) * 1000) AS BIGINT)"#
            }
            _ => {
                r#"CAST(ROUND((julianday("completedAt") - julianday("startedAt")) * 86400000.0) AS INTEGER)"#
            }
        };
        let mut filter = String::from(r#""agentId" = ?"#);
        let mut values: Vec<sea_orm::Value> = vec![self.agent_id.as_str().into()];
        if let Some(from) = self.from {
            filter.push_str(r#" AND "startedAt" >= ?"#);
            values.push(from.into());
        }
        if let Some(to) = self.to {
            filter.push_str(r#" AND "startedAt" <= ?"#);
            values.push(to.into());
        }
        let sql = format!(
            r#"WITH e AS (SELECT CAST("status" AS TEXT) AS status, "performance" AS perf, {duration} AS dur FROM "agent_executions" WHERE {filter}), d AS (SELECT dur, ROW_NUMBER() OVER (ORDER BY dur) AS rn, COUNT(*) OVER () AS cnt FROM e WHERE dur IS NOT NULL) SELECT status, COUNT(*) AS n, COUNT(dur) AS n_dur, CAST(SUM(dur) AS DOUBLE PRECISION) AS sum_dur, COUNT(perf) AS n_perf, {exact_sum} AS sum_perf, (SELECT dur FROM d WHERE rn = (95 * cnt + 99) / 100) AS p95 FROM e GROUP BY status"#
        );
        raw(backend, &sql, values)
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        let rows = conn
            .query_all_raw(self.statement(conn.get_database_backend()))
            .await?;
        let mut counts = [0u64; 5];
        let (mut n_dur, mut sum_dur, mut n_perf, mut sum_perf) = (0i64, 0f64, 0i64, 0f64);
        let mut p95 = None;
        for row in &rows {
            let status: String = row.try_get("", "status")?;
            let status: ExecutionStatus = status
                .parse()
                .map_err(|e: entity::enums::UnknownEnumValue| DbErr::Type(e.to_string()))?;
            let idx = ExecutionStatus::ALL
                .iter()
                .position(|s| *s == status)
                .unwrap_or(0);
            let n: i64 = row.try_get("", "n")?;
            counts[idx] += u64::try_from(n).unwrap_or(0);
            n_dur += row.try_get::<i64>("", "n_dur")?;
            sum_dur += row.try_get::<Option<f64>>("", "sum_dur")?.unwrap_or(0.0);
            n_perf += row.try_get::<i64>("", "n_perf")?;
            sum_perf += row.try_get::<Option<f64>>("", "sum_perf")?.unwrap_or(0.0);
            p95 = p95.or(row.try_get::<Option<i64>>("", "p95")?);
        }
        let count_of = |s: ExecutionStatus| {
            ExecutionStatus::ALL
                .iter()
                .position(|x| *x == s)
                .map_or(0, |i| counts[i])
        };
        let finished = count_of(ExecutionStatus::Completed)
            + count_of(ExecutionStatus::Failed)
            + count_of(ExecutionStatus::Cancelled);
        let recent_completed = sql::fetch_all(conn, &self.recent().into_query()).await?;
        Ok(AgentPerformanceReport {
            total: counts.iter().sum(),
            by_status: ExecutionStatus::ALL
                .iter()
                .zip(counts)
                .map(|(status, count)| StatusCount {
                    status: *status,
                    count,
                })
                .collect(),
            success_rate: (finished > 0)
                .then(|| count_of(ExecutionStatus::Completed) as f64 / finished as f64),
            avg_duration_ms: (n_dur > 0).then(|| sum_dur / n_dur as f64),
            p95_duration_ms: p95,
            avg_performance: (n_perf > 0).then(|| sum_perf / n_perf as f64),
            recent_completed,
        })
    }
}
