//! `verification_tokens`: e-mail verification tokens (Prisma model
//! `VerificationToken`).
//!
//! The Prisma model has no `@id`, so the table has no primary key; it has
//! the unique keys `verification_tokens_token_key` and
//! `verification_tokens_identifier_token_key`. SeaORM needs a primary key,
//! so the entity uses `token`, which is unique on its own.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use crate::types::Timestamp;

/// A row of `verification_tokens`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "verification_tokens")]
pub struct Model {
    /// Who the token verifies (usually an e-mail address).
    pub identifier: String,
    /// The token; unique.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token: String,
    /// Expiry.
    pub expires: Timestamp,
}

/// `verification_tokens` has no relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
