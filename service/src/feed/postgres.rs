//! The PostgreSQL change feed: a temporary logical slot per handle,
//! streamed with `pgoutput` (see the [module docs](super)).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pgwire_replication::{
    Lsn, ReplicationClient, ReplicationConfig, ReplicationEvent, SslMode, TlsConfig,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tokio::sync::oneshot;

use super::pgoutput::{Decoded, Decoder};
use super::{Feed, FeedKind, Shared};
use crate::cache::QueryCache;
use crate::change::RowChange;
use crate::config::Config;
use crate::metrics::names;

/// The publication the migration creates.
pub(crate) const PUBLICATION: &str = "neonhub_changes";

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Why the server cannot run the feed, in words for an operator.
async fn capability(reader: &DatabaseConnection) -> Result<(), String> {
    let row = reader
        .query_one_raw(Statement::from_string(
            reader.get_database_backend(),
            format!(
                "SELECT current_setting('wal_level'), pg_is_in_recovery(), \
                 EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '{PUBLICATION}'), \
                 current_setting('max_replication_slots')::int, \
                 (SELECT count(*) FROM pg_replication_slots)::int"
            ),
        ))
        .await
        .map_err(|e| format!("cannot inspect the server: {e}"))?
        .ok_or("cannot inspect the server: no row")?;
    let get = |i: usize| -> Result<String, String> {
        row.try_get_by_index::<String>(i).map_err(|e| e.to_string())
    };
    let wal_level = get(0)?;
    let standby: bool = row.try_get_by_index(1).map_err(|e| e.to_string())?;
    let publication: bool = row.try_get_by_index(2).map_err(|e| e.to_string())?;
    let max_slots: i32 = row.try_get_by_index(3).map_err(|e| e.to_string())?;
    let used_slots: i32 = row.try_get_by_index(4).map_err(|e| e.to_string())?;
    if wal_level != "logical" {
        return Err(format!(
            "the server's wal_level is {wal_level:?}, the change feed needs 'logical' \
             (ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL; on a managed \
             service enable logical replication in its parameter group / flags)"
        ));
    }
    if standby {
        return Err(
            "the server is a standby (in recovery): point the primary URL at the \
                    primary; logical slots on standbys are not used"
                .to_owned(),
        );
    }
    if !publication {
        return Err(format!(
            "the publication {PUBLICATION} does not exist: apply the migrations \
             (neonhub-db migrate up)"
        ));
    }
    if used_slots >= max_slots {
        return Err(format!(
            "all {max_slots} replication slots are in use (max_replication_slots): raise it \
             to at least one per running handle"
        ));
    }
    Ok(())
}

/// The replication connection's settings, from the database URL.
fn replication_config(config: &Config, slot: &str) -> Result<ReplicationConfig, String> {
    let url = url::Url::parse(config.database_url.expose())
        .map_err(|e| format!("DATABASE_URL is not a URL: {e}"))?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut host = url.host_str().unwrap_or("").to_owned();
    let mut port = url.port().unwrap_or(5432);
    let mut user = decode(url.username());
    let password = url.password().map(decode).unwrap_or_default();
    let mut database = decode(url.path().trim_start_matches('/'));
    let mut ssl = SslMode::Prefer;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "host" => host = v.into_owned(),
            "port" => {
                port = v
                    .parse()
                    .map_err(|_| format!("port {v:?} is not a number"))?
            }
            "user" => user = v.into_owned(),
            "dbname" => database = v.into_owned(),
            "sslmode" => {
                ssl = match v.as_ref() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => return Err(format!("sslmode {other:?} is not known")),
                }
            }
            _ => {}
        }
    }
    if host.is_empty() {
        host = "localhost".to_owned();
    }
    if user.is_empty() {
        user = "postgres".to_owned();
    }
    if database.is_empty() {
        database.clone_from(&user);
    }
    let tls = TlsConfig {
        mode: ssl,
        ..TlsConfig::default()
    };
    let base = if host.starts_with('/') {
        ReplicationConfig::unix(host, port, user, password, database, slot, PUBLICATION)
    } else {
        ReplicationConfig::new(host, user, password, database, slot, PUBLICATION)
            .with_port(port)
            .with_tls(tls)
    };
    Ok(base
        // Values are decoded as ISO text, whatever the server's default.
        .with_options("-c datestyle=ISO,MDY -c timezone=UTC")
        .with_application_name("neonhub-change-feed")
        .with_status_interval(Duration::from_secs(1))
        .with_wakeup_interval(Duration::from_secs(1)))
}

fn slot_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let salt: u32 = rand::random();
    format!("neonhub_{}_{n}_{salt:08x}", std::process::id())
}

/// Starts the feed of a handle: checks the server, then opens the first
/// slot within the connect timeout. Hits stay suspended until it streams.
///
/// # Errors
/// Why the feed cannot run, for the WARN (`auto`) or the error (`on`).
pub(crate) async fn start(
    config: &Config,
    reader: &DatabaseConnection,
    cache: Arc<QueryCache>,
    losses: Arc<crate::pool::LossClock>,
) -> Result<Feed, String> {
    capability(reader).await?;
    // Validate the URL once here, so the task's sessions cannot fail on it.
    replication_config(config, "check")?;
    let shared = Arc::new(Shared::default());
    cache.suspend_hits(cache.config().clock.now());
    let (first_tx, first_rx) = oneshot::channel();
    let task = tokio::spawn(run(
        config.clone(),
        cache.clone(),
        shared.clone(),
        first_tx,
        losses,
    ));
    let wait = config.connect_timeout + Duration::from_secs(1);
    match tokio::time::timeout(wait, first_rx).await {
        Ok(Ok(Ok(()))) => Ok(Feed::running(shared, FeedKind::Postgres, task)),
        Ok(Ok(Err(reason))) => {
            task.abort();
            Err(reason)
        }
        Ok(Err(_)) => {
            task.abort();
            Err("the change feed's task ended".to_owned())
        }
        Err(_) => {
            task.abort();
            Err(format!(
                "no replication slot within {wait:?} (a long-running transaction delays \
                 slot creation)"
            ))
        }
    }
}

/// The feed's task: sessions, and between them gaps and backoff.
async fn run(
    config: Config,
    cache: Arc<QueryCache>,
    shared: Arc<Shared>,
    first: oneshot::Sender<Result<(), String>>,
    losses: Arc<crate::pool::LossClock>,
) {
    let mut first = Some(first);
    let mut backoff = BACKOFF_START;
    loop {
        let reason = session(&config, &cache, &shared, &mut first).await;
        if let Some(tx) = first.take() {
            let _ = tx.send(Err(reason));
            return;
        }
        if shared.is_up() {
            // The pool's idle connections may have died with the stream.
            losses.mark();
            // Changes may have been missed from here on: nothing cached
            // may be trusted. Clear now; serve hits (of results loaded
            // after this) only for the grace, then go to the database.
            shared.set_up(false);
            shared.gap();
            cache.clear();
            cache.suspend_hits(cache.config().clock.now() + config.feed_grace);
            tracing::warn!(
                reason = %reason,
                grace_ms = config.feed_grace.as_millis() as u64,
                "change feed lost; cache cleared, reconnecting"
            );
            backoff = BACKOFF_START;
        } else {
            tracing::debug!(reason = %reason, "change feed still down");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One replication session; returns why it ended.
async fn session(
    config: &Config,
    cache: &QueryCache,
    shared: &Shared,
    first: &mut Option<oneshot::Sender<Result<(), String>>>,
) -> String {
    let slot = slot_name();
    let cfg = match replication_config(config, &slot) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let establish = async {
        let mut client = ReplicationClient::connect_gated(cfg).await?;
        let rows = client
            .simple_query(&format!(
                "CREATE_REPLICATION_SLOT \"{slot}\" TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT"
            ))
            .await?;
        // slot_name, consistent_point, snapshot_name, output_plugin
        let consistent = rows
            .first()
            .and_then(|r| r.get(1).cloned().flatten())
            .and_then(|b| {
                std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| Lsn::parse(s).ok())
            })
            .unwrap_or(Lsn(0));
        client.start().await?;
        client.wait_started().await?;
        Ok::<_, pgwire_replication::PgWireError>((client, consistent))
    };
    let (mut client, consistent) =
        match tokio::time::timeout(config.connect_timeout, establish).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return format!("replication connection: {e}"),
            Err(_) => {
                return format!(
                    "replication connection: no slot within {:?}",
                    config.connect_timeout
                );
            }
        };
    // Whatever committed before the slot's consistent point and after
    // the last session was never seen: start from an empty cache.
    cache.clear_at(consistent.as_u64());
    cache.resume_hits();
    shared.advance(consistent.as_u64());
    shared.set_up(true);
    if let Some(tx) = first.take() {
        let _ = tx.send(Ok(()));
    } else {
        tracing::info!("change feed back; cache cleared");
    }
    let mut decoder = Decoder::new();
    let mut pending: Vec<RowChange> = Vec::new();
    // Inside a transaction (between Begin and Commit) nothing past the
    // last commit may be acknowledged.
    let mut in_transaction = false;
    loop {
        let event = match client.recv().await {
            Ok(Some(event)) => event,
            Ok(None) => return "the replication stream ended".to_owned(),
            Err(e) => return format!("replication stream: {e}"),
        };
        match event {
            ReplicationEvent::Begin { .. } => {
                in_transaction = true;
                pending.clear();
            }
            ReplicationEvent::XLogData { data, .. } => match decoder.decode(&data) {
                Ok(Decoded::Rows(table, rows)) => {
                    shared.events(table, rows.len().max(1) as u64);
                    pending.extend(rows);
                }
                Ok(Decoded::Nothing) => {}
                Err(e) => return e.to_string(),
            },
            ReplicationEvent::Commit {
                end_lsn,
                commit_time_micros,
                ..
            } => {
                cache.apply_at(std::mem::take(&mut pending), end_lsn.as_u64());
                let now = chrono::Utc::now().timestamp_micros() - PG_EPOCH_MICROS;
                let lag = (now - commit_time_micros).max(0) as f64 / 1e6;
                metrics::histogram!(names::FEED_LAG_SECONDS).record(lag);
                shared.advance(end_lsn.as_u64());
                client.update_applied_lsn(end_lsn);
                in_transaction = false;
            }
            // Between transactions a keepalive's position has been fully
            // received: acknowledge it. Without this the applied position
            // stays at the last commit, and a server shutting down (which
            // waits until every walsender's client confirmed all it was
            // sent, shutdown checkpoint included) never finishes.
            ReplicationEvent::KeepAlive { wal_end, .. } if !in_transaction => {
                client.update_applied_lsn(wal_end);
            }
            ReplicationEvent::Message {
                transactional: false,
                lsn,
                ..
            } => shared.advance(lsn.as_u64()),
            ReplicationEvent::Message { .. } | ReplicationEvent::KeepAlive { .. } => {}
            ReplicationEvent::StoppedAt { .. } => return "the replication stream stopped".into(),
        }
    }
}

/// Commits a transaction holding only a logical message (flushed at
/// commit, unlike a non-transactional one) and returns its position: once
/// the feed applied its commit, every transaction committed before it has
/// been applied too.
pub(crate) async fn sync_point(conn: &crate::pool::Conn) -> crate::Result<u64> {
    query_lsn(
        conn,
        "SELECT pg_logical_emit_message(true, 'neonhub.sync', '')::text",
    )
    .await
}

/// The server's current WAL insert position: at or past the commit of
/// every write that has returned.
pub(crate) async fn current_position(conn: &crate::pool::Conn) -> crate::Result<u64> {
    query_lsn(conn, "SELECT pg_current_wal_insert_lsn()::text").await
}

/// Runs `sql`, which returns one LSN as text.
async fn query_lsn(conn: &crate::pool::Conn, sql: &str) -> crate::Result<u64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            sql.to_owned(),
        ))
        .await?
        .ok_or_else(|| crate::Error::invalid("token", format!("{sql}: no row")))?;
    let text: String = row.try_get_by_index(0)?;
    Lsn::parse(&text)
        .map(Lsn::as_u64)
        .map_err(|e| crate::Error::invalid("token", format!("{text:?}: {e}")))
}
