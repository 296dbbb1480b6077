//! Helpers shared by the service tests (`queries`, `writes`,
//! `index_contract`): a deterministic random generator, fixed timestamps,
//! bulk inserts through the service's per-backend binding, and table
//! snapshots.

#![allow(dead_code)] // each test crate uses a different part

use std::fmt::Debug;

use chrono::{TimeZone, Utc};
use entity::Timestamp;
use entity::{ab_test, agent, agent_execution, analytics, campaign, content, lead, trend, user};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryOrder, TransactionTrait,
};

/// SplitMix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    /// A generator from a fixed seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `0..n` as `usize`.
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// `true` with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())].clone()
    }

    /// A random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.index(i + 1);
            v.swap(i, j);
        }
        v
    }
}

/// 2025-03-10T00:00:00.000Z, the origin of all test timestamps.
pub fn base() -> Timestamp {
    Timestamp::from(
        Utc.with_ymd_and_hms(2025, 3, 10, 0, 0, 0)
            .single()
            .expect("valid date"),
    )
}

/// `base()` plus `ms` milliseconds.
pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_timestamp_millis(base().timestamp_millis() + ms).expect("representable")
}

/// `t` plus `ms` milliseconds.
pub fn plus(t: Timestamp, ms: i64) -> Timestamp {
    Timestamp::from_timestamp_millis(t.timestamp_millis() + ms).expect("representable")
}

/// `n` distinct instants a minute apart, a third of them at a whole second
/// (ms = 0), the rest with a millisecond part: rows drawing from a small
/// pool tie on the instant.
pub fn instants(n: i64) -> Vec<Timestamp> {
    (0..n)
        .map(|i| at(i * 60_000 + if i % 3 == 0 { 0 } else { (i * 37) % 1000 }))
        .collect()
}

/// A model as an ActiveModel with every column set.
pub fn am<M, A>(model: M) -> A
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait,
{
    model.into_active_model().reset_all()
}

/// Inserts `models` in one transaction with the service's chunked
/// multi-row INSERT (values bound per backend).
pub async fn insert<M, A>(conn: &DatabaseConnection, models: Vec<M>)
where
    M: IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
{
    let txn = conn.begin().await.expect("begin");
    service::repo::write::insert_all(&txn, models.into_iter().map(am).collect())
        .await
        .expect("insert rows");
    txn.commit().await.expect("commit");
}

/// Every row of `E`, by primary key.
pub async fn all<E>(conn: &DatabaseConnection) -> Vec<E::Model>
where
    E: EntityTrait,
{
    use sea_orm::Iterable;
    let mut select = E::find();
    for col in E::PrimaryKey::iter() {
        select = select.order_by_asc(sea_orm::PrimaryKeyToColumn::into_column(col));
    }
    select.all(conn).await.expect("select all")
}

/// Rows of a table, counted in SQL.
pub async fn count(conn: &DatabaseConnection, table: &str) -> i64 {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!(r#"SELECT COUNT(*) AS "n" FROM "{table}""#),
        ))
        .await
        .expect("count")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("count column")
}

/// Every table of the schema.
pub const TABLES: [&str; 13] = [
    "users",
    "accounts",
    "sessions",
    "verification_tokens",
    "campaigns",
    "agents",
    "agent_executions",
    "analytics",
    "ab_tests",
    "contents",
    "leads",
    "trends",
    "design_templates",
];

/// The content of every table the service writes, plus the row count of
/// every table: equal snapshots mean no row changed.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub counts: Vec<(&'static str, i64)>,
    pub users: Vec<user::Model>,
    pub campaigns: Vec<campaign::Model>,
    pub agents: Vec<agent::Model>,
    pub executions: Vec<agent_execution::Model>,
    pub analytics: Vec<analytics::Model>,
    pub contents: Vec<content::Model>,
    pub leads: Vec<lead::Model>,
    pub trends: Vec<trend::Model>,
    pub ab_tests: Vec<ab_test::Model>,
}

impl Snapshot {
    /// Reads the database.
    pub async fn take(conn: &DatabaseConnection) -> Self {
        let mut counts = Vec::new();
        for t in TABLES {
            counts.push((t, count(conn, t).await));
        }
        Self {
            counts,
            users: all::<user::Entity>(conn).await,
            campaigns: all::<campaign::Entity>(conn).await,
            agents: all::<agent::Entity>(conn).await,
            executions: all::<agent_execution::Entity>(conn).await,
            analytics: all::<analytics::Entity>(conn).await,
            contents: all::<content::Entity>(conn).await,
            leads: all::<lead::Entity>(conn).await,
            trends: all::<trend::Entity>(conn).await,
            ab_tests: all::<ab_test::Entity>(conn).await,
        }
    }
}

/// Asserts two lists are equal, comparing their keys first so that a
/// failure names the first differing position rather than dumping both.
pub fn same<T: PartialEq + Debug>(
    got: &[T],
    expected: &[T],
    key: impl Fn(&T) -> String,
    ctx: &str,
) {
    let got_keys: Vec<String> = got.iter().map(&key).collect();
    let exp_keys: Vec<String> = expected.iter().map(&key).collect();
    if got_keys != exp_keys {
        let first = got_keys
            .iter()
            .zip(&exp_keys)
            .position(|(a, b)| a != b)
            .unwrap_or(got_keys.len().min(exp_keys.len()));
        panic!(
            "{ctx}: results differ at position {first} (got {} rows, expected {})\n got: {:?}\n exp: {:?}",
            got_keys.len(),
            exp_keys.len(),
            &got_keys[first.min(got_keys.len())..got_keys.len().min(first + 5)],
            &exp_keys[first.min(exp_keys.len())..exp_keys.len().min(first + 5)],
        );
    }
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g, e, "{ctx}: row {i} differs");
    }
}

/// `a` and `b` within a small relative tolerance (both `None` is equal).
pub fn close(a: Option<f64>, b: Option<f64>, ctx: &str) {
    match (a, b) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            let tol = 1e-9 * x.abs().max(y.abs()).max(1.0);
            assert!((x - y).abs() <= tol, "{ctx}: {x} != {y}");
        }
        _ => panic!("{ctx}: {a:?} != {b:?}"),
    }
}
