//! Write transactions under contention: [`TASKS`] tasks each run
//! begin / get / update / commit on one shared lead for a fixed time.
//! Reports commits per second and failures by kind; on SQLite this is the
//! case that used to fail with "database is locked" on most attempts
//! (deferred transactions upgrading their lock), and now queues for the
//! one writer connection (SPEC §13).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use service::prelude::*;
use service::{Error, LeadUpdate, NeonDb};

/// Concurrent transactions.
pub const TASKS: usize = 8;

/// What the phase measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TransactionReport {
    /// Concurrent tasks.
    pub tasks: usize,
    /// Seconds measured.
    pub seconds: f64,
    /// Transactions committed.
    pub commits: u64,
    /// Commits per second.
    pub commits_per_s: f64,
    /// Transactions that failed with "database is locked" / busy.
    pub locked_errors: u64,
    /// Transactions that failed otherwise.
    pub other_errors: u64,
}

/// Runs the phase on `lead` (which it updates) for `seconds`.
///
/// # Errors
/// None of its own: failures are counted, not returned.
pub async fn run(db: &NeonDb, lead: &str, seconds: f64) -> TransactionReport {
    let commits = Arc::new(AtomicU64::new(0));
    let locked = Arc::new(AtomicU64::new(0));
    let other = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (db, lead) = (db.clone(), lead.to_owned());
        let (commits, locked, other) = (commits.clone(), locked.clone(), other.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let attempt = async {
                    let tx = db.begin().await?;
                    let current = tx.leads().get(&lead).await?;
                    let next = (current.score.unwrap_or(0.0) + 0.1) % 10.0;
                    tx.leads()
                        .update(
                            &lead,
                            LeadUpdate {
                                score: Some(Some(next)),
                                ..LeadUpdate::default()
                            },
                        )
                        .await?;
                    tx.commit().await
                };
                match attempt.await {
                    Ok(()) => commits.fetch_add(1, Ordering::Relaxed),
                    Err(e) if is_locked(&e) => locked.fetch_add(1, Ordering::Relaxed),
                    Err(_) => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let commits = commits.load(Ordering::Relaxed);
    TransactionReport {
        tasks: TASKS,
        seconds,
        commits,
        commits_per_s: if seconds > 0.0 {
            commits as f64 / seconds
        } else {
            0.0
        },
        locked_errors: locked.load(Ordering::Relaxed),
        other_errors: other.load(Ordering::Relaxed),
    }
}

fn is_locked(e: &Error) -> bool {
    let text = e.to_string();
    text.contains("database is locked") || text.contains("SQLITE_BUSY")
}
