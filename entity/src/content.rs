//! `contents`: pieces of marketing content (Prisma model `Content`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{ContentStatus, ContentType, Platform};
use crate::json::Json;
use crate::types::Timestamp;

/// A row of `contents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contents")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Title.
    pub title: String,
    /// Format.
    #[sea_orm(column_name = "type")]
    pub r#type: ContentType,
    /// Where it is published.
    pub platform: Platform,
    /// The content itself.
    #[sea_orm(column_type = "JsonBinary")]
    pub content: Json,
    /// Status, `DRAFT` by default.
    pub status: ContentStatus,
    /// Performance figures.
    #[sea_orm(column_type = "JsonBinary")]
    pub performance: Option<Json>,
    /// Metadata.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Option<Json>,
    /// Creation time.
    #[sea_orm(column_name = "createdAt")]
    pub created_at: Timestamp,
    /// Last update (set by the service).
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: Timestamp,
}

/// `contents` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
