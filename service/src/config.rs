//! Configuration: every setting, its environment variable and its default,
//! in one place.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `DATABASE_URL` | `postgres://...` or `sqlite://FILE?mode=rwc` | `sqlite://neonhub.db?mode=rwc` |
//! | `NEONHUB_POOL_MAX_CONNECTIONS` | pool size | 10 |
//! | `NEONHUB_POOL_MIN_CONNECTIONS` | connections kept open when idle | 0 |
//! | `NEONHUB_POOL_ACQUIRE_TIMEOUT_MS` | wait for a pooled connection before [`Error::Unavailable`](crate::Error::Unavailable) | 5000 |
//! | `NEONHUB_CONNECT_TIMEOUT_MS` | PostgreSQL: establishing one connection — `connect`'s reachability check and the fail-fast circuit's probes (a silent server fails calls after about 100 ms plus this) | 5000 |
//! | `NEONHUB_POOL_IDLE_TIMEOUT_SECS` | close connections idle this long (0: never) | 600 |
//! | `NEONHUB_STATEMENT_TIMEOUT_MS` | PostgreSQL `statement_timeout` (0: none); a cancelled statement is [`Error::Timeout`](crate::Error::Timeout) | 0 |
//! | `NEONHUB_SQLITE_BUSY_TIMEOUT_MS` | SQLite: wait for another process's write lock (this handle's own writers queue in-process) | 5000 |
//! | `NEONHUB_CACHE_ENABLED` | the query cache's switch (`true`/`false`) | `true` |
//! | `NEONHUB_CACHE_CAPACITY_BYTES` | the cache's weight bound (approximate bytes of results) | 67108864 (64 MiB) |
//! | `NEONHUB_CACHE_TTL_<QUERY>_SECS` | TTL of one query, `<QUERY>` its SPEC name in capitals (`NEONHUB_CACHE_TTL_USERS_BY_ROLE_SECS`) | SPEC §4: 300; agent_performance 600; high_value_leads 900; trending_keywords 180 |
//! | `NEONHUB_SLOW_QUERY_MS` | statements at least this slow are logged (WARN) and counted | 100 |
//! | `NEONHUB_CHANGE_FEED` | `auto`: invalidate from every writer's commits where the server allows it (PostgreSQL logical decoding, SQLite `data_version`), else TTL-only with one WARN; `on`: `connect` fails without it; `off`: TTL-only plus this handle's own writes ([`crate::feed`]) | `auto` |
//! | `NEONHUB_FEED_GRACE_MS` | while the change feed is down, cache hits are still served this long, then every call goes to the database | 1000 |
//! | `NEONHUB_METRICS_ADDR` | serve Prometheus `/metrics` on this address (`127.0.0.1:9464`) | off |
//! | `NEONHUB_REPLICA_URLS` | PostgreSQL: comma-separated URLs of streaming standbys that dashboard reads may use when they have replayed far enough ([`crate::replica`]) | none |
//! | `NEONHUB_REPLICA_POLL_MS` | how often each replica's replay position is read (also at once after a write) | 10 |
//! | `NEONHUB_REPLICA_WAIT_MS` | a read bound to a token ([`NeonDb::after`](crate::NeonDb::after)) waits this long for a replica to replay past it, then goes to the primary | 20 |
//!
//! The database URL's password is never printed: [`DatabaseUrl`]'s `Debug`
//! and `Display` redact it.

use std::fmt;
use std::time::Duration;

use std::net::SocketAddr;

use crate::cache::CacheConfig;
use crate::error::{Error, Result};
use crate::queries::QueryName;

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://neonhub.db?mode=rwc";

/// A database URL whose password is redacted when printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, for connecting. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it names a PostgreSQL server.
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }

    /// Whether it names a SQLite database.
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The URL with the password replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(_) => self.0.clone(),
            // Unparseable: show only the scheme, the rest may hold secrets.
            Err(_) => match self.0.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://(unparseable URL)"),
                None => "(unparseable URL)".to_owned(),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Connection settings. Build with [`Config::new`] and the `with_*`
/// methods, or read them from the environment with [`Config::from_env`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database is.
    pub database_url: DatabaseUrl,
    /// Pool size.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// Wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// Establishing one connection.
    pub connect_timeout: Duration,
    /// Close connections idle this long (`None`: never).
    pub idle_timeout: Option<Duration>,
    /// PostgreSQL `statement_timeout` (`None`: none).
    pub statement_timeout: Option<Duration>,
    /// SQLite busy timeout (wait for the write lock).
    pub sqlite_busy_timeout: Duration,
    /// The query cache.
    pub cache: CacheConfig,
    /// Statements at least this slow are logged and counted.
    pub slow_query_threshold: Duration,
    /// Serve Prometheus metrics on this address.
    pub metrics_addr: Option<SocketAddr>,
    /// Whether the cache follows every writer's commits ([`crate::feed`]).
    pub change_feed: FeedMode,
    /// How long hits are still served while the change feed is down.
    pub feed_grace: Duration,
    /// PostgreSQL streaming standbys for dashboard reads ([`crate::replica`]).
    pub replica_urls: Vec<DatabaseUrl>,
    /// How often each replica's replay position is read.
    pub replica_poll: Duration,
    /// How long a token-bound read waits for a replica to catch up.
    pub replica_wait: Duration,
}

/// `NEONHUB_CHANGE_FEED`: whether a handle's cache follows every writer's
/// commits through the change feed ([`crate::feed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedMode {
    /// Use the feed where the server allows it; otherwise one WARN at
    /// connect naming what is missing, and TTL-only.
    #[default]
    Auto,
    /// Require the feed: `connect` fails (`Invalid`, naming the missing
    /// server setting) without it.
    On,
    /// No feed: cached results live until their TTL or this handle's own
    /// writes.
    Off,
}

impl Config {
    /// Defaults (see the module table) for `database_url`.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: DatabaseUrl::new(database_url),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            statement_timeout: None,
            sqlite_busy_timeout: Duration::from_secs(5),
            cache: CacheConfig::default(),
            slow_query_threshold: Duration::from_millis(100),
            metrics_addr: None,
            change_feed: FeedMode::Auto,
            feed_grace: Duration::from_secs(1),
            replica_urls: Vec::new(),
            replica_poll: Duration::from_millis(10),
            replica_wait: Duration::from_millis(20),
        }
    }

    /// Reads the settings of the module table from the environment.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the variable, if one is set but unparseable.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Like [`Config::from_env`], with variables looked up by `lookup`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the variable, if one is set but unparseable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let url = lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let mut config = Self::new(url);
        let num =
            |key: &'static str| -> Result<Option<u64>> {
                match lookup(key) {
                    None => Ok(None),
                    Some(v) if v.trim().is_empty() => Ok(None),
                    Some(v) => v.trim().parse::<u64>().map(Some).map_err(|e| {
                        Error::invalid(key, format!("{v:?} is not a whole number: {e}"))
                    }),
                }
            };
        if let Some(v) = num("NEONHUB_POOL_MAX_CONNECTIONS")? {
            config.max_connections = u32::try_from(v)
                .map_err(|_| Error::invalid("NEONHUB_POOL_MAX_CONNECTIONS", "too large"))?;
        }
        if let Some(v) = num("NEONHUB_POOL_MIN_CONNECTIONS")? {
            config.min_connections = u32::try_from(v)
                .map_err(|_| Error::invalid("NEONHUB_POOL_MIN_CONNECTIONS", "too large"))?;
        }
        if let Some(v) = num("NEONHUB_POOL_ACQUIRE_TIMEOUT_MS")? {
            config.acquire_timeout = Duration::from_millis(v);
        }
        if let Some(v) = num("NEONHUB_CONNECT_TIMEOUT_MS")? {
            config.connect_timeout = Duration::from_millis(v);
        }
        if let Some(v) = num("NEONHUB_POOL_IDLE_TIMEOUT_SECS")? {
            config.idle_timeout = (v > 0).then(|| Duration::from_secs(v));
        }
        if let Some(v) = num("NEONHUB_STATEMENT_TIMEOUT_MS")? {
            config.statement_timeout = (v > 0).then(|| Duration::from_millis(v));
        }
        if let Some(v) = num("NEONHUB_SQLITE_BUSY_TIMEOUT_MS")? {
            config.sqlite_busy_timeout = Duration::from_millis(v);
        }
        if let Some(v) = lookup("NEONHUB_CACHE_ENABLED") {
            config.cache.enabled = match v.trim().to_ascii_lowercase().as_str() {
                "" | "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(Error::invalid(
                        "NEONHUB_CACHE_ENABLED",
                        format!("{v:?} is not true or false"),
                    ));
                }
            };
        }
        if let Some(v) = lookup("NEONHUB_CHANGE_FEED") {
            config.change_feed = match v.trim().to_ascii_lowercase().as_str() {
                "" | "auto" => FeedMode::Auto,
                "on" => FeedMode::On,
                "off" => FeedMode::Off,
                _ => {
                    return Err(Error::invalid(
                        "NEONHUB_CHANGE_FEED",
                        format!("{v:?} is not one of auto, on, off"),
                    ));
                }
            };
        }
        if let Some(v) = num("NEONHUB_FEED_GRACE_MS")? {
            config.feed_grace = Duration::from_millis(v);
        }
        if let Some(v) = num("NEONHUB_CACHE_CAPACITY_BYTES")? {
            config.cache.capacity_bytes = v;
        }
        for name in QueryName::ALL {
            let key = format!(
                "NEONHUB_CACHE_TTL_{}_SECS",
                name.as_str().to_ascii_uppercase()
            );
            if let Some(v) = lookup(&key).filter(|v| !v.trim().is_empty()) {
                let secs: u64 = v.trim().parse().map_err(|e| Error::Invalid {
                    field: "NEONHUB_CACHE_TTL_<QUERY>_SECS",
                    reason: format!("{key}={v:?} is not a whole number: {e}"),
                })?;
                config.cache.set_ttl(name, Duration::from_secs(secs));
            }
        }
        if let Some(v) = num("NEONHUB_SLOW_QUERY_MS")? {
            config.slow_query_threshold = Duration::from_millis(v);
        }
        if let Some(v) = lookup("NEONHUB_METRICS_ADDR").filter(|v| !v.trim().is_empty()) {
            config.metrics_addr = Some(v.trim().parse().map_err(|e| {
                Error::invalid(
                    "NEONHUB_METRICS_ADDR",
                    format!("{v:?} is not an address like 127.0.0.1:9464: {e}"),
                )
            })?);
        }
        if let Some(v) = lookup("NEONHUB_REPLICA_URLS") {
            config.replica_urls = v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(DatabaseUrl::new)
                .collect();
        }
        if let Some(v) = num("NEONHUB_REPLICA_POLL_MS")? {
            config.replica_poll = Duration::from_millis(v);
        }
        if let Some(v) = num("NEONHUB_REPLICA_WAIT_MS")? {
            config.replica_wait = Duration::from_millis(v);
        }
        config.validate()?;
        Ok(config)
    }

    /// Adds a streaming standby for dashboard reads ([`crate::replica`]).
    pub fn with_replica(mut self, url: impl Into<String>) -> Self {
        self.replica_urls.push(DatabaseUrl::new(url));
        self
    }

    /// Sets how often replicas' replay positions are read.
    pub fn with_replica_poll(mut self, every: Duration) -> Self {
        self.replica_poll = every;
        self
    }

    /// Sets how long a token-bound read waits for a replica.
    pub fn with_replica_wait(mut self, wait: Duration) -> Self {
        self.replica_wait = wait;
        self
    }

    /// Sets the pool size.
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets the pool acquire timeout.
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Turns the query cache on or off.
    pub fn with_cache_enabled(mut self, on: bool) -> Self {
        self.cache.enabled = on;
        self
    }

    /// Sets the cache's weight bound.
    pub fn with_cache_capacity_bytes(mut self, bytes: u64) -> Self {
        self.cache.capacity_bytes = bytes;
        self
    }

    /// Sets one query family's TTL.
    pub fn with_cache_ttl(mut self, query: QueryName, ttl: Duration) -> Self {
        self.cache.set_ttl(query, ttl);
        self
    }

    /// Measures cache TTLs on `clock` (tests move time with
    /// [`crate::cache::ManualClock`]).
    pub fn with_cache_clock(mut self, clock: std::sync::Arc<dyn crate::cache::Clock>) -> Self {
        self.cache.clock = clock;
        self
    }

    /// Sets the slow-statement threshold.
    pub fn with_slow_query_threshold(mut self, threshold: Duration) -> Self {
        self.slow_query_threshold = threshold;
        self
    }

    /// Serves Prometheus metrics on `addr`.
    pub fn with_metrics_addr(mut self, addr: SocketAddr) -> Self {
        self.metrics_addr = Some(addr);
        self
    }

    /// Sets PostgreSQL's `statement_timeout` (`None`: none). A statement
    /// cancelled by it is [`Error::Timeout`](crate::Error::Timeout).
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Sets the change feed's mode ([`FeedMode`]).
    pub fn with_change_feed(mut self, mode: FeedMode) -> Self {
        self.change_feed = mode;
        self
    }

    /// Sets how long hits are still served while the change feed is down.
    pub fn with_feed_grace(mut self, grace: Duration) -> Self {
        self.feed_grace = grace;
        self
    }

    /// Sets the SQLite busy timeout.
    pub fn with_sqlite_busy_timeout(mut self, timeout: Duration) -> Self {
        self.sqlite_busy_timeout = timeout;
        self
    }

    /// Checks the settings hang together.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an unknown URL scheme, an empty pool, or a
    /// minimum above the maximum.
    pub fn validate(&self) -> Result<()> {
        if !self.database_url.is_postgres() && !self.database_url.is_sqlite() {
            return Err(Error::invalid(
                "DATABASE_URL",
                format!(
                    "{} is neither postgres:// nor sqlite:",
                    self.database_url.redacted()
                ),
            ));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid(
                "NEONHUB_POOL_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::invalid(
                "NEONHUB_POOL_MIN_CONNECTIONS",
                "must not exceed NEONHUB_POOL_MAX_CONNECTIONS",
            ));
        }
        if !self.replica_urls.is_empty() && !self.database_url.is_postgres() {
            return Err(Error::invalid(
                "NEONHUB_REPLICA_URLS",
                "replicas need a PostgreSQL primary (DATABASE_URL is SQLite)",
            ));
        }
        if self.replica_urls.len() > crate::replica::MAX_REPLICAS {
            return Err(Error::invalid(
                "NEONHUB_REPLICA_URLS",
                format!("at most {} replicas", crate::replica::MAX_REPLICAS),
            ));
        }
        if let Some(bad) = self.replica_urls.iter().find(|u| !u.is_postgres()) {
            return Err(Error::invalid(
                "NEONHUB_REPLICA_URLS",
                format!("{bad} is not a postgres:// URL"),
            ));
        }
        if !self.replica_urls.is_empty() && self.replica_poll.is_zero() {
            return Err(Error::invalid(
                "NEONHUB_REPLICA_POLL_MS",
                "must be at least 1 with replicas",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_appears_in_debug_or_display() {
        let config = Config::new("postgres://app:s3cr3t-pw@db.internal:5432/neonhub");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t-pw"), "{debug}");
        assert!(debug.contains("app:***@db.internal"), "{debug}");
        assert!(!config.database_url.to_string().contains("s3cr3t-pw"));
        assert_eq!(
            config.database_url.expose(),
            "postgres://app:s3cr3t-pw@db.internal:5432/neonhub"
        );
    }

    #[test]
    fn environment_overrides_defaults_and_rejects_garbage() {
        let env = |k: &str| match k {
            "NEONHUB_POOL_MAX_CONNECTIONS" => Some("32".to_owned()),
            "NEONHUB_POOL_ACQUIRE_TIMEOUT_MS" => Some("250".to_owned()),
            _ => None,
        };
        let config = Config::from_lookup(env).unwrap();
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(config.max_connections, 32);
        assert_eq!(config.acquire_timeout, Duration::from_millis(250));

        let bad = |k: &str| (k == "NEONHUB_POOL_MAX_CONNECTIONS").then(|| "ten".to_owned());
        match Config::from_lookup(bad) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "NEONHUB_POOL_MAX_CONNECTIONS"),
            other => panic!("expected Invalid, got {other:?}"),
        }
        let mysql = |k: &str| (k == "DATABASE_URL").then(|| "mysql://u:p@h/db".to_owned());
        assert!(matches!(
            Config::from_lookup(mysql),
            Err(Error::Invalid {
                field: "DATABASE_URL",
                ..
            })
        ));
    }

    #[test]
    fn replica_urls_parse_from_the_environment_and_bad_ones_are_rejected() {
        let env = |k: &str| match k {
            "DATABASE_URL" => Some("postgres://app@primary/neonhub".to_owned()),
            "NEONHUB_REPLICA_URLS" => {
                Some(" postgres://app:pw1@r1/neonhub, ,postgres://app@r2/neonhub ".to_owned())
            }
            "NEONHUB_REPLICA_WAIT_MS" => Some("50".to_owned()),
            _ => None,
        };
        let config = Config::from_lookup(env).unwrap();
        let urls: Vec<&str> = config.replica_urls.iter().map(|u| u.expose()).collect();
        assert_eq!(
            urls,
            ["postgres://app:pw1@r1/neonhub", "postgres://app@r2/neonhub"]
        );
        assert_eq!(config.replica_wait, Duration::from_millis(50));
        assert!(!format!("{config:?}").contains("pw1"));

        let invalid = |config: Config, want: &str| match config.validate() {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, want),
            other => panic!("expected Invalid {{ {want} }}, got {other:?}"),
        };
        let primary = Config::new("postgres://app@primary/neonhub");
        invalid(
            Config::new("sqlite://x.db?mode=rwc").with_replica("postgres://app@r1/neonhub"),
            "NEONHUB_REPLICA_URLS",
        );
        invalid(
            primary.clone().with_replica("mysql://app@r1/neonhub"),
            "NEONHUB_REPLICA_URLS",
        );
        invalid(
            (0..=crate::replica::MAX_REPLICAS).fold(primary.clone(), |c, i| {
                c.with_replica(format!("postgres://app@r{i}/neonhub"))
            }),
            "NEONHUB_REPLICA_URLS",
        );
        invalid(
            primary
                .clone()
                .with_replica("postgres://app@r1/neonhub")
                .with_replica_poll(Duration::ZERO),
            "NEONHUB_REPLICA_POLL_MS",
        );
        assert!(
            primary
                .with_replica("postgres://app@r1/neonhub")
                .validate()
                .is_ok()
        );
    }
}
