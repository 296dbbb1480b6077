//! Indexes for the foreign-key columns that no report index leads with.

use sea_orm_migration::prelude::*;

use crate::indexes::{FOREIGN_KEY_INDEXES, create_indexes, drop_indexes};

/// Creates the foreign-key indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_indexes(manager, FOREIGN_KEY_INDEXES).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_indexes(manager, FOREIGN_KEY_INDEXES).await
    }

    /// `CREATE INDEX CONCURRENTLY` cannot run inside a transaction.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }
}
