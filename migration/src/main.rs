//! `cargo run -p migration -- up|down|status|fresh|reset|refresh` (and
//! `sea-orm-cli migrate ... -d migration`).
//!
//! The same flags as SeaORM's generated migration binary, with two
//! differences: `DATABASE_URL` defaults to the SQLite file
//! `sqlite://neonhub.db?mode=rwc`, and a connection failure prints a clear
//! error and exits 1 instead of panicking.

use std::process::ExitCode;

use clap::Parser;
use migration::Migrator;
use sea_orm_cli::MigrateSubcommands;
use sea_orm_migration::cli::run_migrate;
use sea_orm_migration::sea_orm::{ConnectOptions, Database, DbErr};

/// NeonHub schema migrations.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Show debug messages.
    #[arg(short = 'v', long, global = true)]
    verbose: bool,

    /// PostgreSQL schema (ignored on SQLite).
    #[arg(short = 's', long, global = true, env = "DATABASE_SCHEMA")]
    database_schema: Option<String>,

    /// Database URL.
    #[arg(
        short = 'u',
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://neonhub.db?mode=rwc",
        hide_env_values = true
    )]
    database_url: String,

    #[command(subcommand)]
    command: Option<MigrateSubcommands>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut options = ConnectOptions::new(cli.database_url.clone());
    if let Some(schema) = &cli.database_schema {
        options.set_schema_search_path(schema.clone());
    }
    options.sqlx_logging(cli.verbose);
    let db = match Database::connect(options).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!(
                "error: cannot connect to the database at {}: {e}",
                redact(&cli.database_url)
            );
            eprintln!(
                "hint: set DATABASE_URL (or -u); for PostgreSQL check the server is running."
            );
            return ExitCode::FAILURE;
        }
    };
    // `up` (also the default command) then re-checks the applied index
    // migrations' indexes: one can go INVALID after it was applied.
    let repair = matches!(cli.command, None | Some(MigrateSubcommands::Up { .. }));
    let result = match run_migrate(Migrator, &db, cli.command, cli.verbose).await {
        Ok(()) if repair => migration::repair_indexes(&db).await.map(|rebuilt| {
            for name in rebuilt {
                println!("Rebuilt index {name} (it was missing or INVALID)");
            }
        }),
        other => other.map_err(|e| DbErr::Custom(e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The URL with any password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
