//! Keyword trends.

use std::sync::Arc;

use async_trait::async_trait;
use entity::enums::Platform;
use entity::{Json, Timestamp, trend};
use sea_orm::ActiveValue::NotSet;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, update_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::{Error, Result};
use crate::queries::TrendingKeywords;
use crate::{ids, validate};

/// A trend to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTrend {
    /// The keyword.
    pub keyword: String,
    /// Where it trends.
    pub platform: Platform,
    /// Category.
    pub category: Option<String>,
    /// Score.
    pub score: f64,
    /// Volume.
    pub volume: Option<i32>,
    /// Growth rate.
    pub growth: Option<f64>,
    /// Details.
    pub data: serde_json::Value,
    /// Detection time (default: now).
    pub detected_at: Option<Timestamp>,
}

impl NewTrend {
    /// A trend detected now with empty details.
    pub fn new(keyword: impl Into<String>, platform: Platform, score: f64) -> Self {
        Self {
            keyword: keyword.into(),
            platform,
            category: None,
            score,
            volume: None,
            growth: None,
            data: serde_json::json!({}),
            detected_at: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::required_text("keyword", &self.keyword, validate::MAX_INDEXED_TEXT_LEN)?;
        validate::opt_text(
            "category",
            self.category.as_deref(),
            validate::MAX_INDEXED_TEXT_LEN,
        )?;
        validate::finite("score", self.score)?;
        validate::opt_timestamp("detected_at", self.detected_at)?;
        validate::opt_finite("growth", self.growth)?;
        validate::json("data", &self.data)
    }

    fn into_model(self) -> trend::Model {
        trend::Model {
            id: ids::new_id(),
            keyword: self.keyword,
            platform: self.platform,
            category: self.category,
            score: self.score,
            volume: self.volume,
            growth: self.growth,
            data: self.data.into(),
            detected_at: self.detected_at.unwrap_or_else(now),
        }
    }
}

/// Changes to a trend; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct TrendUpdate {
    pub keyword: Option<String>,
    pub platform: Option<Platform>,
    pub category: Option<Option<String>>,
    pub score: Option<f64>,
    pub volume: Option<Option<i32>>,
    pub growth: Option<Option<f64>>,
    pub data: Option<serde_json::Value>,
}

/// Trends: writes and the trending-keywords query.
#[async_trait]
pub trait TrendRepository: Send + Sync {
    /// Records a trend.
    ///
    /// # Errors
    /// `Invalid`.
    async fn create(&self, input: NewTrend) -> Result<trend::Model>;
    /// Records many trends in one transaction: all or nothing.
    ///
    /// # Errors
    /// `Invalid` (nothing runs), the database's error (nothing is kept).
    async fn create_many(&self, input: Vec<NewTrend>) -> Result<Vec<trend::Model>>;
    /// The trend with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<trend::Model>;
    /// Updates a trend.
    ///
    /// # Errors
    /// `Invalid` (also for an empty update), `NotFound`.
    async fn update(&self, id: &str, input: TrendUpdate) -> Result<trend::Model>;
    /// Deletes a trend.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete(&self, id: &str) -> Result<trend::Model>;
    /// SPEC query 7: trends with `score >= min_score` (default 5.0),
    /// optionally on one platform, by score then detection, descending
    /// (limit default 20).
    ///
    /// # Errors
    /// `Invalid` for a NaN or infinite score, or a bad limit.
    async fn trending(
        &self,
        platform: Option<Platform>,
        min_score: Option<f64>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<trend::Model>>>;
}

/// The SeaORM implementation of [`TrendRepository`].
pub struct Trends<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> TrendRepository for Trends<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewTrend) -> Result<trend::Model> {
        input.validate()?;
        let model = input.into_model();
        self.0.insert(model, Change::Trend).await
    }

    async fn create_many(&self, input: Vec<NewTrend>) -> Result<Vec<trend::Model>> {
        validate::batch("trends", input.len())?;
        input.iter().try_for_each(NewTrend::validate)?;
        let rows: Vec<trend::Model> = input.into_iter().map(NewTrend::into_model).collect();
        self.0.insert_batch(rows, Change::Trend).await
    }

    async fn get(&self, id: &str) -> Result<trend::Model> {
        get_by_id::<trend::Entity, _>(self.0.conn, "trend", trend::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: TrendUpdate) -> Result<trend::Model> {
        validate::id("id", id)?;
        if let Some(k) = &input.keyword {
            validate::required_text("keyword", k, validate::MAX_INDEXED_TEXT_LEN)?;
        }
        if let Some(Some(c)) = &input.category {
            validate::text("category", c, validate::MAX_INDEXED_TEXT_LEN)?;
        }
        if let Some(s) = input.score {
            validate::finite("score", s)?;
        }
        if let Some(g) = input.growth {
            validate::opt_finite("growth", g)?;
        }
        if let Some(d) = &input.data {
            validate::json("data", d)?;
        }
        if input == TrendUpdate::default() {
            return Err(Error::invalid("update", "no field to change"));
        }
        let am = trend::ActiveModel {
            id: NotSet,
            keyword: set_if(input.keyword),
            platform: set_if(input.platform),
            category: set_if(input.category),
            score: set_if(input.score),
            volume: set_if(input.volume),
            growth: set_if(input.growth),
            data: set_if(input.data.map(Json)),
            detected_at: NotSet,
        };
        let model =
            update_by_id::<trend::Entity, _>(self.0.conn, "trend", trend::Column::Id, id, am)
                .await?;
        self.0
            .record(vec![Change::Trend(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<trend::Model> {
        let model =
            delete_by_id::<trend::Entity, _>(self.0.conn, "trend", trend::Column::Id, id).await?;
        self.0
            .record(vec![Change::Trend(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn trending(
        &self,
        platform: Option<Platform>,
        min_score: Option<f64>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<trend::Model>>> {
        self.0
            .read(TrendingKeywords::new(platform, min_score, limit)?)
            .await
    }
}
