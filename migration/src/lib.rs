//! Migrations for the NeonHub schema.
//!
//! 1. [`m20261125_000001_create_schema`]: the Prisma model's enum types,
//!    tables, unique keys and foreign keys, exactly as Prisma creates them
//!    (and a no-op on a database Prisma already created).
//! 2. [`m20261125_000002_report_indexes`]: the 33 indexes of the
//!    performance report.
//! 3. [`m20261125_000003_foreign_key_indexes`]: indexes for the foreign-key
//!    columns no other index leads with.
//! 4. [`m20261202_000001_change_feed`]: the publication the service's
//!    change feed decodes, and the replica identities it needs.
//! 5. [`m20261202_000002_covering_indexes`]: two indexes beyond the
//!    report's that the benchmark shows pay for their write cost.
//!
//! The index migrations build `CONCURRENTLY` on PostgreSQL, outside a
//! transaction, and repair indexes an interrupted build left INVALID; see
//! [`indexes`]. Every migration has a working `down`.
//!
//! An index can also go INVALID *after* its migration was applied (a
//! failed `REINDEX CONCURRENTLY`, an operator's interrupted rebuild); no
//! migration is pending then, so SeaORM's `up` would do nothing.
//! [`repair_indexes`] re-checks the indexes of every applied index
//! migration and rebuilds what is missing or INVALID; both `migrate up`
//! commands (`neonhub-db migrate up` and this crate's binary, which
//! `sea-orm-cli migrate up` runs) call it after applying what is pending.

pub use sea_orm_migration::prelude::*;

pub mod indexes;
pub mod m20261125_000001_create_schema;
pub mod m20261125_000002_report_indexes;
pub mod m20261125_000003_foreign_key_indexes;
pub mod m20261202_000001_change_feed;
pub mod m20261202_000002_covering_indexes;
pub mod schema;

/// Every index migration by name, with the indexes it owns.
pub fn index_migrations() -> [(&'static str, &'static [indexes::IndexDef]); 3] {
    [
        (
            m20261125_000002_report_indexes::Migration.name(),
            indexes::REPORT_INDEXES,
        ),
        (
            m20261125_000003_foreign_key_indexes::Migration.name(),
            indexes::FOREIGN_KEY_INDEXES,
        ),
        (
            m20261202_000002_covering_indexes::Migration.name(),
            indexes::COVERING_INDEXES,
        ),
    ]
}

/// Rebuilds (concurrently on PostgreSQL) every index of an *applied*
/// index migration that is missing, INVALID or defined differently, and
/// returns their names; an empty list when all are as defined. Indexes of
/// migrations not yet applied are left to `up`.
///
/// # Errors
/// A database error, or an index that cannot be built (its message says
/// why; a failed build leaves an INVALID index that the next call
/// rebuilds).
pub async fn repair_indexes(
    db: &sea_orm_migration::sea_orm::DatabaseConnection,
) -> Result<Vec<&'static str>, DbErr> {
    let applied: Vec<String> = Migrator::get_applied_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let defs: Vec<indexes::IndexDef> = index_migrations()
        .into_iter()
        .filter(|(name, _)| applied.iter().any(|a| a == name))
        .flat_map(|(_, defs)| defs.iter().copied())
        .collect();
    if defs.is_empty() {
        return Ok(Vec::new());
    }
    indexes::ensure_indexes(&SchemaManager::new(db), &defs).await
}

/// The ordered list of NeonHub migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_schema::Migration),
            Box::new(m20261125_000002_report_indexes::Migration),
            Box::new(m20261125_000003_foreign_key_indexes::Migration),
            Box::new(m20261202_000001_change_feed::Migration),
            Box::new(m20261202_000002_covering_indexes::Migration),
        ]
    }
}
