//! `neonhub-db bench`, `explain` and `stats` on both backends: every field
//! of SPEC §8's JSON, indexes back after an interrupted or killed run, and
//! every query on its index.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use api_tests::catalog;
use api_tests::{TestDb, both_backends};
use cli::bench::{self, BenchArgs, BenchError, Control};
use migration::indexes::all_secondary_indexes;
use sea_orm::ConnectionTrait;

fn quick() -> BenchArgs {
    BenchArgs {
        calls: 20,
        workload_calls: 600,
        concurrency_seconds: 0.2,
        floor_calls: 30,
        ..BenchArgs::default()
    }
}

async fn all_indexes_present(db: &TestDb) {
    let indexes = catalog::indexes(&db.conn).await;
    for def in all_secondary_indexes() {
        assert!(
            indexes.get(def.name).is_some_and(|i| i.valid),
            "index {} missing",
            def.name
        );
    }
}

both_backends! {
    async fn bench_json_has_every_spec_field(db) {
        let neon = db.service().await;
        let path = std::env::temp_dir().join(format!("bench-{}.json", db.url.len() ^ std::process::id() as usize));
        let args = BenchArgs { json: Some(path.clone()), ..quick() };
        let report = bench::run(&neon, &args, &Control::default()).await.unwrap();
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        let expected_backend = if db.backend == api_tests::Backend::Postgres { "postgres" } else { "sqlite" };
        assert_eq!(json["backend"], expected_backend);
        assert_eq!(json["scale"], "tiny");
        let queries = json["queries"].as_array().unwrap();
        let names: Vec<&str> = queries.iter().map(|q| q["name"].as_str().unwrap()).collect();
        assert_eq!(names, service::QueryName::ALL.map(|q| q.as_str()));
        for q in queries {
            for mode in ["no_index", "indexed", "cached"] {
                for field in ["p50_ms", "p95_ms"] {
                    let v = q[mode][field].as_f64().unwrap_or_else(|| panic!("{mode}.{field} of {}", q["name"]));
                    assert!(v > 0.0, "{mode}.{field} of {} is {v}", q["name"]);
                }
                assert!(q[mode]["p50_ms"].as_f64() <= q[mode]["p95_ms"].as_f64());
            }
            assert!(q["index_speedup"].as_f64().unwrap() > 0.0);
            assert!(q["cache_speedup"].as_f64().unwrap() > 1.0, "a hit is faster than a query: {}", q["name"]);
        }
        let w = &json["workload"];
        for field in ["calls", "write_fraction", "hit_rate", "oracle_hit_rate", "hit_efficiency", "statements_saved", "stale_reads"] {
            assert!(w[field].is_number(), "workload.{field}");
        }
        assert_eq!(w["calls"], 600);
        assert_eq!(w["write_fraction"], 0.05);
        assert_eq!(w["stale_reads"], 0, "no stale read");
        assert!(w["hit_rate"].as_f64().unwrap() <= w["oracle_hit_rate"].as_f64().unwrap() + 1e-9);
        // The report's KPIs: every read's shadow, every miss and every
        // write reached the database; nothing failed.
        let wr = &report.workload;
        assert!(wr.uncached_calls >= wr.reads + wr.writes, "{} uncached calls", wr.uncached_calls);
        assert!(wr.uncached_calls < 2 * wr.reads + wr.writes || wr.hit_rate == 0.0);
        assert!((0.0..=1.0).contains(&wr.uncached_under_100ms) && wr.uncached_under_100ms > 0.0);
        assert_eq!((wr.errors, wr.timeouts), (0, 0));
        assert_eq!((w["error_rate"].as_f64(), w["timeout_rate"].as_f64()), (Some(0.0), Some(0.0)));
        // The covering indexes' write cost, per table, with both sides.
        let costs: Vec<&str> = report.index_write_cost.iter().map(|c| c.table).collect();
        assert_eq!(costs, ["agent_executions", "leads"]);
        for c in &report.index_write_cost {
            assert_eq!(c.with_index.calls, 600);
            assert_eq!(c.without_index.calls, 300);
            assert!(c.p50_ratio > 0.0);
        }
        let clients: Vec<u64> = json["concurrency"].as_array().unwrap().iter().map(|c| {
            assert!(c["calls_per_s"].as_f64().unwrap() > 0.0);
            c["clients"].as_u64().unwrap()
        }).collect();
        assert_eq!(clients, [1, 4, 16, 64]);
        // The throughput phase: every series at every level, and the ratios.
        let sc = &report.scaling;
        let pg = db.backend == api_tests::Backend::Postgres;
        for (name, series) in [("cache_on", &sc.cache_on), ("cache_off", &sc.cache_off), ("read_mix", &sc.read_mix), ("hits", &sc.hits)] {
            assert_eq!(series.iter().map(|t| t.clients).collect::<Vec<_>>(), [1, 4, 16, 64], "{name}");
            for t in series {
                assert!(t.calls_per_s > 0.0 && t.p50_ms <= t.p99_ms, "{name} at {}: {t:?}", t.clients);
            }
        }
        assert!(sc.cache_on_vs_off_16 > 0.0);
        // pgbench runs on PostgreSQL (CI installs it with the server).
        assert_eq!(sc.pgbench.len(), if pg { 4 } else { 0 }, "{:?}", sc.pgbench_skipped);
        assert_eq!(sc.read_mix_vs_pgbench_16.is_some(), pg);
        assert!(sc.shape.iter().all(|s| s.at_64_vs_peak > 0.0 && s.at_64_vs_peak <= 1.0));
        assert_eq!(json["scaling"]["shape"].as_array().unwrap().len(), if pg { 5 } else { 4 });
        // The floor: every query, the same statements three ways.
        let floor = &report.floor;
        let names: Vec<&str> = floor.queries.iter().map(|q| q.name).collect();
        assert_eq!(names, service::QueryName::ALL.map(|q| q.as_str()));
        for q in &floor.queries {
            assert_eq!((q.service.calls, q.sqlx.calls), (30, 30), "{}", q.name);
            assert!(q.service_vs_sqlx > 0.0, "{}", q.name);
            let two = ["campaigns_by_user_and_status", "agent_performance"].contains(&q.name);
            assert_eq!(q.statements, if two { 2 } else { 1 }, "{}", q.name);
            assert_eq!(q.pgbench.map(|p| p.calls), pg.then_some(30), "{}: {:?}", q.name, floor.pgbench_skipped);
        }
        assert_eq!(floor.median_vs_pgbench.is_some(), pg);
        // One write's invalidation among 100,000 entries removes exactly
        // the two it affects.
        assert_eq!(report.invalidation.entries, 100_000);
        assert_eq!(report.invalidation.removed_per_write, 2.0);
        assert!(report.invalidation.invalidation.p50_ms > 0.0 && report.invalidation.hit.p50_ms > 0.0);
        assert_eq!(json["coalescing"]["concurrent_misses"], 64);
        assert_eq!(json["coalescing"]["statements"], 1);
        assert_eq!(report.workload.stale_reads, 0);
        if db.backend == api_tests::Backend::Postgres {
            let feed = report.feed.as_ref().expect("the feed phase runs on PostgreSQL");
            assert_eq!(json["feed"]["instances"], 2);
            assert_eq!(feed.workload.calls, 300);
            assert!(feed.workload.writes > 0 && feed.workload.reads > 0);
            assert_eq!(feed.workload.stale_reads, 0, "no stale read after awaiting the token");
            assert_eq!(feed.lag.samples as u64, feed.workload.writes, "one wait per write");
            assert!(feed.lag.p50_ms > 0.0 && feed.lag.p50_ms <= feed.lag.p99_ms);
            assert!(feed.write_feed_on.calls > 0 && feed.write_feed_off.calls > 0);
            assert!(feed.write_p50_ratio > 0.0);
        } else {
            assert!(report.feed.is_none() && report.feed_skipped.is_some());
        }
        all_indexes_present(&db).await;
    }

    async fn an_interrupted_bench_rebuilds_the_indexes(db) {
        let neon = db.service().await;
        let control = Control::default();
        let mut phase = control.phase();
        let interrupter = control.clone();
        tokio::spawn(async move {
            let _ = phase.wait_for(|p| *p == "no_index").await;
            interrupter.interrupt();
        });
        let args = quick();
        match bench::run(&neon, &args, &control).await {
            Err(BenchError::Interrupted) => {}
            other => panic!("expected Interrupted, got {:?}", other.map(|_| ())),
        }
        all_indexes_present(&db).await;
    }

    async fn a_killed_bench_is_repaired_by_the_next_run(db) {
        let neon = db.service().await;
        let args = BenchArgs { skip_no_index: true, ..quick() };
        bench::run(&neon, &args, &Control::default()).await.unwrap();
        // As if a run had been killed during the no-index phase.
        for def in all_secondary_indexes().take(10) {
            db.conn.execute_unprepared(&format!("DROP INDEX \"{}\"", def.name)).await.unwrap();
        }
        bench::run(&neon, &args, &Control::default()).await.unwrap();
        all_indexes_present(&db).await;
    }

    async fn explain_names_every_expected_index(db) {
        let neon = db.service().await;
        cli::seed::run(&neon, &cli::seed::SeedArgs::default(), false).await.unwrap();
        let report = cli::explain::run(&neon).await.unwrap();
        for e in &report.0 {
            assert!(e.uses_expected, "{} uses {:?}, not {}:\n{}", e.query, e.used_indexes, e.expected_index, e.plan);
            assert!(!e.plan.is_empty());
        }
        let named: std::collections::BTreeSet<&str> = report.0.iter().map(|e| e.expected_index.as_str()).collect();
        assert_eq!(named.len(), 9, "8 queries, trending with and without a platform");
        let json = serde_json::to_value(&report).unwrap();
        for field in ["query", "expected_index", "used_indexes", "uses_expected", "plan"] {
            assert!(json[0].get(field).is_some(), "explain JSON lacks {field}");
        }
        assert!(report.all_use_expected());
    }

    async fn stats_reports_a_running_workload(db) {
        let neon = db.service().await;
        cli::seed::run(&neon, &cli::seed::SeedArgs::default(), false).await.unwrap();
        let snapshot = cli::stats::run(&neon, 300, 1).await.unwrap();
        let calls: u64 = snapshot.queries.iter().map(|q| q.calls).sum();
        assert!(calls > 250, "about 95% of 300 calls are reads: {calls}");
        assert!(snapshot.statements_total > 0);
        assert!(snapshot.cache.hits > 0);
        let text = cli::stats::render(&snapshot);
        assert!(text.contains("campaigns_by_user_and_status"));
        assert!(text.contains("SELECT"));
    }
}
