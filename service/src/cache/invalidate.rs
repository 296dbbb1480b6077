//! Which cached results a change can affect: the precise half of
//! invalidation.
//!
//! For every cached key, [`affected`] looks at the key's parameters, the
//! cached result and the changed row. A list result is affected if it holds
//! the row, or if the row (inserted or updated) passes the key's filters and
//! would rank within the list (the list is not full, or the row sorts at or
//! before its last element). Aggregates are affected by rows in their range.
//! Deletes of users and campaigns, whose foreign keys SET NULL in other
//! tables, affect every result that shows one of those references. An
//! updated analytics row may have left a time series it was in (its old
//! image is not known), so analytics updates affect every series.
//!
//! Anything not listed cannot change a cached result: agents, A/B tests,
//! and rows of other tables.

use std::any::Any;
use std::cmp::Ordering;

use entity::Timestamp;

use crate::change::{Change, ChangeKind};
use crate::queries::{AgentPerformanceReport, CampaignWithAnalytics, DayCount, Query};

fn downcast<T: 'static>(value: &(dyn Any + Send + Sync)) -> Option<&T> {
    value.downcast_ref::<T>()
}

fn in_range(t: Timestamp, from: Option<Timestamp>, to: Option<Timestamp>) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|u| t <= u)
}

/// Whether a candidate with sort key `candidate` enters a descending list
/// that is `full` and whose last element has sort key `last`.
fn ranks_in<K: PartialOrd>(full: bool, candidate: K, last: Option<K>) -> bool {
    if !full {
        return true;
    }
    match last {
        Some(last) => candidate.partial_cmp(&last) != Some(Ordering::Less),
        None => true,
    }
}

/// Whether `change` can alter the cached `value` of `key`. Unknown value
/// types answer `true` (correct first).
pub(crate) fn affected(key: &Query, value: &(dyn Any + Send + Sync), change: &Change) -> bool {
    match key {
        Query::UsersByRole(q) => {
            let Some(rows) = downcast::<Vec<entity::user::Model>>(value) else {
                return true;
            };
            match change {
                Change::User(kind, u) => {
                    rows.iter().any(|r| r.id == u.id)
                        || (*kind != ChangeKind::Deleted
                            && u.role == q.role
                            && ranks_in(
                                rows.len() as u64 >= q.limit,
                                (u.created_at, u.id.as_str()),
                                rows.last().map(|l| (l.created_at, l.id.as_str())),
                            ))
                }
                _ => false,
            }
        }
        Query::CampaignsByUserAndStatus(q) => {
            let Some(rows) = downcast::<Vec<CampaignWithAnalytics>>(value) else {
                return true;
            };
            let holds = |id: &str| rows.iter().any(|r| r.campaign.id == id);
            match change {
                Change::Campaign(kind, c) => {
                    holds(&c.id)
                        || (*kind != ChangeKind::Deleted
                            && c.user_id == q.user_id
                            && q.status.is_none_or(|s| s == c.status)
                            && ranks_in(
                                rows.len() as u64 >= q.limit,
                                (c.created_at, c.id.as_str()),
                                rows.last()
                                    .map(|l| (l.campaign.created_at, l.campaign.id.as_str())),
                            ))
                }
                Change::Analytics(kind, a) => {
                    let Some(cid) = &a.campaign_id else {
                        return false;
                    };
                    let Some(row) = rows.iter().find(|r| &r.campaign.id == cid) else {
                        return false;
                    };
                    match (&row.latest_analytics, kind) {
                        (_, ChangeKind::Updated | ChangeKind::Deleted) => true,
                        (None, ChangeKind::Inserted) => true,
                        (Some(latest), ChangeKind::Inserted) => {
                            (a.date, a.id.as_str()) > (latest.date, latest.id.as_str())
                        }
                    }
                }
                Change::User(ChangeKind::Deleted, u) => rows.iter().any(|r| {
                    r.campaign.user_id2.as_deref() == Some(u.id.as_str())
                        || r.latest_analytics
                            .as_ref()
                            .is_some_and(|a| a.user_id.as_deref() == Some(u.id.as_str()))
                }),
                _ => false,
            }
        }
        Query::AgentPerformance(q) => {
            let Some(report) = downcast::<AgentPerformanceReport>(value) else {
                return true;
            };
            match change {
                Change::Execution(_, e) => {
                    e.agent_id == q.agent_id && in_range(e.started_at, q.from, q.to)
                }
                Change::Campaign(ChangeKind::Deleted, c) => report
                    .recent_completed
                    .iter()
                    .any(|e| e.campaign_id.as_deref() == Some(c.id.as_str())),
                Change::User(ChangeKind::Deleted, u) => report
                    .recent_completed
                    .iter()
                    .any(|e| e.user_id.as_deref() == Some(u.id.as_str())),
                _ => false,
            }
        }
        Query::CampaignAnalytics(q) => {
            let Some(rows) = downcast::<Vec<entity::analytics::Model>>(value) else {
                return true;
            };
            match change {
                Change::Analytics(kind, a) => {
                    rows.iter().any(|r| r.id == a.id)
                        || (*kind != ChangeKind::Deleted
                            && a.campaign_id.as_deref() == Some(q.campaign_id.as_str())
                            && q.r#type.is_none_or(|t| t == a.r#type)
                            && q.period
                                .as_ref()
                                .is_none_or(|p| a.period.as_ref() == Some(p))
                            && ranks_in(
                                rows.len() as u64 >= q.limit,
                                (a.date, a.id.as_str()),
                                rows.last().map(|l| (l.date, l.id.as_str())),
                            ))
                }
                Change::Campaign(ChangeKind::Deleted, c) => c.id == q.campaign_id,
                Change::User(ChangeKind::Deleted, u) => rows
                    .iter()
                    .any(|r| r.user_id.as_deref() == Some(u.id.as_str())),
                _ => false,
            }
        }
        Query::AnalyticsTimeSeries(q) => {
            if downcast::<Vec<DayCount>>(value).is_none() {
                return true;
            }
            match change {
                Change::Analytics(ChangeKind::Updated, _) => true,
                Change::Analytics(_, a) => {
                    a.r#type == q.r#type
                        && a.period.as_deref() == Some(q.period.as_str())
                        && in_range(a.date, Some(q.from), Some(q.to))
                }
                _ => false,
            }
        }
        Query::HighValueLeads(q) => {
            let Some(rows) = downcast::<Vec<entity::lead::Model>>(value) else {
                return true;
            };
            match change {
                Change::Lead(kind, l) => {
                    rows.iter().any(|r| r.id == l.id)
                        || (*kind != ChangeKind::Deleted
                            && l.score.is_some_and(|s| s >= q.min_score.0)
                            && ranks_in(
                                rows.len() as u64 >= q.limit,
                                (l.score, l.created_at, l.id.as_str()),
                                rows.last().map(|r| (r.score, r.created_at, r.id.as_str())),
                            ))
                }
                _ => false,
            }
        }
        Query::TrendingKeywords(q) => {
            let Some(rows) = downcast::<Vec<entity::trend::Model>>(value) else {
                return true;
            };
            match change {
                Change::Trend(kind, t) => {
                    rows.iter().any(|r| r.id == t.id)
                        || (*kind != ChangeKind::Deleted
                            && q.platform.is_none_or(|p| p == t.platform)
                            && t.score >= q.min_score.0
                            && ranks_in(
                                rows.len() as u64 >= q.limit,
                                (t.score, t.detected_at, t.id.as_str()),
                                rows.last().map(|r| (r.score, r.detected_at, r.id.as_str())),
                            ))
                }
                _ => false,
            }
        }
        Query::ContentByPlatformAndStatus(q) => {
            let Some(rows) = downcast::<Vec<entity::content::Model>>(value) else {
                return true;
            };
            match change {
                Change::Content(kind, c) => {
                    rows.iter().any(|r| r.id == c.id)
                        || (*kind != ChangeKind::Deleted
                            && c.platform == q.platform
                            && q.status.is_none_or(|s| s == c.status)
                            && ranks_in(
                                rows.len() as u64 >= q.limit,
                                (c.created_at, c.id.as_str()),
                                rows.last().map(|r| (r.created_at, r.id.as_str())),
                            ))
                }
                _ => false,
            }
        }
    }
}
