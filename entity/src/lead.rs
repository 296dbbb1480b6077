//! `leads`: sales leads (Prisma model `Lead`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::LeadStatus;
use crate::json::Json;
use crate::types::{StringList, Timestamp};

/// A row of `leads`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// E-mail address (not unique).
    pub email: String,
    /// Name.
    pub name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Where the lead came from.
    pub source: Option<String>,
    /// Pipeline status, `NEW` by default.
    pub status: LeadStatus,
    /// Lead score.
    pub score: Option<f64>,
    /// Tags (`TEXT[]`).
    pub tags: StringList,
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

/// `leads` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
