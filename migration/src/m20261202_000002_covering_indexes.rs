//! Covering indexes beyond the report's, each with a measured reason
//! ([`crate::indexes::COVERING_INDEXES`], README "Extra indexes").

use sea_orm_migration::prelude::*;

use crate::indexes::{COVERING_INDEXES, create_indexes, drop_indexes};

/// Creates the covering indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, COVERING_INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, COVERING_INDEXES).await
    }

    /// `CREATE INDEX CONCURRENTLY` cannot run inside a transaction.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }
}
