//! Sales leads.

use std::sync::Arc;

use async_trait::async_trait;
use entity::enums::LeadStatus;
use entity::{DbList, Json, lead};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, update_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::{Error, Result};
use crate::queries::HighValueLeads;
use crate::{ids, validate};

/// A lead to create.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct NewLead {
    pub email: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    /// Status (Prisma's default is `NEW`; `None` means that).
    pub status: Option<LeadStatus>,
    pub score: Option<f64>,
    pub tags: Vec<String>,
    pub metadata: Option<serde_json::Value>,
}

impl NewLead {
    fn validate(&self) -> Result<()> {
        validate::email("email", &self.email)?;
        for (field, v) in [
            ("name", &self.name),
            ("company", &self.company),
            ("position", &self.position),
            ("phone", &self.phone),
        ] {
            validate::opt_text(field, v.as_deref(), validate::MAX_TEXT_LEN)?;
        }
        validate::opt_text(
            "source",
            self.source.as_deref(),
            validate::MAX_INDEXED_TEXT_LEN,
        )?;
        validate::opt_finite("score", self.score)?;
        validate::text_list("tags", &self.tags)?;
        validate::opt_json("metadata", self.metadata.as_ref())
    }

    fn into_model(self) -> lead::Model {
        let now = now();
        lead::Model {
            id: ids::new_id(),
            email: self.email,
            name: self.name,
            company: self.company,
            position: self.position,
            phone: self.phone,
            source: self.source,
            status: self.status.unwrap_or(LeadStatus::New),
            score: self.score,
            tags: DbList(self.tags),
            metadata: self.metadata.map(Json),
            created_at: now,
            updated_at: now,
        }
    }
}

/// Changes to a lead; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct LeadUpdate {
    pub email: Option<String>,
    pub name: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub position: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub source: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    pub score: Option<Option<f64>>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Option<serde_json::Value>>,
}

/// Leads: writes and the high-value-leads query.
#[async_trait]
pub trait LeadRepository: Send + Sync {
    /// Creates a lead.
    ///
    /// # Errors
    /// `Invalid`.
    async fn create(&self, input: NewLead) -> Result<lead::Model>;
    /// Creates many leads in one transaction, chunked under the backend's
    /// bind limit: all or nothing.
    ///
    /// # Errors
    /// `Invalid` (nothing runs), the database's error (nothing is kept).
    async fn create_many(&self, input: Vec<NewLead>) -> Result<Vec<lead::Model>>;
    /// The lead with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<lead::Model>;
    /// Updates a lead (score, status, ...); `updatedAt` is set to now.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`.
    async fn update(&self, id: &str, input: LeadUpdate) -> Result<lead::Model>;
    /// Deletes a lead.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete(&self, id: &str) -> Result<lead::Model>;
    /// SPEC query 6: leads with `score >= min_score` (default 7.0), by score
    /// then creation, descending (limit default 50).
    ///
    /// # Errors
    /// `Invalid` for a NaN or infinite score, or a bad limit.
    async fn high_value(
        &self,
        min_score: Option<f64>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<lead::Model>>>;
}

/// The SeaORM implementation of [`LeadRepository`].
pub struct Leads<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> LeadRepository for Leads<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewLead) -> Result<lead::Model> {
        input.validate()?;
        let model = input.into_model();
        self.0.insert(model, Change::Lead).await
    }

    async fn create_many(&self, input: Vec<NewLead>) -> Result<Vec<lead::Model>> {
        validate::batch("leads", input.len())?;
        input.iter().try_for_each(NewLead::validate)?;
        let rows: Vec<lead::Model> = input.into_iter().map(NewLead::into_model).collect();
        self.0.insert_batch(rows, Change::Lead).await
    }

    async fn get(&self, id: &str) -> Result<lead::Model> {
        get_by_id::<lead::Entity, _>(self.0.conn, "lead", lead::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: LeadUpdate) -> Result<lead::Model> {
        validate::id("id", id)?;
        if let Some(e) = &input.email {
            validate::email("email", e)?;
        }
        for (field, v) in [
            ("name", &input.name),
            ("company", &input.company),
            ("position", &input.position),
            ("phone", &input.phone),
            ("source", &input.source),
        ] {
            if let Some(Some(v)) = v {
                let max = if field == "source" {
                    validate::MAX_INDEXED_TEXT_LEN
                } else {
                    validate::MAX_TEXT_LEN
                };
                validate::text(field, v, max)?;
            }
        }
        if let Some(score) = input.score {
            validate::opt_finite("score", score)?;
        }
        if let Some(tags) = &input.tags {
            validate::text_list("tags", tags)?;
        }
        if let Some(Some(m)) = &input.metadata {
            validate::json("metadata", m)?;
        }
        if input == LeadUpdate::default() {
            return Err(Error::invalid("update", "no field to change"));
        }
        let am = lead::ActiveModel {
            id: NotSet,
            email: set_if(input.email),
            name: set_if(input.name),
            company: set_if(input.company),
            position: set_if(input.position),
            phone: set_if(input.phone),
            source: set_if(input.source),
            status: set_if(input.status),
            score: set_if(input.score),
            tags: set_if(input.tags.map(DbList)),
            metadata: set_if(input.metadata.map(|v| v.map(Json))),
            created_at: NotSet,
            updated_at: Set(now()),
        };
        let model =
            update_by_id::<lead::Entity, _>(self.0.conn, "lead", lead::Column::Id, id, am).await?;
        self.0
            .record(vec![Change::Lead(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<lead::Model> {
        let model =
            delete_by_id::<lead::Entity, _>(self.0.conn, "lead", lead::Column::Id, id).await?;
        self.0
            .record(vec![Change::Lead(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn high_value(
        &self,
        min_score: Option<f64>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<lead::Model>>> {
        self.0.read(HighValueLeads::new(min_score, limit)?).await
    }
}
