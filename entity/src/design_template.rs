//! `design_templates`: reusable design templates (Prisma model
//! `DesignTemplate`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::json::Json;
use crate::types::{StringList, Timestamp};

/// A row of `design_templates`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "design_templates")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Name.
    pub name: String,
    /// Category.
    pub category: String,
    /// The template.
    #[sea_orm(column_type = "JsonBinary")]
    pub template: Json,
    /// Preview URL.
    pub preview: Option<String>,
    /// Tags (`TEXT[]`).
    pub tags: StringList,
    /// How often it was used, 0 by default.
    pub usage: i32,
    /// Rating.
    pub rating: Option<f64>,
    /// Whether it is offered, true by default.
    #[sea_orm(column_name = "isActive")]
    pub is_active: bool,
    /// Creation time.
    #[sea_orm(column_name = "createdAt")]
    pub created_at: Timestamp,
    /// Last update (set by the service).
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: Timestamp,
}

/// `design_templates` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
