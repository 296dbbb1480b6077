//! `agents`: NeonHub's AI agents (Prisma model `Agent`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::{AgentStatus, AgentType};
use crate::json::Json;
use crate::types::Timestamp;

/// A row of `agents`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Name.
    pub name: String,
    /// What the agent does.
    #[sea_orm(column_name = "type")]
    pub r#type: AgentType,
    /// Service status, `ACTIVE` by default.
    pub status: AgentStatus,
    /// Capabilities.
    #[sea_orm(column_type = "JsonBinary")]
    pub capabilities: Option<Json>,
    /// Settings.
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Option<Json>,
    /// Version, `1.0.0` by default.
    pub version: String,
    /// Creation time.
    #[sea_orm(column_name = "createdAt")]
    pub created_at: Timestamp,
    /// Last update (set by the service).
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: Timestamp,
}

/// Relations of `agents`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The agent's executions.
    #[sea_orm(has_many = "super::agent_execution::Entity")]
    Executions,
}

impl Related<super::agent_execution::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Executions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
