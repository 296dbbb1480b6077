//! `neonhub-db`: migrate the NeonHub database.
//!
//! The database is `--database-url`, else `DATABASE_URL`, else the SQLite
//! file `neonhub.db` in the working directory.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use service::{Config, NeonDb};

use cli::migrate;

/// NeonHub's data layer from the command line.
#[derive(Parser)]
#[command(name = "neonhub-db", version, about)]
struct Cli {
    /// Database URL (postgres://... or sqlite://FILE?mode=rwc).
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = service::config::DEFAULT_DATABASE_URL,
        hide_env_values = true
    )]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply or roll back schema migrations.
    Migrate {
        #[command(subcommand)]
        action: migrate::Action,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_lookup(|key| match key {
        "DATABASE_URL" => Some(cli.database_url.clone()),
        other => std::env::var(other).ok(),
    })?;
    let url = config.database_url.clone();
    let db = NeonDb::connect(config)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    match cli.command {
        Command::Migrate { action } => migrate::run(&db, action).await?,
    }
    Ok(())
}
