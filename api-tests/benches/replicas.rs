//! Read replicas on this machine (SPEC §11), measured end to end:
//!
//! 1. **Throughput**: the SPEC §9 read mix (the eight dashboard queries,
//!    Zipf-skewed parameters, no writes), cache off, 16 clients, for
//!    `BENCH_SECONDS` (default 10) a run; primary only, then primary + 1
//!    streaming replica, then both once more (the second round shows the
//!    drift of a shared machine). Each run reports calls/s and where the
//!    CPU went: this process (the client), the primary's server processes
//!    and the standby's, in cores (1.0 = one core busy the whole run).
//! 2. **Routing cost**: the lag-aware routing decision a replica read
//!    makes (both floors, every replica's position and health), timed in
//!    batches of 100,000 through [`NeonDb::read_route`]: p50 per call.
//! 3. **End to end**: one fixed uncached query, alternately through the
//!    routed handle (to the replica) and a handle connected straight to
//!    the standby, 2,000 calls each: p50 of both (their difference is the
//!    routing overhead plus noise).
//!
//! It starts its own primary and standby (`initdb`, `pg_basebackup -R`, as
//! the tests do) on loopback ports, seeds `BENCH_SCALE` (`tiny` or
//! `small`, default `small`), and removes both at the end.
//!
//! ```text
//! cargo bench -p api-tests --bench replicas
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use api_tests::cluster::Cluster;
use cli::bench::calls::{Call, Draw, Pools};
use cli::bench::workload::{self, Step};
use cli::bench::zipf::Rng;
use cli::seed::{Scale, SeedArgs};
use service::{Config, FeedMode, NeonDb, QueryName, ReadRoute};

const CLIENTS: usize = 16;

/// CPU seconds used so far by process `pid` (utime + stime).
fn cpu_of(pid: u32) -> Option<(u32, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields start after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ppid: u32 = fields.get(1)?.parse().ok()?;
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((ppid, ticks / 100.0))
}

/// CPU seconds of a server: its postmaster and every child process alive
/// now (the pools' backends stay connected through a run, so a run's
/// difference counts them).
fn server_cpu(cluster: &Cluster) -> f64 {
    let Some(postmaster) = cluster.postmaster_pid() else {
        return 0.0;
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (ppid, cpu) = cpu_of(pid)?;
            (pid == postmaster || ppid == postmaster).then_some(cpu)
        })
        .sum()
}

struct Run {
    calls_per_s: f64,
    client: f64,
    primary: f64,
    standby: f64,
    replica_share: f64,
}

async fn run(db: &NeonDb, pools: &Arc<Pools>, seconds: f64, clusters: (&Cluster, &Cluster)) -> Run {
    let me = std::process::id();
    let before = (
        cpu_of(me).unwrap().1,
        server_cpu(clusters.0),
        server_cpu(clusters.1),
    );
    let routed_before = db.routing();
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (db, pools, done) = (db.clone(), pools.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(42, 1000 + c as u64);
            while Instant::now() < deadline {
                match workload::draw_step(&pools, &mut rng, 0.0) {
                    Step::Read(call) => {
                        call.run(&db).await.unwrap();
                    }
                    Step::Write(_) => unreachable!("a write fraction of 0 draws reads only"),
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    let routed = db.routing();
    let (replica, primary) = (
        routed.replica_reads - routed_before.replica_reads,
        routed.primary_reads - routed_before.primary_reads,
    );
    Run {
        calls_per_s: done.load(Ordering::Relaxed) as f64 / wall,
        client: (cpu_of(me).unwrap().1 - before.0) / wall,
        primary: (server_cpu(clusters.0) - before.1) / wall,
        standby: (server_cpu(clusters.1) - before.2) / wall,
        replica_share: if replica + primary == 0 {
            0.0
        } else {
            replica as f64 / (replica + primary) as f64
        },
    }
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The replica poll interval of the routed handle: `BENCH_POLL_MS`, else
/// the default.
fn poll_every() -> Duration {
    std::env::var("BENCH_POLL_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(
            Config::new(String::new()).replica_poll,
            Duration::from_millis,
        )
}

async fn connect(url: &str, replica: Option<&str>) -> NeonDb {
    let mut config = Config::new(url.to_owned())
        .with_change_feed(FeedMode::Off)
        .with_cache_enabled(false);
    if let Some(replica) = replica {
        config = config
            .with_replica(replica.to_owned())
            .with_replica_poll(poll_every());
    }
    NeonDb::connect(config).await.unwrap()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does too, with
    // no intent to measure: run only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("replicas: run with `cargo bench -p api-tests --bench replicas`");
        return;
    }
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let scale = match std::env::var("BENCH_SCALE").as_deref() {
        Ok("tiny") => Scale::Tiny,
        _ => Scale::Small,
    };

    let primary = Cluster::start();
    primary.psql("postgres", "CREATE DATABASE neonhub");
    let url = primary.url("neonhub");
    let seeding = Instant::now();
    {
        let db = connect(&url, None).await;
        cli::seed::run(&db, &SeedArgs { scale, seed: 42 }, false)
            .await
            .unwrap();
        db.close().await.unwrap();
    }
    primary.psql("neonhub", "VACUUM ANALYZE");
    eprintln!("seeded {scale:?} in {:.0?}", seeding.elapsed());
    let standby = primary.standby();
    let standby_url = standby.url("neonhub");

    let plain = connect(&url, None).await;
    let routed = connect(&url, Some(&standby_url)).await;
    let token = plain.token().await.unwrap();
    let waited = Instant::now();
    while !routed
        .replicas()
        .first()
        .is_some_and(|r| r.up && r.position >= token)
    {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "{:?}",
            routed.replicas()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pools = Arc::new(Pools::load(&plain).await.unwrap());
    let clusters = (&primary, &standby);

    println!(
        "read mix, cache off, {CLIENTS} clients, {seconds} s a run, scale {scale:?}, {} cores",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:<22} {:>9} {:>8} {:>8} {:>8} {:>9}",
        "setup", "calls/s", "client", "primary", "standby", "replica%"
    );
    // Warm both servers' caches and both pools first.
    run(&plain, &pools, 2.0, clusters).await;
    run(&routed, &pools, 2.0, clusters).await;
    let mut results: Vec<(&str, Run)> = Vec::new();
    for _round in 0..2 {
        for (name, db) in [("primary only", &plain), ("primary + 1 replica", &routed)] {
            let r = run(db, &pools, seconds, clusters).await;
            println!(
                "{name:<22} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1}%",
                r.calls_per_s,
                r.client,
                r.primary,
                r.standby,
                r.replica_share * 100.0
            );
            results.push((name, r));
        }
    }
    let mean = |name: &str| {
        let v: Vec<f64> = results
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, r)| r.calls_per_s)
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    println!(
        "throughput ratio (primary + 1 replica / primary only, mean of both rounds): {:.2}",
        mean("primary + 1 replica") / mean("primary only")
    );

    // 2. The routing decision, in batches.
    assert_eq!(routed.read_route(), Some(ReadRoute::Replica(0)));
    let batch = 100_000;
    let mut per_call = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        for _ in 0..batch {
            std::hint::black_box(std::hint::black_box(&routed).read_route());
        }
        per_call.push(started.elapsed().as_secs_f64() * 1e9 / f64::from(batch));
    }
    println!(
        "routing decision: p50 {:.1} ns per call (50 batches of {batch})",
        p50(per_call)
    );

    // 3. One query end to end: routed to the replica vs straight to it,
    // calls interleaved, through two fresh handles (the throughput runs
    // left 16 connections in `routed`'s replica pool; the pool hands them
    // out in turn, so a lone caller would meet a cold backend each time,
    // an effect of pool size, not of routing).
    let direct = connect(&standby_url, None).await;
    let fresh = connect(&url, Some(&standby_url)).await;
    while !fresh.replicas().first().is_some_and(|r| r.up) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut rng = Rng::new(7, 7);
    let call = Call::draw(
        QueryName::CampaignAnalytics,
        &pools,
        &mut rng,
        Draw::Uniform,
    );
    let (mut via, mut straight) = (Vec::new(), Vec::new());
    for i in 0..4_200 {
        let (db, into) = if i % 2 == 0 {
            (&fresh, &mut via)
        } else {
            (&direct, &mut straight)
        };
        let started = Instant::now();
        call.run(db).await.unwrap();
        if i >= 200 {
            into.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let before = fresh.routing().replica_reads;
    call.run(&fresh).await.unwrap();
    assert_eq!(
        fresh.routing().replica_reads,
        before + 1,
        "the routed calls read the replica"
    );
    let (a, b) = (p50(via), p50(straight));
    println!(
        "campaign analytics, uncached, 2000 calls each, interleaved: routed to the replica \
         (polled every {:?}) p50 {a:.1} µs, straight to the standby p50 {b:.1} µs \
         (difference {:+.1} µs)",
        poll_every(),
        a - b
    );
    fresh.close().await.unwrap();
    for db in [plain, routed, direct] {
        db.close().await.unwrap();
    }
    drop((standby, primary));
}
