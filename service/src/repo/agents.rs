//! AI agents.

use async_trait::async_trait;
use entity::Json;
use entity::agent;
use entity::enums::{AgentStatus, AgentType};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Repo, delete_by_id, get_by_id, now, set_if, update_by_id};
use crate::change::{Change, ChangeKind};
use crate::error::Result;
use crate::{ids, validate};

/// An agent to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgent {
    /// Name.
    pub name: String,
    /// What it does.
    pub r#type: AgentType,
    /// Status (Prisma's default is `ACTIVE`).
    pub status: AgentStatus,
    /// Capabilities.
    pub capabilities: Option<serde_json::Value>,
    /// Settings.
    pub settings: Option<serde_json::Value>,
    /// Version (Prisma's default is `1.0.0`).
    pub version: String,
}

impl NewAgent {
    /// An `ACTIVE` agent, version `1.0.0`.
    pub fn new(name: impl Into<String>, r#type: AgentType) -> Self {
        Self {
            name: name.into(),
            r#type,
            status: AgentStatus::Active,
            capabilities: None,
            settings: None,
            version: "1.0.0".to_owned(),
        }
    }
}

/// Changes to an agent; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(missing_docs)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub r#type: Option<AgentType>,
    pub status: Option<AgentStatus>,
    pub capabilities: Option<Option<serde_json::Value>>,
    pub settings: Option<Option<serde_json::Value>>,
    pub version: Option<String>,
}

/// Agents: writes.
#[async_trait]
pub trait AgentRepository: Send + Sync {
    /// Creates an agent.
    ///
    /// # Errors
    /// `Invalid`.
    async fn create(&self, input: NewAgent) -> Result<agent::Model>;
    /// The agent with this id.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get(&self, id: &str) -> Result<agent::Model>;
    /// Updates an agent; `updatedAt` is set to now.
    ///
    /// # Errors
    /// `Invalid`, `NotFound`.
    async fn update(&self, id: &str, input: AgentUpdate) -> Result<agent::Model>;
    /// Deletes an agent.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` while executions reference it.
    async fn delete(&self, id: &str) -> Result<agent::Model>;
}

/// The SeaORM implementation of [`AgentRepository`].
pub struct Agents<'a, C>(pub(crate) Repo<'a, C>);

#[async_trait]
impl<C> AgentRepository for Agents<'_, C>
where
    C: ConnectionTrait + TransactionTrait + Sync,
{
    async fn create(&self, input: NewAgent) -> Result<agent::Model> {
        validate::required_text("name", &input.name, validate::MAX_TEXT_LEN)?;
        validate::required_text("version", &input.version, 64)?;
        validate::opt_json("capabilities", input.capabilities.as_ref())?;
        validate::opt_json("settings", input.settings.as_ref())?;
        let now = now();
        let model = agent::Model {
            id: ids::new_id(),
            name: input.name,
            r#type: input.r#type,
            status: input.status,
            capabilities: input.capabilities.map(Json),
            settings: input.settings.map(Json),
            version: input.version,
            created_at: now,
            updated_at: now,
        };
        self.0.insert(model, Change::Agent).await
    }

    async fn get(&self, id: &str) -> Result<agent::Model> {
        get_by_id::<agent::Entity, _>(self.0.conn, "agent", agent::Column::Id, id).await
    }

    async fn update(&self, id: &str, input: AgentUpdate) -> Result<agent::Model> {
        validate::id("id", id)?;
        if let Some(n) = &input.name {
            validate::required_text("name", n, validate::MAX_TEXT_LEN)?;
        }
        if let Some(v) = &input.version {
            validate::required_text("version", v, 64)?;
        }
        if let Some(Some(c)) = &input.capabilities {
            validate::json("capabilities", c)?;
        }
        if let Some(Some(s)) = &input.settings {
            validate::json("settings", s)?;
        }
        if input == AgentUpdate::default() {
            return Err(crate::Error::invalid("update", "no field to change"));
        }
        let am = agent::ActiveModel {
            id: NotSet,
            name: set_if(input.name),
            r#type: set_if(input.r#type),
            status: set_if(input.status),
            capabilities: set_if(input.capabilities.map(|v| v.map(Json))),
            settings: set_if(input.settings.map(|v| v.map(Json))),
            version: set_if(input.version),
            created_at: NotSet,
            updated_at: Set(now()),
        };
        let model =
            update_by_id::<agent::Entity, _>(self.0.conn, "agent", agent::Column::Id, id, am)
                .await?;
        self.0
            .record(vec![Change::Agent(ChangeKind::Updated, model.clone())]);
        Ok(model)
    }

    async fn delete(&self, id: &str) -> Result<agent::Model> {
        let model =
            delete_by_id::<agent::Entity, _>(self.0.conn, "agent", agent::Column::Id, id).await?;
        self.0
            .record(vec![Change::Agent(ChangeKind::Deleted, model.clone())]);
        Ok(model)
    }
}
