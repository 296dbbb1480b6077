//! `analytics`: measurements of campaigns and users (Prisma model
//! `Analytics`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::AnalyticsType;
use crate::json::Json;
use crate::types::Timestamp;

/// A row of `analytics`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "analytics")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The campaign measured, if any.
    #[sea_orm(column_name = "campaignId")]
    pub campaign_id: Option<String>,
    /// The user measured, if any.
    #[sea_orm(column_name = "userId")]
    pub user_id: Option<String>,
    /// What is measured.
    #[sea_orm(column_name = "type")]
    pub r#type: AnalyticsType,
    /// The measurement.
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    /// `daily`, `weekly`, `monthly` (free text in the Prisma model).
    pub period: Option<String>,
    /// When the measurement applies.
    pub date: Timestamp,
    /// Metadata.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Option<Json>,
}

/// Relations of `analytics`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The campaign (`analytics_campaignId_fkey`, ON DELETE SET NULL).
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    Campaign,
    /// The user (`analytics_userId_fkey`, ON DELETE SET NULL).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaign.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
