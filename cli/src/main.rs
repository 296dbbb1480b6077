//! `neonhub-db`: migrate, seed, benchmark and explain the NeonHub database.
//!
//! The database is `--database-url`, else `DATABASE_URL`, else the SQLite
//! file `neonhub.db` in the working directory. Every other setting comes
//! from the `NEONHUB_*` variables documented in `service::config`. Logs go
//! to stderr at WARN (`RUST_LOG` overrides); slow-statement warnings are
//! off by default here, since the benchmark is slow on purpose.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use cli::{bench, check, compare, explain, indexes, migrate, seed, stats};
use service::{Config, NeonDb};

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

/// Prometheus output of a long-running command.
#[derive(Args, Clone, Default)]
struct MetricsArgs {
    /// Serve Prometheus metrics on this address while running.
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Write the final Prometheus exposition to this file.
    #[arg(long)]
    metrics_out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply or roll back schema migrations.
    Migrate {
        #[command(subcommand)]
        action: migrate::Action,
    },
    /// Fill an empty database with deterministic, realistic data.
    Seed {
        #[command(flatten)]
        args: seed::SeedArgs,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Measure every query without indexes, with indexes and from the cache,
    /// the dashboard workload, throughput and coalescing (seeds an empty
    /// database first).
    Bench {
        #[command(flatten)]
        args: bench::BenchArgs,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
    /// Show each query's plan and the index it uses; exit 1 if one misses.
    Explain {
        /// Also write the plans as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Compare the live schema with the migrations' (tables, columns, types,
    /// defaults, enums, keys, indexes); exit 0 clean, 1 drift, 2 when it
    /// cannot connect or read the catalogue.
    Check {
        /// Also write the differences as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Every index's table, columns, size, scans, validity, unused and
    /// redundant flags, and the foreign keys no index leads; exit 0
    /// healthy, 1 when an index is INVALID, differs from its migration or
    /// is missing, 2 when it cannot connect or read the catalogue.
    Indexes {
        /// Rebuild the migrations' INVALID, differing or missing indexes
        /// (concurrently on PostgreSQL; REINDEX of inconsistent ones on
        /// SQLite) before reporting. Never drops an index it does not own.
        #[arg(long)]
        repair: bool,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Compare two saved bench runs per query and mode (bootstrap interval
    /// of the p50 ratio); exit 3 when one is slower beyond the noise and
    /// `--fail-over`, 2 when they cannot be compared. Needs no database.
    Compare {
        /// The baseline run (`bench --json`).
        baseline: PathBuf,
        /// The run to judge.
        other: PathBuf,
        /// The p50 ratio over which a slower query fails.
        #[arg(long, default_value_t = compare::DEFAULT_FAIL_OVER)]
        fail_over: f64,
        /// Also write the comparison as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run the dashboard mix for a while and print the monitoring snapshot.
    Stats {
        /// Calls to make.
        #[arg(long, default_value_t = 2000)]
        calls: u64,
        /// Also write the snapshot as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        #[command(flatten)]
        metrics: MetricsArgs,
    },
}

/// mimalloc, not glibc's malloc: a profile of the benchmark's uncached
/// read mix at 16 clients (`perf record -a`, issue 10) had glibc's
/// allocator at about a third of this process's CPU (`_int_malloc`,
/// `malloc_consolidate`, and arena locks contended between the runtime's
/// threads). Applications choose their own allocator; the README gives the
/// measured difference.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Slow-statement warnings are for services; the benchmark
                // runs slow statements on purpose (RUST_LOG overrides).
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,neonhub::slow_statement=off")
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &PathBuf, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn write_metrics(db: &NeonDb, metrics: &MetricsArgs) -> Result<(), String> {
    if let Some(path) = &metrics.metrics_out {
        let text = db
            .render_metrics()
            .ok_or("no Prometheus recorder is installed")?;
        write(path, &text)?;
    }
    Ok(())
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `bench`'s `--compare` and `--html`: exit 3 on a regression, 2 when
/// the baseline cannot be compared or a file cannot be written.
fn after_bench(report: &bench::BenchReport, args: &bench::BenchArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let json = match serde_json::to_value(report) {
        Ok(json) => json,
        Err(e) => return fail(&e),
    };
    let this = match compare::Run::from_json(&json, "this run") {
        Ok(run) => run,
        Err(e) => return fail(&e),
    };
    let baseline = match &args.compare {
        Some(path) => match compare::Run::load(path).and_then(|base| {
            let c = compare::compare(&base, &this)?;
            Ok((base, c))
        }) {
            Ok(pair) => Some(pair),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let code = match &baseline {
        Some((_, c)) => {
            println!();
            judge(c, args.fail_over, None)
        }
        None => ExitCode::SUCCESS,
    };
    if let Some(path) = &args.html {
        let history = match &args.history {
            Some(dir) => compare::load_history(dir, &this),
            None => vec![this.clone()],
        };
        let page = cli::html::Page {
            report: &json,
            run: &this,
            baseline: baseline.as_ref().map(|(b, c)| (b, c)),
            history: &history,
        };
        match cli::html::render(&page) {
            Ok(text) => {
                if let Err(e) = write(path, &text) {
                    return fail(&e);
                }
                eprintln!("wrote {}", path.display());
            }
            Err(e) => return fail(&e),
        }
    }
    code
}

/// The operator commands' `--json FILE`: exit 2 when it cannot be
/// written (1 stays the command's own verdict).
fn write_json<T: serde::Serialize>(path: Option<&PathBuf>, value: &T) -> Result<(), ExitCode> {
    let Some(path) = path else { return Ok(()) };
    serde_json::to_string_pretty(value)
        .map_err(|e| e.to_string())
        .and_then(|text| write(path, &text))
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })
}

/// Prints a comparison; exit 3 if a query regressed beyond `fail_over`.
fn judge(c: &compare::Comparison, fail_over: f64, json: Option<&PathBuf>) -> ExitCode {
    println!("{c}");
    if let Err(code) = write_json(json, c) {
        return code;
    }
    let regressions: Vec<_> = c.regressions(fail_over).collect();
    if regressions.is_empty() {
        return ExitCode::SUCCESS;
    }
    for r in &regressions {
        eprintln!(
            "regression: {} {} p50 {:.3}x slower (95% CI {:.3}..{:.3}, over --fail-over {fail_over})",
            r.query, r.mode, r.p50_ratio, r.ci_low, r.ci_high
        );
    }
    ExitCode::from(3)
}

async fn run(cli: Cli) -> Result<ExitCode, BoxError> {
    let mut config = Config::from_lookup(|key| match key {
        "DATABASE_URL" => Some(cli.database_url.clone()),
        other => std::env::var(other).ok(),
    })?;
    let metrics = match &cli.command {
        Command::Seed { metrics, .. }
        | Command::Bench { metrics, .. }
        | Command::Stats { metrics, .. } => metrics.clone(),
        _ => MetricsArgs::default(),
    };
    if let Some(addr) = metrics.metrics_addr {
        config.metrics_addr = Some(addr);
        eprintln!("serving Prometheus metrics on http://{addr}/metrics");
    }
    if let Command::Compare {
        baseline,
        other,
        fail_over,
        json,
    } = &cli.command
    {
        let runs = compare::Run::load(baseline).and_then(|a| Ok((a, compare::Run::load(other)?)));
        let comparison = match runs.and_then(|(a, b)| compare::compare(&a, &b)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        };
        return Ok(judge(&comparison, *fail_over, json.as_ref()));
    }
    let url = config.database_url.clone();
    // The operator's commands read the catalogue: exit 2 when they cannot.
    let is_operator = matches!(cli.command, Command::Check { .. } | Command::Indexes { .. });
    if is_operator {
        // Reads the catalogue only: no change feed slot for it.
        config.change_feed = service::config::FeedMode::Off;
    }
    let db = match NeonDb::connect(config).await {
        Ok(db) => db,
        Err(e) if is_operator => {
            eprintln!("error: cannot connect to {url}: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(format!("cannot connect to {url}: {e}").into()),
    };
    match cli.command {
        Command::Migrate { action } => migrate::run(&db, action).await?,
        Command::Seed { args, .. } => {
            let report = seed::run(&db, &args, true).await?;
            println!("{report}");
            write_metrics(&db, &metrics)?;
        }
        Command::Bench { args, .. } => {
            let control = bench::Control::default();
            let on_signal = control.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "\ninterrupted: rebuilding indexes before stopping (Ctrl-C again does not skip this)"
                    );
                    on_signal.interrupt();
                }
            });
            let result = bench::run(&db, &args, &control).await;
            write_metrics(&db, &metrics)?;
            match result {
                Ok(report) => {
                    println!("{report}");
                    if let Some(path) = &args.json {
                        eprintln!("wrote {}", path.display());
                    }
                    return Ok(after_bench(&report, &args));
                }
                Err(bench::BenchError::Interrupted) => {
                    eprintln!("error: {}", bench::BenchError::Interrupted);
                    return Ok(ExitCode::from(130));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Explain { json } => {
            let report = explain::run(&db).await?;
            print!("{report}");
            if let Some(path) = &json {
                write(path, &serde_json::to_string_pretty(&report)?)?;
            }
            if !report.all_use_expected() {
                eprintln!("error: at least one query does not use its index");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Check { json } => {
            // Exit 2 whenever the check itself could not be done, so that
            // 1 always means drift.
            let report = match check::run(db.connection()).await {
                Ok(report) => report,
                Err(e) => {
                    eprintln!("error: cannot read the schema: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            print!("{report}");
            if let Err(code) = write_json(json.as_ref(), &report) {
                return Ok(code);
            }
            if !report.is_clean() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Indexes { repair, json } => {
            let report = match indexes::run(db.connection(), repair).await {
                Ok(report) => report,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            print!("{report}");
            if let Err(code) = write_json(json.as_ref(), &report) {
                return Ok(code);
            }
            if !report.is_healthy() {
                return Ok(ExitCode::from(1));
            }
        }
        // Handled (and returned) before connecting.
        Command::Compare { .. } => {}
        Command::Stats { calls, json, .. } => {
            let snapshot = stats::run(&db, calls, 42).await?;
            print!("{}", stats::render(&snapshot));
            if let Some(path) = &json {
                write(path, &serde_json::to_string_pretty(&snapshot)?)?;
            }
            write_metrics(&db, &metrics)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
