//! The database's own floor for each query: one fixed call per query, its
//! exact statements recorded as the service sends them, then timed three
//! ways with the same parameters: through the service (cache bypassed),
//! through raw sqlx on the same pool (the statements bound and sent, rows
//! not decoded), and, on PostgreSQL when `pgbench` is installed, by
//! `pgbench -M prepared` (the statements as a script, one client). The
//! ratios are the service's overhead over each.
//!
//! The same statements, all eight queries with equal weight, are the read
//! mix the throughput phase runs through the service and through pgbench
//! at each client count ([`ReadMix`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder, Value};
use sea_orm::sqlx;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, ExecResult, QueryResult, Statement,
};
use sea_query_sqlx::SqlxValues;
use serde::Serialize;
use service::{NeonDb, QueryName};

use super::BenchError;
use super::calls::{Call, Draw, Pools};
use super::zipf::Rng;

/// p50 and p99 of a run, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Quantiles {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
    /// Samples.
    pub calls: usize,
}

impl Quantiles {
    /// From raw samples (any order).
    pub fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        Self {
            p50_ms: super::latency::nearest_rank_ms(&samples, 0.50),
            p99_ms: super::latency::nearest_rank_ms(&samples, 0.99),
            calls: samples.len(),
        }
    }
}

/// One query's floor.
#[derive(Debug, Clone, Serialize)]
pub struct FloorReport {
    /// Query name (SPEC §8).
    pub name: &'static str,
    /// Statements one call sends.
    pub statements: usize,
    /// Through the service, cache bypassed.
    pub service: Quantiles,
    /// The same statements through raw sqlx.
    pub sqlx: Quantiles,
    /// The same statements by `pgbench -M prepared` (PostgreSQL with
    /// pgbench installed).
    pub pgbench: Option<Quantiles>,
    /// service.p50 / sqlx.p50 (target ≤ 1.15).
    pub service_vs_sqlx: f64,
    /// service.p50 / pgbench.p50 (target ≤ 1.5 median, none over 2).
    pub service_vs_pgbench: Option<f64>,
}

/// The floor phase's report.
#[derive(Debug, Clone, Serialize)]
pub struct Floor {
    /// Per query, in SPEC order.
    pub queries: Vec<FloorReport>,
    /// Median of `service_vs_sqlx` over the queries.
    pub median_vs_sqlx: f64,
    /// Median of `service_vs_pgbench`, when pgbench ran.
    pub median_vs_pgbench: Option<f64>,
    /// Why pgbench did not run, if it did not.
    pub pgbench_skipped: Option<String>,
}

/// A connection that records every statement and sends it on.
struct Recorder<'a> {
    inner: &'a DatabaseConnection,
    seen: Mutex<Vec<Statement>>,
}

impl Recorder<'_> {
    fn record(&self, stmt: &Statement) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stmt.clone());
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Recorder<'_> {
    fn get_database_backend(&self) -> DatabaseBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.record(&stmt);
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.record(&stmt);
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.record(&stmt);
        self.inner.query_all_raw(stmt).await
    }
}

/// One fixed call of each query and the statements it sends.
pub struct ReadMix {
    /// Per query, in SPEC order: the call and its statements.
    pub calls: Vec<(Call, Vec<Statement>)>,
}

impl ReadMix {
    /// Draws one call per query (uniformly, from a fixed seed) and records
    /// its statements.
    ///
    /// # Errors
    /// The database's error.
    pub async fn record(db: &NeonDb, pools: &Pools, seed: u64) -> Result<Self, DbErr> {
        let mut calls = Vec::new();
        for name in QueryName::ALL {
            let mut rng = Rng::new(seed, 500 + name as u64);
            let call = Call::draw(name, pools, &mut rng, Draw::Uniform);
            let recorder = Recorder {
                inner: db.connection(),
                seen: Mutex::new(Vec::new()),
            };
            call.run_on(&recorder).await?;
            let seen = recorder
                .seen
                .into_inner()
                .unwrap_or_else(|p| p.into_inner());
            calls.push((call, seen));
        }
        Ok(Self { calls })
    }
}

/// Sends `statements` through raw sqlx on `conn`'s pool and decodes every
/// column of every row by its type into plain Rust values (strings,
/// numbers, chrono timestamps, `serde_json::Value`, string arrays): the
/// same data the service materializes, without the ORM's machinery.
///
/// # Errors
/// The database's error.
pub async fn run_sqlx(conn: &DatabaseConnection, statements: &[Statement]) -> Result<(), DbErr> {
    let err = |e: sqlx::Error| DbErr::Custom(e.to_string());
    for stmt in statements {
        let values = SqlxValues(stmt.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
        let sql = sqlx::AssertSqlSafe(stmt.sql.clone());
        let decoded = match stmt.db_backend {
            DatabaseBackend::Postgres => {
                let pool = conn.get_postgres_connection_pool();
                let rows = sqlx::query_with(sql, values)
                    .fetch_all(pool)
                    .await
                    .map_err(err)?;
                decode_pg(&rows).map_err(err)?
            }
            _ => {
                let pool = conn.get_sqlite_connection_pool();
                let rows = sqlx::query_with(sql, values)
                    .fetch_all(pool)
                    .await
                    .map_err(err)?;
                decode_sqlite(&rows).map_err(err)?
            }
        };
        std::hint::black_box(decoded);
    }
    Ok(())
}

/// A decoded column value (kept so the decode cannot be optimized away).
#[derive(Debug)]
#[allow(dead_code)] // read through black_box only
enum Decoded {
    Null,
    Text(String),
    Float(f64),
    Int(i64),
    Bool(bool),
    Time(chrono::NaiveDateTime),
    TimeTz(chrono::DateTime<chrono::Utc>),
    Json(serde_json::Value),
    TextList(Vec<String>),
    Bytes(Vec<u8>),
}

fn decode_pg(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<Vec<Decoded>>, sqlx::Error> {
    use sqlx::{Column as _, Row as _, TypeInfo as _};
    fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
        row: &'r sqlx::postgres::PgRow,
        i: usize,
        f: impl FnOnce(T) -> Decoded,
    ) -> Result<Decoded, sqlx::Error> {
        Ok(row.try_get::<Option<T>, _>(i)?.map_or(Decoded::Null, f))
    }
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, col)| match col.type_info().name() {
                    "FLOAT8" => get(row, i, Decoded::Float),
                    "FLOAT4" => get(row, i, |v: f32| Decoded::Float(f64::from(v))),
                    "INT8" => get(row, i, Decoded::Int),
                    "INT4" => get(row, i, |v: i32| Decoded::Int(i64::from(v))),
                    "INT2" => get(row, i, |v: i16| Decoded::Int(i64::from(v))),
                    "BOOL" => get(row, i, Decoded::Bool),
                    "TIMESTAMP" => get(row, i, Decoded::Time),
                    "TIMESTAMPTZ" => get(row, i, Decoded::TimeTz),
                    "JSON" | "JSONB" => get(row, i, Decoded::Json),
                    "TEXT[]" | "VARCHAR[]" => get(row, i, Decoded::TextList),
                    "BYTEA" => get(row, i, Decoded::Bytes),
                    // Text, and enums cast to text.
                    _ => Ok(row
                        .try_get_unchecked::<Option<String>, _>(i)?
                        .map_or(Decoded::Null, Decoded::Text)),
                })
                .collect()
        })
        .collect()
}

fn decode_sqlite(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<Vec<Decoded>>, sqlx::Error> {
    use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};
    rows.iter()
        .map(|row| {
            row.columns()
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    if row.try_get_raw(i)?.is_null() {
                        return Ok(Decoded::Null);
                    }
                    let declared = col.type_info().name().to_ascii_uppercase();
                    let value = row.try_get_raw(i)?;
                    Ok(match value.type_info().name() {
                        "INTEGER" => Decoded::Int(row.try_get(i)?),
                        "REAL" => Decoded::Float(row.try_get(i)?),
                        "BLOB" => Decoded::Bytes(row.try_get(i)?),
                        // JSON columns are JSON text on SQLite.
                        _ if declared.contains("JSON") => {
                            let text: String = row.try_get_unchecked(i)?;
                            Decoded::Json(
                                serde_json::from_str(&text)
                                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                            )
                        }
                        _ => Decoded::Text(row.try_get_unchecked(i)?),
                    })
                })
                .collect()
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        f64::midpoint(xs[n / 2 - 1], xs[n / 2])
    })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Warm-up calls before each timed series.
const WARM_UP: usize = 20;

/// Runs the floor phase: `calls` timed calls per query and way; `pg`:
/// [`Pgbench::find`]'s answer.
///
/// # Errors
/// [`BenchError`] when the database fails; pgbench's own failures are
/// reported in `pgbench_skipped` instead.
pub async fn run(
    db: &NeonDb,
    mix: &ReadMix,
    pg: &Result<Pgbench, String>,
    calls: usize,
) -> Result<Floor, BenchError> {
    let uncached = db.uncached();
    let mut pgbench_skipped = pg.as_ref().err().cloned();
    let mut queries = Vec::new();
    for (call, statements) in &mix.calls {
        for _ in 0..WARM_UP {
            call.run(&uncached).await?;
            run_sqlx(db.connection(), statements).await?;
        }
        let (mut service, mut raw) = (Vec::with_capacity(calls), Vec::with_capacity(calls));
        for i in 0..calls {
            // Alternate which goes first, so drift hits both alike.
            for step in 0..2 {
                let t = Instant::now();
                if (i + step) % 2 == 0 {
                    call.run(&uncached).await?;
                    service.push(t.elapsed());
                } else {
                    run_sqlx(db.connection(), statements).await?;
                    raw.push(t.elapsed());
                }
            }
        }
        let (service, sqlx) = (Quantiles::of(service), Quantiles::of(raw));
        let pgbench = match pg {
            Ok(pg) if pgbench_skipped.is_none() => {
                match pg.latency(call.0.name(), statements, calls).await {
                    Ok(q) => Some(q),
                    Err(why) => {
                        pgbench_skipped = Some(why);
                        None
                    }
                }
            }
            _ => None,
        };
        eprintln!(
            "  {:<32} service p50 {:>8.3} ms   sqlx {:>8.3} ms   pgbench {}",
            call.0.name().as_str(),
            service.p50_ms,
            sqlx.p50_ms,
            pgbench.map_or_else(|| "-".to_owned(), |p| format!("{:.3} ms", p.p50_ms)),
        );
        queries.push(FloorReport {
            name: call.0.name().as_str(),
            statements: statements.len(),
            service_vs_sqlx: ratio(service.p50_ms, sqlx.p50_ms),
            service_vs_pgbench: pgbench.map(|p| ratio(service.p50_ms, p.p50_ms)),
            service,
            sqlx,
            pgbench,
        });
    }
    if pgbench_skipped.is_some() {
        for q in &mut queries {
            q.pgbench = None;
            q.service_vs_pgbench = None;
        }
    }
    Ok(Floor {
        median_vs_sqlx: median(queries.iter().map(|q| q.service_vs_sqlx).collect()).unwrap_or(0.0),
        median_vs_pgbench: median(
            queries
                .iter()
                .filter_map(|q| q.service_vs_pgbench)
                .collect(),
        ),
        pgbench_skipped,
        queries,
    })
}

/// `pgbench` against the handle's PostgreSQL database.
pub struct Pgbench {
    url: String,
    dir: PathBuf,
}

impl Drop for Pgbench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A pgbench run's result.
pub struct PgbenchRun {
    /// Transactions per second (pgbench's own figure, without the initial
    /// connection time).
    pub tps: f64,
    /// Seconds it ran.
    pub seconds: f64,
    /// Per-transaction latencies from its log.
    pub samples: Vec<Duration>,
}

impl Pgbench {
    /// pgbench for `db`, or why there is none.
    ///
    /// # Errors
    /// The reason, as text for the report.
    pub fn find(db: &NeonDb) -> Result<Self, String> {
        if db.backend() != DatabaseBackend::Postgres {
            return Err("pgbench runs on PostgreSQL only".to_owned());
        }
        match std::process::Command::new("pgbench")
            .arg("--version")
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => return Err(format!("pgbench --version failed: {}", out.status)),
            Err(e) => return Err(format!("pgbench is not installed ({e})")),
        }
        let dir = std::env::temp_dir().join(format!(
            "neonhub-pgbench-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self {
            url: db.config().database_url.expose().to_owned(),
            dir,
        })
    }

    /// p50 / p99 of `calls` transactions of `statements`, one client.
    async fn latency(
        &self,
        name: QueryName,
        statements: &[Statement],
        calls: usize,
    ) -> Result<Quantiles, String> {
        let script = Script::of(name.as_str(), statements)?;
        let run = self
            .run(&[script], 1, Limit::Transactions(calls + WARM_UP))
            .await?;
        Ok(Quantiles::of(run.samples))
    }

    /// The read mix (every script, equal weight) with `clients` clients
    /// for `seconds`.
    ///
    /// # Errors
    /// pgbench's failure, as text.
    pub async fn read_mix(
        &self,
        mix: &ReadMix,
        clients: usize,
        seconds: f64,
    ) -> Result<PgbenchRun, String> {
        let scripts = mix
            .calls
            .iter()
            .map(|(call, statements)| Script::of(call.0.name().as_str(), statements))
            .collect::<Result<Vec<_>, _>>()?;
        self.run(&scripts, clients, Limit::Seconds(seconds)).await
    }

    async fn run(
        &self,
        scripts: &[Script],
        clients: usize,
        limit: Limit,
    ) -> Result<PgbenchRun, String> {
        let run_dir = self
            .dir
            .join(format!("run-{}", scripts.len() * 1000 + clients));
        let _ = std::fs::remove_dir_all(&run_dir);
        std::fs::create_dir_all(&run_dir).map_err(|e| format!("{}: {e}", run_dir.display()))?;
        let mut cmd = std::process::Command::new("pgbench");
        cmd.args(["-n", "-M", "prepared", "-l"])
            .arg(format!("--log-prefix={}", run_dir.join("log").display()))
            .arg(format!("--client={clients}"))
            .arg(format!("--jobs={}", clients.min(2)));
        // pgbench counts whole seconds.
        let seconds = match limit {
            Limit::Seconds(s) => s.round().max(1.0),
            Limit::Transactions(_) => 0.0,
        };
        match limit {
            Limit::Transactions(n) => cmd.arg(format!("--transactions={n}")),
            Limit::Seconds(_) => cmd.arg(format!("--time={}", seconds as u64)),
        };
        for (i, script) in scripts.iter().enumerate() {
            let path = run_dir.join(format!("q{i}.sql"));
            std::fs::write(&path, &script.text).map_err(|e| format!("{}: {e}", path.display()))?;
            cmd.arg(format!("--file={}@1", path.display()));
            for (name, value) in &script.vars {
                cmd.arg(format!("--define={name}={value}"));
            }
        }
        cmd.arg(&self.url);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("pgbench: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "pgbench failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            ));
        }
        let tps =
            parse_tps(&stdout).ok_or_else(|| format!("no tps in pgbench's output: {stdout}"))?;
        let mut samples = read_logs(&run_dir)?;
        if matches!(limit, Limit::Transactions(_)) {
            // The log is in order per client: drop the warm-up.
            samples.drain(..WARM_UP.min(samples.len()));
        }
        let _ = std::fs::remove_dir_all(&run_dir);
        let seconds = match limit {
            Limit::Seconds(_) => seconds,
            Limit::Transactions(_) => samples.iter().map(Duration::as_secs_f64).sum(),
        };
        Ok(PgbenchRun {
            tps,
            seconds,
            samples,
        })
    }
}

#[derive(Clone, Copy)]
enum Limit {
    Transactions(usize),
    Seconds(f64),
}

/// `tps = 1234.5 (without initial connection time)`.
fn parse_tps(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find(|l| l.starts_with("tps = ") && l.contains("without initial connection time"))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Per-transaction latencies (µs, the log's third field) from every log
/// file in `dir`, in file order.
fn read_logs(dir: &Path) -> Result<Vec<Duration>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("log."))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        out.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
                .map(Duration::from_micros),
        );
    }
    Ok(out)
}

/// A pgbench script: the statements with `$n` turned into pgbench
/// variables (sent as parameters under `-M prepared`), and the variables'
/// values.
struct Script {
    text: String,
    vars: Vec<(String, String)>,
}

impl Script {
    fn of(prefix: &str, statements: &[Statement]) -> Result<Self, String> {
        let mut text = String::new();
        let mut vars = Vec::new();
        for (s, stmt) in statements.iter().enumerate() {
            let values = stmt.values.as_ref().map(|v| v.0.as_slice()).unwrap_or(&[]);
            let mut names = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                let name = format!("{prefix}_{s}_{}", i + 1);
                match variable_text(v) {
                    Some(value) => {
                        names.push(Some(format!(":{name}")));
                        vars.push((name, value));
                    }
                    // Inlined as a literal (NULL, arrays): no variable.
                    None => names.push(Some(PostgresQueryBuilder.value_to_string(v))),
                }
            }
            let sql = substitute(&stmt.sql, &names)?;
            let _ = writeln!(text, "{sql};");
        }
        Ok(Self { text, vars })
    }
}

/// The text a pgbench variable carries for `v` (the server parses it as
/// the parameter's inferred type), or `None` to inline the literal.
fn variable_text(v: &Value) -> Option<String> {
    let literal = PostgresQueryBuilder.value_to_string(v);
    if literal == "NULL" || literal.starts_with("ARRAY") || literal.starts_with("E'") {
        return None;
    }
    match literal
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
    {
        Some(inner) => Some(inner.replace("''", "'")),
        None => Some(literal),
    }
}

/// Replaces `$1`, `$2`, … outside quoted text and identifiers with `names`.
fn substitute(sql: &str, names: &[Option<String>]) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    chars.next();
                }
                let i: usize = n.parse().map_err(|_| format!("bad parameter ${n}"))?;
                let name = names
                    .get(i.wrapping_sub(1))
                    .and_then(Option::as_ref)
                    .ok_or_else(|| format!("statement has ${i} but {} values", names.len()))?;
                out.push_str(name);
            }
            None => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_become_variables_outside_quotes() {
        let names = [Some(":a".to_owned()), Some("NULL".to_owned())];
        assert_eq!(
            substitute(
                r#"SELECT "x$1", '$1' FROM t WHERE a = $1 AND b IS $2"#,
                &names
            )
            .unwrap(),
            r#"SELECT "x$1", '$1' FROM t WHERE a = :a AND b IS NULL"#
        );
        assert!(substitute("SELECT $3", &names).is_err());
    }

    #[test]
    fn variable_text_unquotes_strings() {
        assert_eq!(
            variable_text(&Value::from("plain text")).as_deref(),
            Some("plain text")
        );
        // Quotes make an escape string (E'...'): inlined as a literal.
        assert_eq!(variable_text(&Value::from("it's")), None);
        assert_eq!(variable_text(&Value::from(42i64)).as_deref(), Some("42"));
        assert_eq!(variable_text(&Value::String(None)), None);
    }

    #[test]
    fn reads_pgbench_tps_and_logs() {
        let out = "latency average = 0.3 ms\ntps = 3210.5 (without initial connection time)\n";
        assert_eq!(parse_tps(out), Some(3210.5));
        assert_eq!(parse_tps("tps = x"), None);
        let dir = std::env::temp_dir().join(format!("floor-logs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("log.1"),
            "0 0 250 0 1700000000 1\n0 1 300 0 1700000000 2\n",
        )
        .unwrap();
        std::fs::write(dir.join("log.1.1"), "1 0 400 0 1700000000 3\n").unwrap();
        std::fs::write(dir.join("other"), "9 9 9999 0 0 0\n").unwrap();
        let got = read_logs(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, [250, 300, 400].map(Duration::from_micros));
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
