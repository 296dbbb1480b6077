//! Repository traits, one per aggregate, and their SeaORM implementations.
//!
//! Get an implementation from the handle (`db.users()`, `db.campaigns()`,
//! ...) or from a transaction (`tx.users()`, ...): the same code runs on
//! the pool or inside the transaction, since every implementation is
//! generic over the SeaORM connection. The traits are object-safe
//! (`async-trait`), so an application can put its own implementation
//! behind them in its tests.
//!
//! Every method validates its input before any SQL runs; reads never
//! return unbounded results; writes keep `updatedAt` and generate ids in
//! Rust; a write of several rows is all or nothing.

use std::sync::{Arc, Mutex};

use entity::Timestamp;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionSession, TransactionTrait,
};

use crate::cache::Outcome;
use crate::change::{Change, ChangeKind};
use crate::db::NeonDb;
use crate::error::{Error, Result};
use crate::queries::DashboardQuery;

mod ab_tests;
mod agents;
mod analytics;
mod campaigns;
mod contents;
mod executions;
mod leads;
mod trends;
mod users;
pub mod write;

pub use ab_tests::{AbTestRepository, AbTestUpdate, AbTests, NewAbTest};
pub use agents::{AgentRepository, AgentUpdate, Agents, NewAgent};
pub use analytics::{AnalyticsRepo, AnalyticsRepository, AnalyticsUpdate, NewAnalytics};
pub use campaigns::{CampaignRepository, CampaignUpdate, Campaigns, NewCampaign};
pub use contents::{ContentRepository, ContentUpdate, Contents, NewContent};
pub use executions::{Completion, ExecutionRepository, Executions, NewExecution};
pub use leads::{LeadRepository, LeadUpdate, Leads, NewLead};
pub use trends::{NewTrend, TrendRepository, TrendUpdate, Trends};
pub use users::{NewUser, UserRepository, UserUpdate, Users};

/// What every repository holds: a connection (the pool or a transaction),
/// the handle, and where to report changes.
pub struct Repo<'a, C> {
    pub(crate) conn: &'a C,
    pub(crate) db: &'a NeonDb,
    /// `Some` inside a transaction: changes wait there for the commit.
    pub(crate) pending: Option<&'a Mutex<Vec<Change>>>,
}

impl<C> Clone for Repo<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Repo<'_, C> {}

impl<'a, C> Repo<'a, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    pub(crate) fn new(
        conn: &'a C,
        db: &'a NeonDb,
        pending: Option<&'a Mutex<Vec<Change>>>,
    ) -> Self {
        Self { conn, db, pending }
    }

    /// Runs a dashboard query (validated by its constructor) through the handle's
    /// read path on the pool, or directly inside a transaction (which must
    /// see its own uncommitted writes).
    pub(crate) async fn read<Q: DashboardQuery>(&self, query: Q) -> Result<Arc<Q::Output>> {
        // Built by the query's validating constructor: no second check.
        if self.pending.is_some() {
            let started = std::time::Instant::now();
            let result = query.run(self.conn).await.map_err(Error::from);
            self.db.metrics().record_call(
                Q::NAME,
                Outcome::Bypass,
                started.elapsed(),
                result.is_ok(),
            );
            return result.map(Arc::new);
        }
        self.db.read(&query).await
    }

    /// Inserts one row built in Rust and reports it.
    pub(crate) async fn insert<M, A>(
        &self,
        model: M,
        change: fn(ChangeKind, M) -> Change,
    ) -> Result<M>
    where
        M: IntoActiveModel<A> + Clone + Send,
        A: ActiveModelTrait + Send,
    {
        write::insert_all(
            self.conn,
            vec![model.clone().into_active_model().reset_all()],
        )
        .await?;
        self.record(vec![change(ChangeKind::Inserted, model.clone())]);
        Ok(model)
    }

    /// Inserts rows in one transaction (a savepoint inside yours), chunked
    /// under the bind limit: all or nothing; reports them once committed.
    pub(crate) async fn insert_batch<M, A>(
        &self,
        rows: Vec<M>,
        change: fn(ChangeKind, M) -> Change,
    ) -> Result<Vec<M>>
    where
        M: IntoActiveModel<A> + Clone + Send,
        A: ActiveModelTrait + Send,
    {
        if rows.is_empty() {
            return Ok(rows);
        }
        let txn = self.conn.begin().await?;
        write::insert_all(
            &txn,
            rows.iter()
                .map(|r| r.clone().into_active_model().reset_all())
                .collect(),
        )
        .await?;
        txn.commit().await?;
        self.record(
            rows.iter()
                .cloned()
                .map(|r| change(ChangeKind::Inserted, r))
                .collect(),
        );
        Ok(rows)
    }

    /// Reports what a write changed: at once on the pool, at commit inside
    /// a transaction.
    pub(crate) fn record(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        match self.pending {
            Some(pending) => match pending.lock() {
                Ok(mut list) => list.extend(changes),
                Err(poisoned) => poisoned.into_inner().extend(changes),
            },
            None => self.db.apply_changes(&changes),
        }
    }
}

/// The row with primary key `id`, or [`Error::NotFound`].
pub(crate) async fn get_by_id<E, C>(
    conn: &C,
    entity: &'static str,
    id_column: E::Column,
    id: &str,
) -> Result<E::Model>
where
    E: EntityTrait,
    E::Model: Send,
    C: ConnectionTrait,
{
    crate::validate::id("id", id)?;
    let stmt = sea_orm::QueryTrait::into_query(E::find().filter(id_column.eq(id)));
    crate::sql::fetch_all::<E::Model, _, _>(conn, &stmt)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::NotFound {
            entity,
            id: id.to_owned(),
        })
}

/// Deletes the row with primary key `id`: the deleted row, or
/// [`Error::NotFound`].
pub(crate) async fn delete_by_id<E, C>(
    conn: &C,
    entity: &'static str,
    id_column: E::Column,
    id: &str,
) -> Result<E::Model>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    crate::validate::id("id", id)?;
    write::delete_returning::<E, C>(conn, id_column, id)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity,
            id: id.to_owned(),
        })
}

/// Runs an UPDATE ... RETURNING: the new row, or [`Error::NotFound`].
pub(crate) async fn update_by_id<E, C>(
    conn: &C,
    entity: &'static str,
    id_column: E::Column,
    id: &str,
    am: E::ActiveModel,
) -> Result<E::Model>
where
    E: EntityTrait,
    E::ActiveModel: Send,
    C: ConnectionTrait,
{
    write::update_returning::<E, C>(conn, id_column, id, am)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity,
            id: id.to_owned(),
        })
}

/// `Some(value)` as a SeaORM `Set`, `None` as `NotSet`.
pub(crate) fn set_if<T: Into<sea_orm::Value>>(value: Option<T>) -> sea_orm::ActiveValue<T> {
    match value {
        Some(v) => sea_orm::ActiveValue::Set(v),
        None => sea_orm::ActiveValue::NotSet,
    }
}

/// The current time, as every write stamps it.
pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}
