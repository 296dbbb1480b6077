//! Analytics rows: writes (single and batched), the campaign-analytics and
//! time-series queries.

use std::sync::Arc;

use async_trait::async_trait;
use entity::enums::AnalyticsType;
use entity::{Json, Timestamp, analytics};
use sea_orm::ActiveValue::NotSet;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, update_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::{Error, Result};
use crate::queries::{AnalyticsTimeSeries, CampaignAnalytics, DayCount};
use crate::{ids, validate};

/// An analytics row to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnalytics {
    /// The campaign measured.
    pub campaign_id: Option<String>,
    /// The user measured.
    pub user_id: Option<String>,
    /// What is measured.
    pub r#type: AnalyticsType,
    /// The measurement.
    pub data: serde_json::Value,
    /// `daily`, `weekly`, `monthly`, ...
    pub period: Option<String>,
    /// When it applies (default: now).
    pub date: Option<Timestamp>,
    /// Metadata.
    pub metadata: Option<serde_json::Value>,
}

impl NewAnalytics {
    /// A row of `type` with `data`, dated now, for no campaign or user.
    pub fn new(r#type: AnalyticsType, data: serde_json::Value) -> Self {
        Self {
            campaign_id: None,
            user_id: None,
            r#type,
            data,
            period: None,
            date: None,
            metadata: None,
        }
    }

    pub(crate) fn validate_without_campaign(&self) -> Result<()> {
        if let Some(u) = &self.user_id {
            validate::id("user_id", u)?;
        }
        validate::json("data", &self.data)?;
        validate::opt_timestamp("date", self.date)?;
        if let Some(p) = &self.period {
            validate::required_text("period", p, 64)?;
        }
        validate::opt_json("metadata", self.metadata.as_ref())
    }

    fn validate(&self) -> Result<()> {
        if let Some(c) = &self.campaign_id {
            validate::id("campaign_id", c)?;
        }
        self.validate_without_campaign()
    }

    pub(crate) fn into_model(self, campaign_id: Option<String>) -> analytics::Model {
        analytics::Model {
            id: ids::new_id(),
            campaign_id: campaign_id.or(self.campaign_id),
            user_id: self.user_id,
            r#type: self.r#type,
            data: self.data.into(),
            period: self.period,
            date: self.date.unwrap_or_else(now),
            metadata: self.metadata.map(Json),
        }
    }
}

/// Changes to an analytics row; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct AnalyticsUpdate {
    pub r#type: Option<AnalyticsType>,
    pub data: Option<serde_json::Value>,
    pub period: Option<Option<String>>,
    pub date: Option<Timestamp>,
    pub metadata: Option<Option<serde_json::Value>>,
}

/// Analytics: writes and the two analytics queries.
#[async_trait]
pub trait AnalyticsRepository: Send + Sync {
    /// Creates one row.
    ///
    /// # Errors
    /// `Invalid`; `Conflict` if the campaign or user does not exist.
    async fn create(&self, input: NewAnalytics) -> Result<analytics::Model>;
    /// Creates many rows in one transaction (chunked under the backend's
    /// bind-parameter limit): all or nothing. At most
    /// [`validate::MAX_BATCH`] rows.
    ///
    /// # Errors
    /// `Invalid` (nothing runs); `Conflict` (nothing is kept).
    async fn create_many(&self, input: Vec<NewAnalytics>) -> Result<Vec<analytics::Model>>;
    /// The row with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<analytics::Model>;
    /// Updates a row.
    ///
    /// # Errors
    /// `Invalid` (also for an empty update), `NotFound`.
    async fn update(&self, id: &str, input: AnalyticsUpdate) -> Result<analytics::Model>;
    /// Deletes a row.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete(&self, id: &str) -> Result<analytics::Model>;
    /// SPEC query 4: a campaign's rows, optionally of one type and period,
    /// newest first (limit default 100).
    ///
    /// # Errors
    /// `Invalid`.
    async fn campaign_analytics(
        &self,
        campaign_id: &str,
        r#type: Option<AnalyticsType>,
        period: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<analytics::Model>>>;
    /// SPEC query 5: rows of a type and period per day in `[from, to]`.
    ///
    /// # Errors
    /// `Invalid` for `from > to` or a range over 1000 days.
    async fn time_series(
        &self,
        r#type: AnalyticsType,
        period: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Arc<Vec<DayCount>>>;
}

/// The SeaORM implementation of [`AnalyticsRepository`].
pub struct AnalyticsRepo<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> AnalyticsRepository for AnalyticsRepo<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewAnalytics) -> Result<analytics::Model> {
        input.validate()?;
        let model = input.into_model(None);
        self.0.insert(model, Change::Analytics).await
    }

    async fn create_many(&self, input: Vec<NewAnalytics>) -> Result<Vec<analytics::Model>> {
        validate::batch("analytics", input.len())?;
        input.iter().try_for_each(NewAnalytics::validate)?;
        let rows: Vec<analytics::Model> = input.into_iter().map(|a| a.into_model(None)).collect();
        self.0.insert_batch(rows, Change::Analytics).await
    }

    async fn get(&self, id: &str) -> Result<analytics::Model> {
        get_by_id::<analytics::Entity, _>(self.0.conn, "analytics", analytics::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: AnalyticsUpdate) -> Result<analytics::Model> {
        validate::id("id", id)?;
        if let Some(d) = &input.data {
            validate::json("data", d)?;
        }
        if let Some(Some(p)) = &input.period {
            validate::required_text("period", p, 64)?;
        }
        validate::opt_timestamp("date", input.date)?;
        if let Some(Some(m)) = &input.metadata {
            validate::json("metadata", m)?;
        }
        if input == AnalyticsUpdate::default() {
            return Err(Error::invalid("update", "no field to change"));
        }
        let am = analytics::ActiveModel {
            id: NotSet,
            campaign_id: NotSet,
            user_id: NotSet,
            r#type: set_if(input.r#type),
            data: set_if(input.data.map(Json)),
            period: set_if(input.period),
            date: set_if(input.date),
            metadata: set_if(input.metadata.map(|v| v.map(Json))),
        };
        let model = update_by_id::<analytics::Entity, _>(
            self.0.conn,
            "analytics",
            analytics::Column::Id,
            id,
            am,
        )
        .await?;
        self.0
            .record(vec![Change::Analytics(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<analytics::Model> {
        let model = delete_by_id::<analytics::Entity, _>(
            self.0.conn,
            "analytics",
            analytics::Column::Id,
            id,
        )
        .await?;
        self.0
            .record(vec![Change::Analytics(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn campaign_analytics(
        &self,
        campaign_id: &str,
        r#type: Option<AnalyticsType>,
        period: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<analytics::Model>>> {
        self.0
            .read(CampaignAnalytics::new(campaign_id, r#type, period, limit)?)
            .await
    }

    async fn time_series(
        &self,
        r#type: AnalyticsType,
        period: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Arc<Vec<DayCount>>> {
        self.0
            .read(AnalyticsTimeSeries::new(r#type, period, from, to)?)
            .await
    }
}
