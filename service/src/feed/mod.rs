//! The change feed: every writer's commits, from every instance, reach
//! this handle's cache (SPEC §10).
//!
//! **PostgreSQL**: logical decoding with the built-in `pgoutput` plugin
//! (no server extension to install, available on every managed service
//! that offers logical replication; wal2json is not). The migration
//! `m20261202_000001_change_feed` creates the publication
//! `neonhub_changes` over the 13 tables. Each handle opens one
//! replication connection and creates a *temporary* logical slot on it
//! (gone with the connection: a dead instance never pins WAL), streams
//! the publication, decodes each committed transaction's rows
//! ([`pgoutput`]) into [`RowChange`](crate::change::RowChange)s and hands
//! them to the cache's one invalidation entry point when the commit
//! arrives. It sees every writer: this layer on any instance, Prisma,
//! psql, a migration.
//!
//! **No silent gaps**: when the stream breaks (connection or slot lost,
//! server restart, a message that cannot be decoded), changes may have
//! been missed. The handle then clears its cache at once, counts a gap,
//! serves hits for at most [`Config::feed_grace`](crate::Config) more
//! (results loaded after the clear), then sends every call to the
//! database until a new slot streams; when it does, the cache is cleared
//! again (what committed in between was never seen) and hits resume.
//! Reconnection backs off from 100 ms to 5 s.
//!
//! **Consistency token**: [`NeonDb::token`](crate::NeonDb::token) after a
//! write returns a position ([`Token`], the server's WAL position, at or
//! past that write's commit); [`NeonDb::wait_for`](crate::NeonDb::wait_for)
//! on any handle returns once its feed has applied everything up to it.
//! If the feed is not there yet, it commits a tiny transaction holding
//! only a logical message (`pg_logical_emit_message`, no table touched)
//! and waits for that commit to arrive: the stream delivers commits in
//! order, so it waits for the feed's lag, not for unrelated traffic. (A
//! non-transactional message would not be flushed at once; the wait would
//! then follow the WAL writer's delay, up to 200 ms.)
//!
//! **SQLite**: another process writing the same file is seen through
//! `PRAGMA data_version` on the handle's writer connection, polled every
//! 50 ms; any change clears the whole cache (coarse: SQLite says *that*
//! something committed, not what). An in-memory database has no other
//! writer and no poller.
//!
//! **Modes** ([`FeedMode`](crate::config::FeedMode)): `auto` starts the
//! feed where the server allows it and otherwise logs one WARN naming the
//! missing setting and runs TTL-only; `on` makes `connect` fail with that
//! message; `off` runs TTL-only. This handle's own writes invalidate at
//! once in every mode.

pub mod pgoutput;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::metrics::names;

/// A commit position: a write's place in the server's history. Taken with
/// [`NeonDb::token`](crate::NeonDb::token) after a write, handed to
/// another instance (it prints and parses as PostgreSQL's `X/Y` LSN
/// text), and awaited there with
/// [`NeonDb::wait_for`](crate::NeonDb::wait_for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Token(pub u64);

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl FromStr for Token {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || crate::Error::invalid("token", format!("{s:?} is not an X/Y position"));
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let hi = u64::from_str_radix(hi, 16).map_err(|_| bad())?;
        let lo = u64::from_str_radix(lo, 16).map_err(|_| bad())?;
        if hi > u64::from(u32::MAX) || lo > u64::from(u32::MAX) {
            return Err(bad());
        }
        Ok(Token((hi << 32) | lo))
    }
}

/// What the feed is doing, for health checks and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedStatus {
    /// Streaming now (PostgreSQL) or polling (SQLite).
    pub up: bool,
    /// Running without a feed (mode `off`, or `auto` on a server without
    /// logical decoding): results live until their TTL.
    pub ttl_only: bool,
    /// Times the feed lost continuity (each cleared the cache).
    pub gaps: u64,
    /// Row changes received.
    pub events: u64,
    /// The position everything up to which has been applied (PostgreSQL).
    pub applied: Token,
}

/// State shared by the feed's task and the handle.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    up: AtomicBool,
    ttl_only: AtomicBool,
    gaps: AtomicU64,
    events: AtomicU64,
    applied: AtomicU64,
    /// SQLite: completed polls.
    polls: AtomicU64,
    /// Woken whenever `applied` or `polls` moves, or `up` changes.
    moved: Notify,
}

impl Shared {
    pub(crate) fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        metrics::gauge!(names::FEED_UP).set(if up { 1.0 } else { 0.0 });
        self.moved.notify_waiters();
    }

    pub(crate) fn gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(names::FEED_GAPS_TOTAL).increment(1);
    }

    pub(crate) fn events(&self, table: &'static str, n: u64) {
        if n > 0 {
            self.events.fetch_add(n, Ordering::Relaxed);
            metrics::counter!(names::FEED_EVENTS_TOTAL, "table" => table).increment(n);
        }
    }

    pub(crate) fn advance(&self, to: u64) {
        self.applied.fetch_max(to, Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    pub(crate) fn polled(&self) {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

/// The feed of one handle: its task (stopped when the handle is dropped)
/// and its state.
pub(crate) struct Feed {
    shared: Arc<Shared>,
    kind: FeedKind,
    task: Option<JoinHandle<()>>,
}

/// What kind of feed runs.
#[derive(Debug, Clone)]
pub(crate) enum FeedKind {
    /// No feed.
    None,
    /// PostgreSQL logical decoding; waits use the pool to emit sync messages.
    Postgres,
    /// SQLite `data_version` polling.
    Sqlite,
}

impl Drop for Feed {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Feed {
    /// No feed: TTL-only.
    pub(crate) fn ttl_only() -> Self {
        let shared = Arc::new(Shared::default());
        shared.ttl_only.store(true, Ordering::SeqCst);
        metrics::gauge!(names::FEED_TTL_ONLY).set(1.0);
        metrics::gauge!(names::FEED_UP).set(0.0);
        Feed {
            shared,
            kind: FeedKind::None,
            task: None,
        }
    }

    /// Nothing to follow (an in-memory SQLite database: no other
    /// connection can write it), so the cache is always complete.
    pub(crate) fn complete() -> Self {
        let shared = Arc::new(Shared::default());
        shared.set_up(true);
        metrics::gauge!(names::FEED_TTL_ONLY).set(0.0);
        Feed {
            shared,
            kind: FeedKind::None,
            task: None,
        }
    }

    pub(crate) fn running(shared: Arc<Shared>, kind: FeedKind, task: JoinHandle<()>) -> Self {
        metrics::gauge!(names::FEED_TTL_ONLY).set(0.0);
        Feed {
            shared,
            kind,
            task: Some(task),
        }
    }

    pub(crate) fn kind(&self) -> &FeedKind {
        &self.kind
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn status(&self) -> FeedStatus {
        let s = &self.shared;
        FeedStatus {
            up: s.up.load(Ordering::SeqCst),
            ttl_only: s.ttl_only.load(Ordering::SeqCst),
            gaps: s.gaps.load(Ordering::Relaxed),
            events: s.events.load(Ordering::Relaxed),
            applied: Token(s.applied.load(Ordering::SeqCst)),
        }
    }

    /// Waits until `applied >= target` (PostgreSQL) or until `polls`
    /// passes `polls_target` (SQLite), or `deadline`.
    pub(crate) async fn wait_until(
        &self,
        done: impl Fn(&Shared) -> bool,
        deadline: tokio::time::Instant,
    ) -> bool {
        loop {
            let notified = self.shared.moved.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(&self.shared) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done(&self.shared);
            }
        }
    }
}

impl Shared {
    pub(crate) fn applied(&self) -> u64 {
        self.applied.load(Ordering::SeqCst)
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Ordering::SeqCst)
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_print_and_parse_as_lsns() {
        let t = Token((0x16 << 32) | 0xB374_D848);
        assert_eq!(t.to_string(), "16/B374D848");
        assert_eq!("16/B374D848".parse::<Token>().unwrap(), t);
        assert_eq!("0/0".parse::<Token>().unwrap(), Token(0));
        for bad in ["", "16", "x/1", "1/100000000", "/"] {
            assert!(bad.parse::<Token>().is_err(), "{bad:?}");
        }
    }
}
