//! Which cached results a change can affect: the precise check, and the
//! dependency tags that find the candidates without scanning the cache.
//!
//! **The precise check** ([`affected`]) looks at a key's parameters, its
//! cached result and the changed row ([`RowChange`]). A list result is
//! affected if it holds the row, or if the row after the change passes the
//! key's filters and would rank within the list (the list is not full, or
//! the row sorts at or before its last element). Aggregates are affected
//! by rows in their range, before or after the change. Deletes of users
//! and campaigns, whose foreign keys SET NULL elsewhere, affect every
//! result that shows a reference to them. Whatever is not known about a
//! row (`None`, [`Old::Unknown`], [`Row::Unknown`]) is assumed to match:
//! correct first.
//!
//! **Dependency tags** ([`tags_of`], [`probes_of`]): every cached entry is
//! indexed under tags computed from its key and result (its query family;
//! the owner, agent, campaign, role, platform or analytics type it is
//! about; the id of every row it holds or references), and a change
//! probes the tags it could touch. The rule that keeps this correct:
//! whenever [`affected`] can answer `true`, one of the change's probes is
//! among the entry's tags. Anything the change does not know probes the
//! whole family. Tags are 64-bit hashes; a collision only adds a
//! candidate, which the precise check then keeps.

use std::any::Any;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use entity::Timestamp;

use crate::change::{ChangeKind, Old, Row, RowChange, Table};
use crate::queries::{AgentPerformanceReport, CampaignWithAnalytics, DayCount, Query, QueryName};

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

/// The tables each family's results are computed from.
pub(crate) fn reads(name: QueryName, table: Table) -> bool {
    use QueryName as N;
    use Table as T;
    match name {
        N::UsersByRole => table == T::Users,
        N::CampaignsByUserAndStatus => matches!(table, T::Campaigns | T::Analytics | T::Users),
        N::AgentPerformance => matches!(table, T::AgentExecutions | T::Campaigns | T::Users),
        N::CampaignAnalytics => matches!(table, T::Analytics | T::Campaigns | T::Users),
        N::AnalyticsTimeSeries => table == T::Analytics,
        N::HighValueLeads => table == T::Leads,
        N::TrendingKeywords => table == T::Trends,
        N::ContentByPlatformAndStatus => table == T::Contents,
    }
}

/// Whether `change` can alter the cached `value` of `key`. Unknown value
/// types answer `true` (correct first).
pub(crate) fn affected(key: &Query, value: &(dyn Any + Send + Sync), change: &RowChange) -> bool {
    let kind = change.kind;
    let live = kind != ChangeKind::Deleted;
    if let Row::Unknown(table) = &change.row {
        return reads(key.name(), *table);
    }
    match key {
        Query::UsersByRole(q) => {
            let Some(rows) = downcast::<Vec<entity::user::Model>>(value) else {
                return true;
            };
            match &change.row {
                Row::User { id, new } => {
                    rows.iter().any(|r| &r.id == id)
                        || (live
                            && new.as_ref().is_none_or(|n| {
                                n.role == q.role
                                    && ranks_in(
                                        rows.len() as u64 >= q.limit,
                                        (n.created_at, id.as_str()),
                                        rows.last().map(|l| (l.created_at, l.id.as_str())),
                                    )
                            }))
                }
                _ => false,
            }
        }
        Query::CampaignsByUserAndStatus(q) => {
            let Some(rows) = downcast::<Vec<CampaignWithAnalytics>>(value) else {
                return true;
            };
            match &change.row {
                Row::Campaign { id, new } => {
                    rows.iter().any(|r| &r.campaign.id == id)
                        || (live
                            && new.as_ref().is_none_or(|n| {
                                n.user_id == q.user_id
                                    && q.status.is_none_or(|s| s == n.status)
                                    && ranks_in(
                                        rows.len() as u64 >= q.limit,
                                        (n.created_at, id.as_str()),
                                        rows.last().map(|l| {
                                            (l.campaign.created_at, l.campaign.id.as_str())
                                        }),
                                    )
                            }))
                }
                Row::Analytics { id, new, .. } => {
                    // The latest row of a listed campaign changed or left.
                    if rows
                        .iter()
                        .any(|r| r.latest_analytics.as_ref().is_some_and(|a| &a.id == id))
                    {
                        return true;
                    }
                    if !live {
                        return false; // a row that was not the latest
                    }
                    let Some(n) = new else {
                        return true;
                    };
                    let Some(cid) = &n.campaign_id else {
                        return false;
                    };
                    rows.iter().filter(|r| &r.campaign.id == cid).any(|r| {
                        match &r.latest_analytics {
                            None => true,
                            Some(latest) => {
                                (n.date, id.as_str()) > (latest.date, latest.id.as_str())
                            }
                        }
                    })
                }
                Row::User { id, .. } if !live => rows.iter().any(|r| {
                    r.campaign.user_id2.as_deref() == Some(id.as_str())
                        || r.latest_analytics
                            .as_ref()
                            .is_some_and(|a| a.user_id.as_deref() == Some(id.as_str()))
                }),
                _ => false,
            }
        }
        Query::AgentPerformance(q) => {
            let Some(report) = downcast::<AgentPerformanceReport>(value) else {
                return true;
            };
            match &change.row {
                Row::Execution { id, new, old } => {
                    let hit = |k: &crate::change::ExecutionKey| {
                        k.agent_id == q.agent_id && in_range(k.started_at, q.from, q.to)
                    };
                    let new_hits = new.as_ref().is_none_or(hit);
                    let old_hits = match old {
                        Old::Same => false,
                        Old::Known(o) => hit(o),
                        Old::Unknown => true,
                    };
                    report.recent_completed.iter().any(|e| &e.id == id)
                        || match kind {
                            ChangeKind::Inserted => new_hits,
                            ChangeKind::Updated => new_hits || old_hits,
                            ChangeKind::Deleted => {
                                matches!(old, Old::Same | Old::Unknown) || old_hits
                            }
                        }
                }
                Row::Campaign { id, .. } if !live => report
                    .recent_completed
                    .iter()
                    .any(|e| e.campaign_id.as_deref() == Some(id.as_str())),
                Row::User { id, .. } if !live => report
                    .recent_completed
                    .iter()
                    .any(|e| e.user_id.as_deref() == Some(id.as_str())),
                _ => false,
            }
        }
        Query::CampaignAnalytics(q) => {
            let Some(rows) = downcast::<Vec<entity::analytics::Model>>(value) else {
                return true;
            };
            match &change.row {
                Row::Analytics { id, new, .. } => {
                    rows.iter().any(|r| &r.id == id)
                        || (live
                            && new.as_ref().is_none_or(|n| {
                                n.campaign_id.as_deref() == Some(q.campaign_id.as_str())
                                    && q.r#type.is_none_or(|t| t == n.r#type)
                                    && q.period
                                        .as_ref()
                                        .is_none_or(|p| n.period.as_ref() == Some(p))
                                    && ranks_in(
                                        rows.len() as u64 >= q.limit,
                                        (n.date, id.as_str()),
                                        rows.last().map(|l| (l.date, l.id.as_str())),
                                    )
                            }))
                }
                Row::Campaign { id, .. } if !live => id == &q.campaign_id,
                Row::User { id, .. } if !live => rows
                    .iter()
                    .any(|r| r.user_id.as_deref() == Some(id.as_str())),
                _ => false,
            }
        }
        Query::AnalyticsTimeSeries(q) => {
            if downcast::<Vec<DayCount>>(value).is_none() {
                return true;
            }
            match &change.row {
                Row::Analytics { new, old, .. } => {
                    let hit = |k: &crate::change::AnalyticsKey| {
                        k.r#type == q.r#type
                            && k.period.as_deref() == Some(q.period.as_str())
                            && in_range(k.date, Some(q.from), Some(q.to))
                    };
                    let new_hits = live && new.as_ref().is_none_or(hit);
                    let old_hits = match old {
                        // "Unchanged" says nothing of a deleted row.
                        Old::Same => kind == ChangeKind::Deleted,
                        Old::Known(o) => hit(o),
                        Old::Unknown => kind != ChangeKind::Inserted,
                    };
                    new_hits || old_hits
                }
                _ => false,
            }
        }
        Query::HighValueLeads(q) => {
            let Some(rows) = downcast::<Vec<entity::lead::Model>>(value) else {
                return true;
            };
            match &change.row {
                Row::Lead { id, new } => {
                    rows.iter().any(|r| &r.id == id)
                        || (live
                            && new.as_ref().is_none_or(|n| {
                                n.score.is_some_and(|s| s >= q.min_score.0)
                                    && ranks_in(
                                        rows.len() as u64 >= q.limit,
                                        (n.score, n.created_at, id.as_str()),
                                        rows.last().map(|r| (r.score, r.created_at, r.id.as_str())),
                                    )
                            }))
                }
                _ => false,
            }
        }
        Query::TrendingKeywords(q) => {
            let Some(rows) = downcast::<Vec<entity::trend::Model>>(value) else {
                return true;
            };
            match &change.row {
                Row::Trend { id, new } => {
                    rows.iter().any(|r| &r.id == id)
                        || (live
                            && new.as_ref().is_none_or(|n| {
                                q.platform.is_none_or(|p| p == n.platform)
                                    && n.score >= q.min_score.0
                                    && ranks_in(
                                        rows.len() as u64 >= q.limit,
                                        (n.score, n.detected_at, id.as_str()),
                                        rows.last()
                                            .map(|r| (r.score, r.detected_at, r.id.as_str())),
                                    )
                            }))
                }
                _ => false,
            }
        }
        Query::ContentByPlatformAndStatus(q) => {
            let Some(rows) = downcast::<Vec<entity::content::Model>>(value) else {
                return true;
            };
            match &change.row {
                Row::Content { id, new } => {
                    rows.iter().any(|r| &r.id == id)
                        || (live
                            && new.as_ref().is_none_or(|n| {
                                n.platform == q.platform
                                    && q.status.is_none_or(|s| s == n.status)
                                    && ranks_in(
                                        rows.len() as u64 >= q.limit,
                                        (n.created_at, id.as_str()),
                                        rows.last().map(|r| (r.created_at, r.id.as_str())),
                                    )
                            }))
                }
                _ => false,
            }
        }
    }
}

/// A dependency tag: a 64-bit hash of what an entry depends on.
pub(crate) type Tag = u64;

#[derive(Hash)]
enum TagOf<'a> {
    Family(QueryName),
    Role(entity::enums::UserRole),
    Owner(&'a str),
    Agent(&'a str),
    Campaign(&'a str),
    SeriesType(entity::enums::AnalyticsType),
    Platform(entity::enums::Platform),
    Row(Table, &'a str),
}

fn tag(t: TagOf<'_>) -> Tag {
    // SipHash with fixed keys: stable within the process, which is all an
    // in-memory index needs.
    let mut h = std::hash::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// The tag every entry of `name` carries.
pub(crate) fn family_tag(name: QueryName) -> Tag {
    tag(TagOf::Family(name))
}

/// The tags an entry is indexed under (see the module documentation).
pub(crate) fn tags_of(key: &Query, value: &(dyn Any + Send + Sync)) -> Vec<Tag> {
    let mut out = vec![family_tag(key.name())];
    let mut rows = |table: Table, ids: &mut dyn Iterator<Item = &str>| {
        out.extend(ids.map(|id| tag(TagOf::Row(table, id))));
    };
    match key {
        Query::UsersByRole(q) => {
            if let Some(v) = downcast::<Vec<entity::user::Model>>(value) {
                rows(Table::Users, &mut v.iter().map(|u| u.id.as_str()));
            }
            out.push(tag(TagOf::Role(q.role)));
        }
        Query::CampaignsByUserAndStatus(q) => {
            if let Some(v) = downcast::<Vec<CampaignWithAnalytics>>(value) {
                rows(
                    Table::Campaigns,
                    &mut v.iter().map(|c| c.campaign.id.as_str()),
                );
                rows(
                    Table::Analytics,
                    &mut v
                        .iter()
                        .filter_map(|c| c.latest_analytics.as_ref().map(|a| a.id.as_str())),
                );
                rows(
                    Table::Users,
                    &mut v.iter().flat_map(|c| {
                        c.campaign.user_id2.as_deref().into_iter().chain(
                            c.latest_analytics
                                .as_ref()
                                .and_then(|a| a.user_id.as_deref()),
                        )
                    }),
                );
            }
            out.push(tag(TagOf::Owner(&q.user_id)));
        }
        Query::AgentPerformance(q) => {
            if let Some(r) = downcast::<AgentPerformanceReport>(value) {
                let recent = &r.recent_completed;
                rows(
                    Table::AgentExecutions,
                    &mut recent.iter().map(|e| e.id.as_str()),
                );
                rows(
                    Table::Campaigns,
                    &mut recent.iter().filter_map(|e| e.campaign_id.as_deref()),
                );
                rows(
                    Table::Users,
                    &mut recent.iter().filter_map(|e| e.user_id.as_deref()),
                );
            }
            out.push(tag(TagOf::Agent(&q.agent_id)));
        }
        Query::CampaignAnalytics(q) => {
            if let Some(v) = downcast::<Vec<entity::analytics::Model>>(value) {
                rows(Table::Analytics, &mut v.iter().map(|a| a.id.as_str()));
                rows(
                    Table::Users,
                    &mut v.iter().filter_map(|a| a.user_id.as_deref()),
                );
            }
            out.push(tag(TagOf::Campaign(&q.campaign_id)));
        }
        Query::AnalyticsTimeSeries(q) => out.push(tag(TagOf::SeriesType(q.r#type))),
        Query::HighValueLeads(_) | Query::TrendingKeywords(_) => {}
        Query::ContentByPlatformAndStatus(q) => {
            if let Some(v) = downcast::<Vec<entity::content::Model>>(value) {
                rows(Table::Contents, &mut v.iter().map(|c| c.id.as_str()));
            }
            out.push(tag(TagOf::Platform(q.platform)));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The tags a change probes (see the module documentation).
pub(crate) fn probes_of(change: &RowChange) -> Vec<Tag> {
    let family = |n: QueryName| family_tag(n);
    let row = |t: Table, id: &str| tag(TagOf::Row(t, id));
    let mut out = Vec::with_capacity(6);
    match &change.row {
        Row::User { id, new } => {
            out.push(row(Table::Users, id));
            match new {
                Some(n) => out.push(tag(TagOf::Role(n.role))),
                None if change.kind != ChangeKind::Deleted => {
                    out.push(family(QueryName::UsersByRole));
                }
                None => {}
            }
        }
        Row::Campaign { id, new } => {
            out.push(row(Table::Campaigns, id));
            out.push(tag(TagOf::Campaign(id)));
            match new {
                Some(n) => out.push(tag(TagOf::Owner(&n.user_id))),
                None if change.kind != ChangeKind::Deleted => {
                    out.push(family(QueryName::CampaignsByUserAndStatus));
                }
                None => {}
            }
        }
        Row::Execution { id, new, old } => {
            out.push(row(Table::AgentExecutions, id));
            let mut whole = false;
            match new {
                Some(n) => out.push(tag(TagOf::Agent(&n.agent_id))),
                None => whole |= change.kind != ChangeKind::Deleted,
            }
            match old {
                Old::Known(o) => out.push(tag(TagOf::Agent(&o.agent_id))),
                // "Unchanged" says nothing of a deleted row.
                Old::Same => whole |= change.kind == ChangeKind::Deleted,
                Old::Unknown => whole |= change.kind != ChangeKind::Inserted,
            }
            if whole {
                out.push(family(QueryName::AgentPerformance));
            }
        }
        Row::Analytics { id, new, old } => {
            out.push(row(Table::Analytics, id));
            let about = |k: &crate::change::AnalyticsKey, out: &mut Vec<Tag>| {
                if let Some(cid) = &k.campaign_id {
                    out.push(tag(TagOf::Campaign(cid)));
                    out.push(row(Table::Campaigns, cid));
                }
                out.push(tag(TagOf::SeriesType(k.r#type)));
            };
            match new {
                Some(n) => about(n, &mut out),
                None if change.kind != ChangeKind::Deleted => {
                    out.push(family(QueryName::CampaignsByUserAndStatus));
                    out.push(family(QueryName::CampaignAnalytics));
                    out.push(family(QueryName::AnalyticsTimeSeries));
                }
                None => {}
            }
            match old {
                Old::Known(o) => about(o, &mut out),
                Old::Same if change.kind != ChangeKind::Deleted => {}
                Old::Same | Old::Unknown if change.kind != ChangeKind::Inserted => {
                    out.push(family(QueryName::AnalyticsTimeSeries));
                }
                Old::Same | Old::Unknown => {}
            }
        }
        Row::Content { id, new } => {
            out.push(row(Table::Contents, id));
            match new {
                Some(n) => out.push(tag(TagOf::Platform(n.platform))),
                None if change.kind != ChangeKind::Deleted => {
                    out.push(family(QueryName::ContentByPlatformAndStatus));
                }
                None => {}
            }
        }
        Row::Lead { .. } => out.push(family(QueryName::HighValueLeads)),
        Row::Trend { .. } => out.push(family(QueryName::TrendingKeywords)),
        Row::Unknown(table) => {
            for name in QueryName::ALL {
                if reads(name, *table) {
                    out.push(family(name));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
