//! `campaigns`: marketing campaigns (Prisma model `Campaign`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{CampaignStatus, CampaignType};
use crate::json::Json;
use crate::types::{PlatformList, Timestamp};

/// A row of `campaigns`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Kind of campaign.
    #[sea_orm(column_name = "type")]
    pub r#type: CampaignType,
    /// Life-cycle status, `DRAFT` by default.
    pub status: CampaignStatus,
    /// Budget.
    pub budget: Option<f64>,
    /// Planned start.
    #[sea_orm(column_name = "startDate")]
    pub start_date: Option<Timestamp>,
    /// Planned end.
    #[sea_orm(column_name = "endDate")]
    pub end_date: Option<Timestamp>,
    /// Audience definition.
    #[sea_orm(column_name = "targetAudience", column_type = "JsonBinary")]
    pub target_audience: Option<Json>,
    /// Platforms the campaign runs on (`"Platform"[]`).
    pub platforms: PlatformList,
    /// Free-form metrics.
    #[sea_orm(column_type = "JsonBinary")]
    pub metrics: Option<Json>,
    /// Free-form settings.
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Option<Json>,
    /// Creation time.
    #[sea_orm(column_name = "createdAt")]
    pub created_at: Timestamp,
    /// Last update (set by the service).
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: Timestamp,
    /// Owner.
    #[sea_orm(column_name = "userId")]
    pub user_id: String,
    /// Optional second user (relation `CampaignUser2`).
    #[sea_orm(column_name = "userId2")]
    pub user_id2: Option<String>,
}

/// Relations of `campaigns`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owner (`campaigns_userId_fkey`, ON DELETE RESTRICT).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    User,
    /// The second user (`campaigns_userId2_fkey`, ON DELETE SET NULL).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId2",
        to = "super::user::Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    User2,
    /// Agent executions for the campaign.
    #[sea_orm(has_many = "super::agent_execution::Entity")]
    AgentExecutions,
    /// Analytics rows of the campaign.
    #[sea_orm(has_many = "super::analytics::Entity")]
    Analytics,
    /// A/B tests of the campaign.
    #[sea_orm(has_many = "super::ab_test::Entity")]
    AbTests,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::agent_execution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AgentExecutions.def()
    }
}

impl Related<super::analytics::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Analytics.def()
    }
}

impl Related<super::ab_test::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AbTests.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
