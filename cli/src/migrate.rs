//! `neonhub-db migrate up|down|status|fresh`.

use clap::Subcommand;
use migration::Migrator;
use sea_orm_migration::{MigrationStatus, MigratorTrait};
use service::NeonDb;

/// What to do with the migrations.
#[derive(Subcommand)]
pub enum Action {
    /// Apply pending migrations (all, or the next N).
    Up {
        /// How many to apply.
        #[arg(short, long)]
        num: Option<u32>,
    },
    /// Roll back applied migrations (the last one, or the last N).
    Down {
        /// How many to roll back.
        #[arg(short, long, default_value_t = 1)]
        num: u32,
    },
    /// List every migration and whether it is applied.
    Status,
    /// Drop every table and apply all migrations from scratch.
    Fresh,
}

/// Runs `action` and prints what it did.
///
/// # Errors
/// The migration's error.
pub async fn run(db: &NeonDb, action: Action) -> Result<(), sea_orm::DbErr> {
    let conn = db.connection();
    match action {
        Action::Up { num } => {
            let pending = Migrator::get_pending_migrations(conn).await?;
            let count = num.map_or(pending.len(), |n| pending.len().min(n as usize));
            Migrator::up(conn, num).await?;
            println!("applied {count} migration(s)");
            for m in pending.iter().take(count) {
                println!("  {}", m.name());
            }
            // An index can go INVALID after its migration was applied:
            // nothing is pending then, so check them every time.
            let rebuilt = migration::repair_indexes(conn).await?;
            if !rebuilt.is_empty() {
                println!(
                    "rebuilt {} index(es) that were missing or INVALID",
                    rebuilt.len()
                );
                for name in rebuilt {
                    println!("  {name}");
                }
            }
        }
        Action::Down { num } => {
            let applied = Migrator::get_applied_migrations(conn).await?;
            let count = applied.len().min(num as usize);
            Migrator::down(conn, Some(num)).await?;
            println!("rolled back {count} migration(s)");
            for m in applied.iter().rev().take(count) {
                println!("  {}", m.name());
            }
        }
        Action::Status => {
            for m in Migrator::get_migration_with_status(conn).await? {
                let status = match m.status() {
                    MigrationStatus::Applied => "applied",
                    MigrationStatus::Pending => "pending",
                };
                println!("{status:8} {}", m.name());
            }
        }
        Action::Fresh => {
            if db.backend() == sea_orm::DatabaseBackend::Sqlite {
                // sea-orm-migration turns SQLite's foreign keys off on one
                // connection and drops tables on whichever it gets: use one.
                let mut options =
                    sea_orm::ConnectOptions::new(db.config().database_url.expose().to_owned());
                options
                    .max_connections(1)
                    .min_connections(1)
                    .sqlx_logging(false);
                let single = sea_orm::Database::connect(options).await?;
                Migrator::fresh(&single).await?;
                single.close().await?;
            } else {
                Migrator::fresh(conn).await?;
            }
            println!(
                "dropped everything and applied {} migration(s)",
                Migrator::migrations().len()
            );
        }
    }
    Ok(())
}
