//! Analytics queries: a campaign's rows, and rows per day.

use chrono::NaiveDate;
use entity::enums::AnalyticsType;
use entity::{Timestamp, analytics};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use serde::Serialize;

use super::{DashboardQuery, Query, QueryName, raw};
use crate::error::{Error, Result};
use crate::{sql, validate};

/// A campaign's analytics rows (optionally of one type and period),
/// newest first (`analytics_campaignId_type_date_idx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CampaignAnalytics {
    /// The campaign.
    pub campaign_id: String,
    /// Only this type, if given.
    pub r#type: Option<AnalyticsType>,
    /// Only this period (`daily`, ...), if given.
    pub period: Option<String>,
    /// At most this many rows (1..=1000, default 100).
    pub limit: u64,
}

impl CampaignAnalytics {
    /// Default limit.
    pub const DEFAULT_LIMIT: u64 = 100;

    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for an empty id, a bad period or limit.
    pub fn new(
        campaign_id: &str,
        r#type: Option<AnalyticsType>,
        period: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Self> {
        let q = Self {
            campaign_id: campaign_id.to_owned(),
            r#type,
            period: period.map(str::to_owned),
            limit: validate::limit(limit, Self::DEFAULT_LIMIT)?,
        };
        q.validate()?;
        Ok(q)
    }

    fn select(&self) -> sea_orm::Select<analytics::Entity> {
        let mut select = analytics::Entity::find()
            .filter(analytics::Column::CampaignId.eq(self.campaign_id.as_str()));
        if let Some(t) = self.r#type {
            select = select.filter(analytics::Column::Type.eq(t));
        }
        if let Some(p) = &self.period {
            select = select.filter(analytics::Column::Period.eq(p.as_str()));
        }
        select
            .order_by_desc(analytics::Column::Date)
            .order_by_desc(analytics::Column::Id)
            .limit(self.limit)
    }
}

impl DashboardQuery for CampaignAnalytics {
    type Output = Vec<analytics::Model>;
    const NAME: QueryName = QueryName::CampaignAnalytics;

    fn validate(&self) -> Result<()> {
        validate::id("campaign_id", &self.campaign_id)?;
        if let Some(p) = &self.period {
            validate::required_text("period", p, 64)?;
        }
        validate::limit(Some(self.limit), Self::DEFAULT_LIMIT).map(|_| ())
    }

    fn key(&self) -> Query {
        Query::CampaignAnalytics(self.clone())
    }

    fn statement(&self, backend: DatabaseBackend) -> Statement {
        sql::build(backend, &self.select().into_query())
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        sql::fetch_all(conn, &self.select().into_query()).await
    }
}

/// How many analytics rows fell on one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    /// The day.
    pub day: NaiveDate,
    /// Rows of that day.
    pub count: u64,
}

/// Rows of one type and period per day in `[from, to]`
/// (`analytics_type_period_date_idx`). At most one row per day; the range
/// may span at most [`validate::MAX_SERIES_DAYS`] days.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnalyticsTimeSeries {
    /// The type.
    pub r#type: AnalyticsType,
    /// The period (`daily`, ...).
    pub period: String,
    /// Start, inclusive.
    pub from: Timestamp,
    /// End, inclusive.
    pub to: Timestamp,
}

impl AnalyticsTimeSeries {
    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for a blank period, `from > to`, or a
    /// range over [`validate::MAX_SERIES_DAYS`] days.
    pub fn new(
        r#type: AnalyticsType,
        period: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Self> {
        let q = Self {
            r#type,
            period: period.to_owned(),
            from,
            to,
        };
        q.validate()?;
        Ok(q)
    }
}

impl DashboardQuery for AnalyticsTimeSeries {
    type Output = Vec<DayCount>;
    const NAME: QueryName = QueryName::AnalyticsTimeSeries;

    fn validate(&self) -> Result<()> {
        validate::required_text("period", &self.period, 64)?;
        validate::range("from", Some(self.from), Some(self.to))?;
        let span = self.to.as_datetime() - self.from.as_datetime();
        if span > chrono::Duration::days(validate::MAX_SERIES_DAYS) {
            return Err(Error::invalid(
                "to",
                format!(
                    "the range spans {:.1} days; at most {} are allowed",
                    span.num_seconds() as f64 / 86_400.0,
                    validate::MAX_SERIES_DAYS
                ),
            ));
        }
        Ok(())
    }

    fn key(&self) -> Query {
        Query::AnalyticsTimeSeries(self.clone())
    }

    fn statement(&self, backend: DatabaseBackend) -> Statement {
        let (day, type_cmp) = match backend {
            DatabaseBackend::Postgres => (
                r#"to_char("date", 'YYYY-MM-DD')"#,
                r#""type" = CAST(? AS "AnalyticsType")"#,
            ),
            _ => (r#"substr("date", 1, 10)"#, r#""type" = ?"#),
        };
        let sql = format!(
            r#"SELECT {day} AS "day", COUNT(*) AS "count" FROM "analytics" WHERE {type_cmp} AND "period" = ? AND "date" >= ? AND "date" <= ? GROUP BY 1 ORDER BY 1"#
        );
        raw(
            backend,
            &sql,
            vec![
                self.r#type.as_str().into(),
                self.period.as_str().into(),
                self.from.into(),
                self.to.into(),
            ],
        )
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        let rows = conn
            .query_all_raw(self.statement(conn.get_database_backend()))
            .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("", "day")?;
                let count: i64 = row.try_get("", "count")?;
                let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .map_err(|e| DbErr::Type(format!("day {day:?}: {e}")))?;
                Ok(DayCount {
                    day,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }
}
