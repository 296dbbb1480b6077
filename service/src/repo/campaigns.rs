//! Campaigns, including the create-with-analytics transaction.

use std::sync::Arc;

use async_trait::async_trait;
use entity::enums::{CampaignStatus, CampaignType, Platform};
use entity::{DbList, Json, Timestamp, analytics, campaign};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, IntoActiveModel, TransactionSession, TransactionTrait,
};

use super::analytics::NewAnalytics;
use super::{Repo, delete_by_id, get_by_id, now, set_if, write};
use crate::change::{Change, ChangeKind};
use crate::error::{Error, Result};
use crate::queries::{CampaignWithAnalytics, CampaignsByUserAndStatus};
use crate::{ids, validate};

/// A campaign to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    /// Owner.
    pub user_id: String,
    /// Optional second user.
    pub user_id2: Option<String>,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Kind.
    pub r#type: CampaignType,
    /// Status (Prisma's default is `DRAFT`).
    pub status: CampaignStatus,
    /// Budget, not negative.
    pub budget: Option<f64>,
    /// Planned start.
    pub start_date: Option<Timestamp>,
    /// Planned end, not before the start.
    pub end_date: Option<Timestamp>,
    /// Audience definition.
    pub target_audience: Option<serde_json::Value>,
    /// Platforms.
    pub platforms: Vec<Platform>,
    /// Metrics.
    pub metrics: Option<serde_json::Value>,
    /// Settings.
    pub settings: Option<serde_json::Value>,
}

impl NewCampaign {
    /// A `DRAFT` campaign with nothing optional set.
    pub fn new(user_id: impl Into<String>, name: impl Into<String>, r#type: CampaignType) -> Self {
        Self {
            user_id: user_id.into(),
            user_id2: None,
            name: name.into(),
            description: None,
            r#type,
            status: CampaignStatus::Draft,
            budget: None,
            start_date: None,
            end_date: None,
            target_audience: None,
            platforms: Vec::new(),
            metrics: None,
            settings: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::id("user_id", &self.user_id)?;
        if let Some(u2) = &self.user_id2 {
            validate::id("user_id2", u2)?;
        }
        validate::required_text("name", &self.name, validate::MAX_TEXT_LEN)?;
        validate::opt_text(
            "description",
            self.description.as_deref(),
            validate::MAX_TEXT_LEN,
        )?;
        validate::non_negative("budget", self.budget)?;
        validate::range("end_date", self.start_date, self.end_date)?;
        validate::opt_json("target_audience", self.target_audience.as_ref())?;
        validate::opt_json("metrics", self.metrics.as_ref())?;
        validate::opt_json("settings", self.settings.as_ref())
    }

    fn into_model(self) -> campaign::Model {
        let now = now();
        campaign::Model {
            id: ids::new_id(),
            name: self.name,
            description: self.description,
            r#type: self.r#type,
            status: self.status,
            budget: self.budget,
            start_date: self.start_date,
            end_date: self.end_date,
            target_audience: self.target_audience.map(Json),
            platforms: DbList(self.platforms),
            metrics: self.metrics.map(Json),
            settings: self.settings.map(Json),
            created_at: now,
            updated_at: now,
            user_id: self.user_id,
            user_id2: self.user_id2,
        }
    }
}

/// Changes to a campaign; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct CampaignUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub r#type: Option<CampaignType>,
    pub status: Option<CampaignStatus>,
    pub budget: Option<Option<f64>>,
    pub start_date: Option<Option<Timestamp>>,
    pub end_date: Option<Option<Timestamp>>,
    pub target_audience: Option<Option<serde_json::Value>>,
    pub platforms: Option<Vec<Platform>>,
    pub metrics: Option<Option<serde_json::Value>>,
    pub settings: Option<Option<serde_json::Value>>,
    pub user_id2: Option<Option<String>>,
}

impl CampaignUpdate {
    fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            validate::required_text("name", name, validate::MAX_TEXT_LEN)?;
        }
        if let Some(Some(d)) = &self.description {
            validate::text("description", d, validate::MAX_TEXT_LEN)?;
        }
        if let Some(budget) = self.budget {
            validate::non_negative("budget", budget)?;
        }
        validate::opt_timestamp("start_date", self.start_date.flatten())?;
        validate::opt_timestamp("end_date", self.end_date.flatten())?;
        if let (Some(Some(start)), Some(Some(end))) = (self.start_date, self.end_date) {
            validate::range("end_date", Some(start), Some(end))?;
        }
        for (field, v) in [
            ("target_audience", &self.target_audience),
            ("metrics", &self.metrics),
            ("settings", &self.settings),
        ] {
            if let Some(Some(v)) = v {
                validate::json(field, v)?;
            }
        }
        if let Some(Some(u2)) = &self.user_id2 {
            validate::id("user_id2", u2)?;
        }
        Ok(())
    }
}

/// Campaigns: writes, the create-with-analytics transaction, and the
/// campaigns-by-user query.
#[async_trait]
pub trait CampaignRepository: Send + Sync {
    /// Creates a campaign.
    ///
    /// # Errors
    /// `Invalid`; `Conflict` if the owner does not exist.
    async fn create(&self, input: NewCampaign) -> Result<campaign::Model>;
    /// Creates a campaign and its analytics rows in one transaction: all or
    /// nothing. Each row's `campaign_id` is set to the new campaign.
    ///
    /// # Errors
    /// `Invalid` (nothing runs); `Conflict` (nothing is kept).
    async fn create_with_analytics(
        &self,
        input: NewCampaign,
        analytics: Vec<NewAnalytics>,
    ) -> Result<(campaign::Model, Vec<analytics::Model>)>;
    /// The campaign with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<campaign::Model>;
    /// Updates a campaign; `updatedAt` is set to now.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`, `Conflict`.
    async fn update(&self, id: &str, input: CampaignUpdate) -> Result<campaign::Model>;
    /// Sets a campaign's status.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`.
    async fn set_status(&self, id: &str, status: CampaignStatus) -> Result<campaign::Model>;
    /// Deletes a campaign.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` while A/B tests reference it.
    async fn delete(&self, id: &str) -> Result<campaign::Model>;
    /// SPEC query 2: a user's campaigns, newest first, each with its latest
    /// analytics row, in two statements (limit default 50).
    ///
    /// # Errors
    /// `Invalid` for an empty user id or a bad limit.
    async fn by_user_and_status(
        &self,
        user_id: &str,
        status: Option<CampaignStatus>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<CampaignWithAnalytics>>>;
}

/// The SeaORM implementation of [`CampaignRepository`].
pub struct Campaigns<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> CampaignRepository for Campaigns<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewCampaign) -> Result<campaign::Model> {
        input.validate()?;
        let model = input.into_model();
        self.0.insert(model, Change::Campaign).await
    }

    async fn create_with_analytics(
        &self,
        input: NewCampaign,
        analytics: Vec<NewAnalytics>,
    ) -> Result<(campaign::Model, Vec<analytics::Model>)> {
        input.validate()?;
        validate::batch("analytics", analytics.len())?;
        for a in &analytics {
            a.validate_without_campaign()?;
        }
        let campaign = input.into_model();
        let rows: Vec<analytics::Model> = analytics
            .into_iter()
            .map(|a| a.into_model(Some(campaign.id.clone())))
            .collect();
        let txn = self.0.conn.begin().await.map_err(Error::from)?;
        write::insert_all(&txn, vec![campaign.clone().into_active_model().reset_all()]).await?;
        write::insert_all(
            &txn,
            rows.iter()
                .map(|r| r.clone().into_active_model().reset_all())
                .collect(),
        )
        .await?;
        txn.commit().await.map_err(Error::from)?;
        let mut changes = vec![Change::Campaign(ChangeKind::Inserted, campaign.clone())];
        changes.extend(
            rows.iter()
                .cloned()
                .map(|r| Change::Analytics(ChangeKind::Inserted, r)),
        );
        self.0.record(changes);
        Ok((campaign, rows))
    }

    async fn get(&self, id: &str) -> Result<campaign::Model> {
        get_by_id::<campaign::Entity, _>(self.0.conn, "campaign", campaign::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: CampaignUpdate) -> Result<campaign::Model> {
        validate::id("id", id)?;
        input.validate()?;
        if input == CampaignUpdate::default() {
            return Err(Error::invalid("update", "no field to change"));
        }
        // A new start or end alone must still leave start <= end with the
        // stored other one: checked in the UPDATE itself.
        use sea_orm::{ColumnTrait, Condition};
        let guard = match (input.start_date, input.end_date) {
            (Some(Some(start)), None) => Condition::any()
                .add(campaign::Column::EndDate.is_null())
                .add(campaign::Column::EndDate.gte(start)),
            (None, Some(Some(end))) => Condition::any()
                .add(campaign::Column::StartDate.is_null())
                .add(campaign::Column::StartDate.lte(end)),
            _ => Condition::all(),
        };
        let am = campaign::ActiveModel {
            id: NotSet,
            name: set_if(input.name),
            description: set_if(input.description),
            r#type: set_if(input.r#type),
            status: set_if(input.status),
            budget: set_if(input.budget),
            start_date: set_if(input.start_date),
            end_date: set_if(input.end_date),
            target_audience: set_if(input.target_audience.map(|v| v.map(Json))),
            platforms: set_if(input.platforms.map(DbList)),
            metrics: set_if(input.metrics.map(|v| v.map(Json))),
            settings: set_if(input.settings.map(|v| v.map(Json))),
            created_at: NotSet,
            updated_at: Set(now()),
            user_id: NotSet,
            user_id2: set_if(input.user_id2),
        };
        let updated = write::update_returning_where::<campaign::Entity, _>(
            self.0.conn,
            campaign::Column::Id,
            id,
            am,
            guard,
        )
        .await?;
        let Some(model) = updated else {
            // Missing (NotFound from get), or the guard refused it.
            let stored = self.get(id).await?;
            return Err(Error::invalid(
                "end_date",
                format!(
                    "the campaign would end before it starts (stored start {:?}, end {:?})",
                    stored.start_date, stored.end_date
                ),
            ));
        };
        self.0
            .record(vec![Change::Campaign(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn set_status(&self, id: &str, status: CampaignStatus) -> Result<campaign::Model> {
        self.update(
            id,
            CampaignUpdate {
                status: Some(status),
                ..CampaignUpdate::default()
            },
        )
        .await
    }

    async fn delete(&self, id: &str) -> Result<campaign::Model> {
        let model =
            delete_by_id::<campaign::Entity, _>(self.0.conn, "campaign", campaign::Column::Id, id)
                .await?;
        self.0
            .record(vec![Change::Campaign(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn by_user_and_status(
        &self,
        user_id: &str,
        status: Option<CampaignStatus>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<CampaignWithAnalytics>>> {
        self.0
            .read(CampaignsByUserAndStatus::new(user_id, status, limit)?)
            .await
    }
}
