//! `agent_executions`: one run of an agent on a task (Prisma model
//! `AgentExecution`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::ExecutionStatus;
use crate::json::Json;
use crate::types::Timestamp;

/// A row of `agent_executions`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agent_executions")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The agent.
    #[sea_orm(column_name = "agentId")]
    pub agent_id: String,
    /// The campaign worked on, if any.
    #[sea_orm(column_name = "campaignId")]
    pub campaign_id: Option<String>,
    /// The user it ran for, if any.
    #[sea_orm(column_name = "userId")]
    pub user_id: Option<String>,
    /// The task.
    pub task: String,
    /// Input.
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Option<Json>,
    /// Output.
    #[sea_orm(column_type = "JsonBinary")]
    pub result: Option<Json>,
    /// Status, `PENDING` by default.
    pub status: ExecutionStatus,
    /// Performance score.
    pub performance: Option<f64>,
    /// Error message of a failed run.
    pub error: Option<String>,
    /// Start time.
    #[sea_orm(column_name = "startedAt")]
    pub started_at: Timestamp,
    /// Completion time.
    #[sea_orm(column_name = "completedAt")]
    pub completed_at: Option<Timestamp>,
    /// Metadata.
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Option<Json>,
}

/// Relations of `agent_executions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The agent (`agent_executions_agentId_fkey`, ON DELETE RESTRICT).
    #[sea_orm(
        belongs_to = "super::agent::Entity",
        from = "Column::AgentId",
        to = "super::agent::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Agent,
    /// The campaign (`agent_executions_campaignId_fkey`, ON DELETE SET NULL).
    #[sea_orm(
        belongs_to = "super::campaign::Entity",
        from = "Column::CampaignId",
        to = "super::campaign::Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    Campaign,
    /// The user (`agent_executions_userId_fkey`, ON DELETE SET NULL).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_update = "Cascade",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<super::agent::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agent.def()
    }
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
