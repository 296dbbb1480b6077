//! A/B tests of campaigns.

use async_trait::async_trait;
use entity::enums::AbTestStatus;
use entity::{Json, Timestamp, ab_test};
use sea_orm::ActiveValue::NotSet;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, write};
use crate::change::{Change, ChangeKind};
use crate::error::{Error, Result};
use crate::{ids, validate};

/// An A/B test to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAbTest {
    /// The campaign tested.
    pub campaign_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Status (Prisma's default is `RUNNING`).
    pub status: AbTestStatus,
    /// The variants.
    pub variants: serde_json::Value,
    /// Settings.
    pub settings: Option<serde_json::Value>,
    /// Start (default: now).
    pub start_date: Option<Timestamp>,
    /// End, not before the start.
    pub end_date: Option<Timestamp>,
}

impl NewAbTest {
    /// A `RUNNING` test starting now.
    pub fn new(
        campaign_id: impl Into<String>,
        name: impl Into<String>,
        variants: serde_json::Value,
    ) -> Self {
        Self {
            campaign_id: campaign_id.into(),
            name: name.into(),
            description: None,
            status: AbTestStatus::Running,
            variants,
            settings: None,
            start_date: None,
            end_date: None,
        }
    }
}

/// Changes to an A/B test; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct AbTestUpdate {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<AbTestStatus>,
    pub variants: Option<serde_json::Value>,
    pub results: Option<Option<serde_json::Value>>,
    pub winner: Option<Option<String>>,
    pub confidence: Option<Option<f64>>,
    pub end_date: Option<Option<Timestamp>>,
    pub settings: Option<Option<serde_json::Value>>,
}

/// A/B tests: writes.
#[async_trait]
pub trait AbTestRepository: Send + Sync {
    /// Creates a test.
    ///
    /// # Errors
    /// `Invalid`; `Conflict` if the campaign does not exist.
    async fn create(&self, input: NewAbTest) -> Result<ab_test::Model>;
    /// The test with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<ab_test::Model>;
    /// Updates a test.
    ///
    /// # Errors
    /// `Invalid` (also for an empty update), `NotFound`.
    async fn update(&self, id: &str, input: AbTestUpdate) -> Result<ab_test::Model>;
    /// Deletes a test.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete(&self, id: &str) -> Result<ab_test::Model>;
}

/// The SeaORM implementation of [`AbTestRepository`].
pub struct AbTests<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> AbTestRepository for AbTests<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewAbTest) -> Result<ab_test::Model> {
        validate::id("campaign_id", &input.campaign_id)?;
        validate::required_text("name", &input.name, validate::MAX_TEXT_LEN)?;
        validate::opt_text(
            "description",
            input.description.as_deref(),
            validate::MAX_TEXT_LEN,
        )?;
        validate::json("variants", &input.variants)?;
        validate::opt_json("settings", input.settings.as_ref())?;
        let start_date = input.start_date.unwrap_or_else(now);
        validate::range("end_date", Some(start_date), input.end_date)?;
        let model = ab_test::Model {
            id: ids::new_id(),
            campaign_id: input.campaign_id,
            name: input.name,
            description: input.description,
            status: input.status,
            variants: input.variants.into(),
            results: None,
            winner: None,
            confidence: None,
            start_date,
            end_date: input.end_date,
            settings: input.settings.map(Json),
        };
        self.0.insert(model, Change::AbTest).await
    }

    async fn get(&self, id: &str) -> Result<ab_test::Model> {
        get_by_id::<ab_test::Entity, _>(self.0.conn, "ab test", ab_test::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: AbTestUpdate) -> Result<ab_test::Model> {
        validate::id("id", id)?;
        if let Some(n) = &input.name {
            validate::required_text("name", n, validate::MAX_TEXT_LEN)?;
        }
        if let Some(Some(d)) = &input.description {
            validate::text("description", d, validate::MAX_TEXT_LEN)?;
        }
        if let Some(v) = &input.variants {
            validate::json("variants", v)?;
        }
        if let Some(Some(r)) = &input.results {
            validate::json("results", r)?;
        }
        if let Some(Some(w)) = &input.winner {
            validate::text("winner", w, validate::MAX_TEXT_LEN)?;
        }
        if let Some(c) = input.confidence {
            validate::opt_finite("confidence", c)?;
        }
        if let Some(Some(s)) = &input.settings {
            validate::json("settings", s)?;
        }
        validate::opt_timestamp("end_date", input.end_date.flatten())?;
        if input == AbTestUpdate::default() {
            return Err(Error::invalid("update", "no field to change"));
        }
        let input_end = input.end_date;
        let am = ab_test::ActiveModel {
            id: NotSet,
            campaign_id: NotSet,
            name: set_if(input.name),
            description: set_if(input.description),
            status: set_if(input.status),
            variants: set_if(input.variants.map(Json)),
            results: set_if(input.results.map(|v| v.map(Json))),
            winner: set_if(input.winner),
            confidence: set_if(input.confidence),
            start_date: NotSet,
            end_date: set_if(input.end_date),
            settings: set_if(input.settings.map(|v| v.map(Json))),
        };
        // A new end must not precede the stored start: checked in the UPDATE.
        let guard = match input_end {
            Some(Some(end)) => sea_orm::Condition::all()
                .add(sea_orm::ColumnTrait::lte(&ab_test::Column::StartDate, end)),
            _ => sea_orm::Condition::all(),
        };
        let updated = write::update_returning_where::<ab_test::Entity, _>(
            self.0.conn,
            ab_test::Column::Id,
            id,
            am,
            guard,
        )
        .await?;
        let Some(model) = updated else {
            let stored = self.get(id).await?;
            return Err(Error::invalid(
                "end_date",
                format!("the test would end before its start {}", stored.start_date),
            ));
        };
        self.0
            .record(vec![Change::AbTest(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<ab_test::Model> {
        let model =
            delete_by_id::<ab_test::Entity, _>(self.0.conn, "ab test", ab_test::Column::Id, id)
                .await?;
        self.0
            .record(vec![Change::AbTest(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }
}
