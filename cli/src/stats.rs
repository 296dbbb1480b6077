//! `neonhub-db stats`: runs the dashboard mix of SPEC §9 for a while on the
//! database and prints the monitoring snapshot of SPEC §6 (statements per
//! operation with p50 / p95 / p99, calls per query and cache outcome, cache
//! statistics, the slowest statements).

use std::sync::Arc;

use service::NeonDb;
use service::metrics::MetricsSnapshot;

use crate::bench::calls::Pools;
use crate::bench::workload::{Step, apply, draw_step};
use crate::bench::zipf::Rng;

/// Runs `calls` calls of the mix (5% writes) and returns the snapshot.
///
/// # Errors
/// A call's error, or an empty database.
pub async fn run(
    db: &NeonDb,
    calls: u64,
    seed: u64,
) -> Result<MetricsSnapshot, Box<dyn std::error::Error + Send + Sync>> {
    let pools = Arc::new(Pools::load(db).await?);
    if !pools.is_usable() {
        return Err("the database has no data; run `neonhub-db seed` first".into());
    }
    let mut rng = Rng::new(seed, 55);
    let mut running = Vec::new();
    for _ in 0..calls {
        match draw_step(&pools, &mut rng, 0.05) {
            Step::Read(call) => drop(call.run(db).await?),
            Step::Write(w) => apply(db, &w, &mut running).await?,
        }
    }
    Ok(db.metrics_snapshot())
}

/// The snapshot as a table.
pub fn render(s: &MetricsSnapshot) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "statements {} (errors {}, slow ≥ {} ms: {})",
        s.statements_total, s.statement_errors, s.slow_threshold_ms, s.slow_statements
    );
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "operation", "count", "errors", "mean ms", "p50 ms", "p95 ms", "p99 ms"
    );
    for o in &s.operations {
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>7} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            o.operation, o.count, o.errors, o.mean_ms, o.p50_ms, o.p95_ms, o.p99_ms
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<31} {:>7} {:>7} {:>7} {:>7} {:>7} {:>12} {:>12}",
        "query", "calls", "hits", "misses", "coal.", "errors", "miss p50 ms", "hit p50 ms"
    );
    for q in &s.queries {
        let _ = writeln!(
            out,
            "{:<31} {:>7} {:>7} {:>7} {:>7} {:>7} {:>12.3} {:>12.4}",
            q.query, q.calls, q.hits, q.misses, q.coalesced, q.errors, q.miss_p50_ms, q.hit_p50_ms
        );
    }
    let c = &s.cache;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "cache: hit rate {:.3}, {} entries, {} / {} bytes, {} invalidations, {} expirations",
        c.hit_rate, c.entries, c.weight, c.capacity, c.invalidations, c.expirations
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "slowest statements (max ms, count, SQL):");
    for st in &s.slowest {
        let _ = writeln!(out, "{:>10.3} {:>7}  {}", st.max_ms, st.count, st.sql);
    }
    out
}
