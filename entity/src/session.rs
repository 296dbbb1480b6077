//! `sessions`: login sessions (Prisma model `Session`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

/// A row of `sessions`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unique (`sessions_sessionToken_key`).
    #[sea_orm(column_name = "sessionToken", unique)]
    pub session_token: String,
    /// Owner; deleting the user deletes the session.
    #[sea_orm(column_name = "userId")]
    pub user_id: String,
    /// Expiry.
    pub expires: Timestamp,
}

/// Relations of `sessions`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning user (`sessions_userId_fkey`, ON DELETE CASCADE).
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
