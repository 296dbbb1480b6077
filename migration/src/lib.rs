//! Migrations for the NeonHub schema.
//!
//! 1. [`m20261125_000001_create_schema`]: the Prisma model's enum types,
//!    tables, unique keys and foreign keys, exactly as Prisma creates them
//!    (and a no-op on a database Prisma already created).
//! 2. [`m20261125_000002_report_indexes`]: the 33 indexes of the
//!    performance report.
//! 3. [`m20261125_000003_foreign_key_indexes`]: indexes for the foreign-key
//!    columns no other index leads with.
//!
//! The index migrations build `CONCURRENTLY` on PostgreSQL, outside a
//! transaction, and repair indexes an interrupted build left INVALID; see
//! [`indexes`]. Every migration has a working `down`.

pub use sea_orm_migration::prelude::*;

pub mod indexes;
pub mod m20261125_000001_create_schema;
pub mod m20261125_000002_report_indexes;
pub mod m20261125_000003_foreign_key_indexes;
pub mod schema;

/// The ordered list of NeonHub migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_schema::Migration),
            Box::new(m20261125_000002_report_indexes::Migration),
            Box::new(m20261125_000003_foreign_key_indexes::Migration),
        ]
    }
}
