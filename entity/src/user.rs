//! `users`: NeonHub accounts (Prisma model `User`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::enums::UserRole;
use crate::types::Timestamp;

/// A row of `users`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unique (`users_email_key`).
    #[sea_orm(unique)]
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// Role, `USER` by default.
    pub role: UserRole,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// When the e-mail address was verified.
    #[sea_orm(column_name = "emailVerified")]
    pub email_verified: Option<Timestamp>,
    /// Creation time.
    #[sea_orm(column_name = "createdAt")]
    pub created_at: Timestamp,
    /// Last update (Prisma `@updatedAt`; set by the service).
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: Timestamp,
}

/// Relations of `users`.
#[derive(Copy, Clone, Debug, EnumIter)]
pub enum Relation {
    /// Campaigns owned (`campaigns.userId`).
    Campaigns,
    /// Campaigns where the user is the second user (`campaigns.userId2`).
    Campaigns2,
    /// Agent executions run for the user.
    AgentExecutions,
    /// Analytics rows of the user.
    Analytics,
    /// Login sessions.
    Sessions,
    /// OAuth accounts.
    Accounts,
}

impl RelationTrait for Relation {
    fn def(&self) -> RelationDef {
        match self {
            Self::Campaigns => super::campaign::Relation::User.def().rev(),
            Self::Campaigns2 => super::campaign::Relation::User2.def().rev(),
            Self::AgentExecutions => super::agent_execution::Relation::User.def().rev(),
            Self::Analytics => super::analytics::Relation::User.def().rev(),
            Self::Sessions => super::session::Relation::User.def().rev(),
            Self::Accounts => super::account::Relation::User.def().rev(),
        }
    }
}

impl Related<super::campaign::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Campaigns.def()
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

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Accounts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
