//! Agent executions: start, complete, delete, and the agent-performance
//! query.

use std::sync::Arc;

use async_trait::async_trait;
use entity::enums::ExecutionStatus;
use entity::{Json, Timestamp, agent_execution};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, TransactionTrait,
};

use super::{Repo, delete_by_id, get_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::{Error, Result};
use crate::queries::{AgentPerformance, AgentPerformanceReport};
use crate::{ids, sql, validate};

/// An execution to start.
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    /// The agent.
    pub agent_id: String,
    /// The campaign worked on.
    pub campaign_id: Option<String>,
    /// The user it runs for.
    pub user_id: Option<String>,
    /// The task.
    pub task: String,
    /// Input.
    pub payload: Option<serde_json::Value>,
    /// Metadata.
    pub metadata: Option<serde_json::Value>,
    /// Start time (default: now).
    pub started_at: Option<Timestamp>,
}

impl NewExecution {
    /// An execution of `task` by `agent_id`, starting now.
    pub fn new(agent_id: impl Into<String>, task: impl Into<String>) -> Self {
        Self {
            agent_id: agent_id.into(),
            campaign_id: None,
            user_id: None,
            task: task.into(),
            payload: None,
            metadata: None,
            started_at: None,
        }
    }
}

/// How an execution finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// `COMPLETED`, `FAILED` or `CANCELLED`.
    pub status: ExecutionStatus,
    /// Output.
    pub result: Option<serde_json::Value>,
    /// Performance score.
    pub performance: Option<f64>,
    /// Error message.
    pub error: Option<String>,
    /// Completion time (default: now); not before the start.
    pub completed_at: Option<Timestamp>,
}

impl Completion {
    /// Finished with `status`, now, nothing else set.
    pub fn new(status: ExecutionStatus) -> Self {
        Self {
            status,
            result: None,
            performance: None,
            error: None,
            completed_at: None,
        }
    }
}

/// Agent executions: start, complete, and the agent-performance query.
#[async_trait]
pub trait ExecutionRepository: Send + Sync {
    /// Starts an execution: status `RUNNING`.
    ///
    /// # Errors
    /// `Invalid`; `Conflict` if the agent, campaign or user does not exist.
    async fn start(&self, input: NewExecution) -> Result<agent_execution::Model>;
    /// Finishes a running or pending execution in one statement.
    ///
    /// # Errors
    /// `Invalid` for a non-final status, a completion before the start, or
    /// an execution that already finished; `NotFound`.
    async fn complete(&self, id: &str, completion: Completion) -> Result<agent_execution::Model>;
    /// The execution with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<agent_execution::Model>;
    /// Deletes an execution.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete(&self, id: &str) -> Result<agent_execution::Model>;
    /// SPEC query 3: aggregates of the agent's executions that started in
    /// `[from, to]` (both bounds applied when given).
    ///
    /// # Errors
    /// `Invalid` for an empty id or `from > to`.
    async fn agent_performance(
        &self,
        agent_id: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Arc<AgentPerformanceReport>>;
}

/// The SeaORM implementation of [`ExecutionRepository`].
pub struct Executions<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> ExecutionRepository for Executions<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn start(&self, input: NewExecution) -> Result<agent_execution::Model> {
        validate::id("agent_id", &input.agent_id)?;
        if let Some(c) = &input.campaign_id {
            validate::id("campaign_id", c)?;
        }
        if let Some(u) = &input.user_id {
            validate::id("user_id", u)?;
        }
        validate::required_text("task", &input.task, validate::MAX_INDEXED_TEXT_LEN)?;
        validate::opt_json("payload", input.payload.as_ref())?;
        validate::opt_json("metadata", input.metadata.as_ref())?;
        validate::opt_timestamp("started_at", input.started_at)?;
        let model = agent_execution::Model {
            id: ids::new_id(),
            agent_id: input.agent_id,
            campaign_id: input.campaign_id,
            user_id: input.user_id,
            task: input.task,
            payload: input.payload.map(Json),
            result: None,
            status: ExecutionStatus::Running,
            performance: None,
            error: None,
            started_at: input.started_at.unwrap_or_else(Timestamp::now),
            completed_at: None,
            metadata: input.metadata.map(Json),
        };
        self.0.insert(model, Change::Execution).await
    }

    async fn complete(&self, id: &str, completion: Completion) -> Result<agent_execution::Model> {
        validate::id("id", id)?;
        if !matches!(
            completion.status,
            ExecutionStatus::Completed | ExecutionStatus::Failed | ExecutionStatus::Cancelled
        ) {
            return Err(Error::invalid(
                "status",
                format!(
                    "{} is not a final status (COMPLETED, FAILED, CANCELLED)",
                    completion.status
                ),
            ));
        }
        validate::opt_finite("performance", completion.performance)?;
        validate::opt_text("error", completion.error.as_deref(), validate::MAX_TEXT_LEN)?;
        validate::opt_json("result", completion.result.as_ref())?;
        validate::opt_timestamp("completed_at", completion.completed_at)?;
        let completed_at = completion.completed_at.unwrap_or_else(Timestamp::now);
        let am = agent_execution::ActiveModel {
            id: NotSet,
            agent_id: NotSet,
            campaign_id: NotSet,
            user_id: NotSet,
            task: NotSet,
            payload: NotSet,
            result: Set(completion.result.map(Json)),
            status: Set(completion.status),
            performance: Set(completion.performance),
            error: Set(completion.error),
            started_at: NotSet,
            completed_at: Set(Some(completed_at)),
            metadata: NotSet,
        };
        // One statement: only an unfinished execution that started no later
        // than the completion time is changed.
        let mut stmt = agent_execution::Entity::update_many()
            .set(am)
            .filter(agent_execution::Column::Id.eq(id))
            .filter(agent_execution::Column::CompletedAt.is_null())
            .filter(Expr::col(agent_execution::Column::StartedAt).lte(completed_at))
            .into_query();
        stmt.returning(sql::returning_all::<agent_execution::Entity>());
        let updated: Option<agent_execution::Model> =
            sql::fetch_all(self.0.conn, &stmt).await?.into_iter().next();
        match updated {
            Some(model) => {
                self.0
                    .record(vec![Change::Execution(ChangeKind::Updated, model.clone())]);
                Ok(model)
            }
            None => {
                // Say why: missing, finished, or completed before it started.
                let existing = self.get(id).await?;
                if existing.completed_at.is_some() {
                    Err(Error::invalid(
                        "id",
                        format!("execution {id} already finished"),
                    ))
                } else {
                    Err(Error::invalid(
                        "completed_at",
                        format!("{completed_at} is before the start {}", existing.started_at),
                    ))
                }
            }
        }
    }

    async fn get(&self, id: &str) -> Result<agent_execution::Model> {
        get_by_id::<agent_execution::Entity, _>(
            self.0.conn,
            "agent execution",
            agent_execution::Column::Id,
            id,
        )
        .await
    }

    async fn delete(&self, id: &str) -> Result<agent_execution::Model> {
        let model = delete_by_id::<agent_execution::Entity, _>(
            self.0.conn,
            "agent execution",
            agent_execution::Column::Id,
            id,
        )
        .await?;
        self.0
            .record(vec![Change::Execution(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }

    async fn agent_performance(
        &self,
        agent_id: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Arc<AgentPerformanceReport>> {
        self.0
            .read(AgentPerformance::new(agent_id, from, to)?)
            .await
    }
}
