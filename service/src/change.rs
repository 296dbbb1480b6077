//! What a write changed: the row images every write reports, from which
//! the query cache decides which entries the write can affect.
//!
//! Inserts and updates report the row as it is after the write; deletes
//! report the row as it was. A write inside a transaction reports its
//! changes when the transaction commits, and never if it rolls back.

use entity::{ab_test, agent, agent_execution, analytics, campaign, content, lead, trend, user};

/// Whether the row was inserted, updated or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new row.
    Inserted,
    /// An existing row changed (the image is the new one).
    Updated,
    /// A row was removed (the image is the old one).
    Deleted,
}

/// One row a write touched.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Change {
    User(ChangeKind, user::Model),
    Campaign(ChangeKind, campaign::Model),
    Agent(ChangeKind, agent::Model),
    Execution(ChangeKind, agent_execution::Model),
    Analytics(ChangeKind, analytics::Model),
    Content(ChangeKind, content::Model),
    Lead(ChangeKind, lead::Model),
    Trend(ChangeKind, trend::Model),
    AbTest(ChangeKind, ab_test::Model),
}

/// The tables a change can come from, as the invalidation sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Table {
    Users,
    Campaigns,
    AgentExecutions,
    Analytics,
    Contents,
    Leads,
    Trends,
}

impl Table {
    /// The table's name in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Campaigns => "campaigns",
            Table::AgentExecutions => "agent_executions",
            Table::Analytics => "analytics",
            Table::Contents => "contents",
            Table::Leads => "leads",
            Table::Trends => "trends",
        }
    }

    /// The table named `name`, if cached results can depend on it (the
    /// other six tables of the schema never appear in one).
    pub fn from_name(name: &str) -> Option<Table> {
        Some(match name {
            "users" => Table::Users,
            "campaigns" => Table::Campaigns,
            "agent_executions" => Table::AgentExecutions,
            "analytics" => Table::Analytics,
            "contents" => Table::Contents,
            "leads" => Table::Leads,
            "trends" => Table::Trends,
            _ => return None,
        })
    }
}

/// The columns of a `users` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct UserKey {
    pub role: entity::enums::UserRole,
    pub created_at: entity::Timestamp,
}

/// The columns of a `campaigns` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct CampaignKey {
    pub user_id: String,
    pub status: entity::enums::CampaignStatus,
    pub created_at: entity::Timestamp,
}

/// The columns of an `agent_executions` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ExecutionKey {
    pub agent_id: String,
    pub started_at: entity::Timestamp,
}

/// The columns of an `analytics` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct AnalyticsKey {
    pub campaign_id: Option<String>,
    pub r#type: entity::enums::AnalyticsType,
    pub period: Option<String>,
    pub date: entity::Timestamp,
}

/// The columns of a `contents` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct ContentKey {
    pub platform: entity::enums::Platform,
    pub status: entity::enums::ContentStatus,
    pub created_at: entity::Timestamp,
}

/// The columns of a `leads` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct LeadKey {
    pub score: Option<f64>,
    pub created_at: entity::Timestamp,
}

/// The columns of a `trends` row the invalidation reads.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub struct TrendKey {
    pub platform: entity::enums::Platform,
    pub score: f64,
    pub detected_at: entity::Timestamp,
}

/// What is known of a row's previous values (aggregates need them: an
/// update can move an execution out of an agent's report).
#[derive(Debug, Clone, PartialEq)]
pub enum Old<K> {
    /// The columns the invalidation reads did not change.
    Same,
    /// They were these.
    Known(K),
    /// Not known: the invalidation assumes the worst.
    Unknown,
}

/// One row image, by table: its id, the deciding columns after the
/// change (`None`: not known, for example a delete, or columns the change
/// feed was not sent), and where it matters what they were before.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Row {
    User {
        id: String,
        new: Option<UserKey>,
    },
    Campaign {
        id: String,
        new: Option<CampaignKey>,
    },
    Execution {
        id: String,
        new: Option<ExecutionKey>,
        old: Old<ExecutionKey>,
    },
    Analytics {
        id: String,
        new: Option<AnalyticsKey>,
        old: Old<AnalyticsKey>,
    },
    Content {
        id: String,
        new: Option<ContentKey>,
    },
    Lead {
        id: String,
        new: Option<LeadKey>,
    },
    Trend {
        id: String,
        new: Option<TrendKey>,
    },
    /// Rows of a table changed in ways not known (a `TRUNCATE`, a change
    /// that could not be decoded): every result that reads it is affected.
    Unknown(Table),
}

impl Row {
    /// The table of the row.
    pub fn table(&self) -> Table {
        match self {
            Row::User { .. } => Table::Users,
            Row::Campaign { .. } => Table::Campaigns,
            Row::Execution { .. } => Table::AgentExecutions,
            Row::Analytics { .. } => Table::Analytics,
            Row::Content { .. } => Table::Contents,
            Row::Lead { .. } => Table::Leads,
            Row::Trend { .. } => Table::Trends,
            Row::Unknown(t) => *t,
        }
    }
}

/// A change as the invalidation needs it: what happened to which row,
/// with as much of its before and after as is known. Writes through the
/// service know their rows ([`Change`] converts); the change feed knows
/// what PostgreSQL's logical decoding sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// Inserted, updated or deleted.
    pub kind: ChangeKind,
    /// The row.
    pub row: Row,
}

impl Change {
    /// The change as the invalidation sees it; `None` for tables no cached
    /// result reads (agents, A/B tests).
    pub fn to_row_change(&self) -> Option<RowChange> {
        use ChangeKind::{Deleted, Inserted, Updated};
        let live = |kind: ChangeKind| kind != Deleted;
        let row = match self {
            Change::User(kind, u) => Row::User {
                id: u.id.clone(),
                new: live(*kind).then_some(UserKey {
                    role: u.role,
                    created_at: u.created_at,
                }),
            },
            Change::Campaign(kind, c) => Row::Campaign {
                id: c.id.clone(),
                new: live(*kind).then(|| CampaignKey {
                    user_id: c.user_id.clone(),
                    status: c.status,
                    created_at: c.created_at,
                }),
            },
            Change::Execution(kind, e) => {
                let key = ExecutionKey {
                    agent_id: e.agent_id.clone(),
                    started_at: e.started_at,
                };
                match kind {
                    Inserted => Row::Execution {
                        id: e.id.clone(),
                        new: Some(key),
                        old: Old::Unknown,
                    },
                    // The service's one execution update (complete) never
                    // changes the agent or the start.
                    Updated => Row::Execution {
                        id: e.id.clone(),
                        new: Some(key),
                        old: Old::Same,
                    },
                    Deleted => Row::Execution {
                        id: e.id.clone(),
                        new: None,
                        old: Old::Known(key),
                    },
                }
            }
            Change::Analytics(kind, a) => {
                let key = AnalyticsKey {
                    campaign_id: a.campaign_id.clone(),
                    r#type: a.r#type,
                    period: a.period.clone(),
                    date: a.date,
                };
                match kind {
                    Inserted => Row::Analytics {
                        id: a.id.clone(),
                        new: Some(key),
                        old: Old::Unknown,
                    },
                    // An update may have moved the row (type, period,
                    // date, campaign); its old values are not returned.
                    Updated => Row::Analytics {
                        id: a.id.clone(),
                        new: Some(key),
                        old: Old::Unknown,
                    },
                    Deleted => Row::Analytics {
                        id: a.id.clone(),
                        new: None,
                        old: Old::Known(key),
                    },
                }
            }
            Change::Content(kind, c) => Row::Content {
                id: c.id.clone(),
                new: live(*kind).then_some(ContentKey {
                    platform: c.platform,
                    status: c.status,
                    created_at: c.created_at,
                }),
            },
            Change::Lead(kind, l) => Row::Lead {
                id: l.id.clone(),
                new: live(*kind).then_some(LeadKey {
                    score: l.score,
                    created_at: l.created_at,
                }),
            },
            Change::Trend(kind, t) => Row::Trend {
                id: t.id.clone(),
                new: live(*kind).then_some(TrendKey {
                    platform: t.platform,
                    score: t.score,
                    detected_at: t.detected_at,
                }),
            },
            Change::Agent(..) | Change::AbTest(..) => return None,
        };
        Some(RowChange {
            kind: self.kind(),
            row,
        })
    }

    /// Inserted, updated or deleted.
    pub fn kind(&self) -> ChangeKind {
        match self {
            Change::User(k, _)
            | Change::Campaign(k, _)
            | Change::Agent(k, _)
            | Change::Execution(k, _)
            | Change::Analytics(k, _)
            | Change::Content(k, _)
            | Change::Lead(k, _)
            | Change::Trend(k, _)
            | Change::AbTest(k, _) => *k,
        }
    }
}
