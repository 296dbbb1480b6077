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
