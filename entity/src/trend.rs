//! `trends`: detected keyword trends (Prisma model `Trend`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::Platform;
use crate::json::Json;
use crate::types::Timestamp;

/// A row of `trends`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "trends")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The keyword.
    pub keyword: String,
    /// Where it trends.
    pub platform: Platform,
    /// Category.
    pub category: Option<String>,
    /// Trend score.
    pub score: f64,
    /// Search or mention volume.
    pub volume: Option<i32>,
    /// Growth rate.
    pub growth: Option<f64>,
    /// Details.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    /// Detection time.
    #[sea_orm(column_name = "detectedAt")]
    pub detected_at: Timestamp,
}

/// `trends` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
