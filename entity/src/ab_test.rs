//! `ab_tests`: A/B tests of a campaign (Prisma model `ABTest`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::AbTestStatus;
use crate::json::Json;
use crate::types::Timestamp;

/// A row of `ab_tests`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ab_tests")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The campaign tested.
    #[sea_orm(column_name = "campaignId")]
    pub campaign_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Status, `RUNNING` by default.
    pub status: AbTestStatus,
    /// The variants.
    #[sea_orm(column_type = "JsonBinary")]
    pub variants: Json,
    /// Results.
    #[sea_orm(column_type = "JsonBinary")]
    pub results: Option<Json>,
    /// The winning variant.
    pub winner: Option<String>,
    /// Statistical confidence.
    pub confidence: Option<f64>,
    /// Start time.
    #[sea_orm(column_name = "startDate")]
    pub start_date: Timestamp,
    /// End time.
    #[sea_orm(column_name = "endDate")]
    pub end_date: Option<Timestamp>,
    /// Settings.
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Option<Json>,
}

/// Relations of `ab_tests`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The campaign (`ab_tests_campaignId_fkey`, ON DELETE RESTRICT).
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Campaign,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
