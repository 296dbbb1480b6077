//! `accounts`: OAuth provider accounts of a user (Prisma model `Account`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `accounts`. `(provider, providerAccountId)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// cuid primary key.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owner; deleting the user deletes the account.
    #[sea_orm(column_name = "userId")]
    pub user_id: String,
    /// Account type.
    #[sea_orm(column_name = "type")]
    pub r#type: String,
    /// OAuth provider.
    pub provider: String,
    /// The provider's id for the account.
    #[sea_orm(column_name = "providerAccountId")]
    pub provider_account_id: String,
    /// OAuth refresh token.
    #[sea_orm(column_type = "Text")]
    pub refresh_token: Option<String>,
    /// OAuth access token.
    #[sea_orm(column_type = "Text")]
    pub access_token: Option<String>,
    /// Expiry (seconds since the epoch).
    pub expires_at: Option<i32>,
    /// Token type.
    pub token_type: Option<String>,
    /// Granted scope.
    pub scope: Option<String>,
    /// OpenID Connect id token.
    #[sea_orm(column_type = "Text")]
    pub id_token: Option<String>,
    /// Provider session state.
    pub session_state: Option<String>,
}

/// Relations of `accounts`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning user (`accounts_userId_fkey`, ON DELETE CASCADE).
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
