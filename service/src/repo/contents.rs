//! Marketing content.

use std::sync::Arc;

use async_trait::async_trait;
use entity::Json;
use entity::content;
use entity::enums::{ContentStatus, ContentType, Platform};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, update_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::Result;
use crate::queries::ContentByPlatformAndStatus;
use crate::{ids, validate};

/// A piece of content to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContent {
    /// Title.
    pub title: String,
    /// Format.
    pub r#type: ContentType,
    /// Platform.
    pub platform: Platform,
    /// The content.
    pub content: serde_json::Value,
    /// Status (Prisma's default is `DRAFT`).
    pub status: ContentStatus,
    /// Performance figures.
    pub performance: Option<serde_json::Value>,
    /// Metadata.
    pub metadata: Option<serde_json::Value>,
}

impl NewContent {
    /// A `DRAFT` piece of content.
    pub fn new(
        title: impl Into<String>,
        r#type: ContentType,
        platform: Platform,
        content: serde_json::Value,
    ) -> Self {
        Self {
            title: title.into(),
            r#type,
            platform,
            content,
            status: ContentStatus::Draft,
            performance: None,
            metadata: None,
        }
    }
}

/// Changes to content; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct ContentUpdate {
    pub title: Option<String>,
    pub r#type: Option<ContentType>,
    pub platform: Option<Platform>,
    pub content: Option<serde_json::Value>,
    pub status: Option<ContentStatus>,
    pub performance: Option<Option<serde_json::Value>>,
    pub metadata: Option<Option<serde_json::Value>>,
}

/// Content: writes and the content-by-platform query.
#[async_trait]
pub trait ContentRepository: Send + Sync {
    /// Creates content.
    ///
    /// # Errors
    /// `Invalid`.
    async fn create(&self, input: NewContent) -> Result<content::Model>;
    /// The content with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<content::Model>;
    /// Updates content; `updatedAt` is set to now.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`.
    async fn update(&self, id: &str, input: ContentUpdate) -> Result<content::Model>;
    /// Deletes content.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete(&self, id: &str) -> Result<content::Model>;
    /// SPEC query 8: content of a platform, optionally of one status,
    /// newest first (limit default 50).
    ///
    /// # Errors
    /// `Invalid` for a bad limit.
    async fn by_platform_and_status(
        &self,
        platform: Platform,
        status: Option<ContentStatus>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<content::Model>>>;
}

/// The SeaORM implementation of [`ContentRepository`].
pub struct Contents<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> ContentRepository for Contents<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewContent) -> Result<content::Model> {
        validate::required_text("title", &input.title, validate::MAX_TEXT_LEN)?;
        validate::json("content", &input.content)?;
        validate::opt_json("performance", input.performance.as_ref())?;
        validate::opt_json("metadata", input.metadata.as_ref())?;
        let now = now();
        let model = content::Model {
            id: ids::new_id(),
            title: input.title,
            r#type: input.r#type,
            platform: input.platform,
            content: input.content.into(),
            status: input.status,
            performance: input.performance.map(Json),
            metadata: input.metadata.map(Json),
            created_at: now,
            updated_at: now,
        };
        self.0.insert(model, Change::Content).await
    }

    async fn get(&self, id: &str) -> Result<content::Model> {
        get_by_id::<content::Entity, _>(self.0.conn, "content", content::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: ContentUpdate) -> Result<content::Model> {
        validate::id("id", id)?;
        if let Some(t) = &input.title {
            validate::required_text("title", t, validate::MAX_TEXT_LEN)?;
        }
        if let Some(c) = &input.content {
            validate::json("content", c)?;
        }
        if let Some(Some(p)) = &input.performance {
            validate::json("performance", p)?;
        }
        if let Some(Some(m)) = &input.metadata {
            validate::json("metadata", m)?;
        }
        if input == ContentUpdate::default() {
            return Err(crate::Error::invalid("update", "no field to change"));
        }
        let am = content::ActiveModel {
            id: NotSet,
            title: set_if(input.title),
            r#type: set_if(input.r#type),
            platform: set_if(input.platform),
            content: set_if(input.content.map(Json)),
            status: set_if(input.status),
            performance: set_if(input.performance.map(|v| v.map(Json))),
            metadata: set_if(input.metadata.map(|v| v.map(Json))),
            created_at: NotSet,
            updated_at: Set(now()),
        };
        let model =
            update_by_id::<content::Entity, _>(self.0.conn, "content", content::Column::Id, id, am)
                .await?;
        self.0
            .record(vec![Change::Content(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<content::Model> {
        let model =
            delete_by_id::<content::Entity, _>(self.0.conn, "content", content::Column::Id, id)
                .await?;
        self.0
            .record(vec![Change::Content(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn by_platform_and_status(
        &self,
        platform: Platform,
        status: Option<ContentStatus>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<content::Model>>> {
        self.0
            .read(ContentByPlatformAndStatus::new(platform, status, limit)?)
            .await
    }
}
