//! A user's campaigns, newest first, each with its latest analytics row:
//! two statements whatever the number of campaigns (no N+1).

use std::collections::HashMap;

use entity::enums::CampaignStatus;
use entity::{analytics, campaign};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query as SqlQuery};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use serde::Serialize;

use super::{DashboardQuery, Query, QueryName};
use crate::error::Result;
use crate::{sql, validate};

/// A campaign and its most recent analytics row (by `date`, then `id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignWithAnalytics {
    /// The campaign.
    pub campaign: campaign::Model,
    /// Its latest analytics row, if it has any.
    pub latest_analytics: Option<analytics::Model>,
}

/// A user's campaigns (optionally of one status), newest first
/// (`campaigns_userId_status_createdAt_idx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CampaignsByUserAndStatus {
    /// The owner (`campaigns.userId`).
    pub user_id: String,
    /// Only this status, if given.
    pub status: Option<CampaignStatus>,
    /// At most this many campaigns (1..=1000, default 50).
    pub limit: u64,
}

impl CampaignsByUserAndStatus {
    /// Default limit.
    pub const DEFAULT_LIMIT: u64 = 50;

    /// Validated parameters.
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] for an empty user id or a bad limit.
    pub fn new(user_id: &str, status: Option<CampaignStatus>, limit: Option<u64>) -> Result<Self> {
        validate::id("user_id", user_id)?;
        Ok(Self {
            user_id: user_id.to_owned(),
            status,
            limit: validate::limit(limit, Self::DEFAULT_LIMIT)?,
        })
    }

    fn select(&self, status: CampaignStatus) -> sea_orm::Select<campaign::Entity> {
        campaign::Entity::find()
            .filter(campaign::Column::UserId.eq(self.user_id.as_str()))
            .filter(campaign::Column::Status.eq(status))
            .order_by_desc(campaign::Column::CreatedAt)
            .order_by_desc(campaign::Column::Id)
            .limit(self.limit)
    }
}

/// The latest analytics row of each campaign in `ids`: a window over the
/// rows of just those campaigns (`analytics_campaignId_type_date_idx`).
fn latest_analytics(ids: &[String]) -> sea_orm::sea_query::SelectStatement {
    let mut inner = analytics::Entity::find()
        .filter(analytics::Column::CampaignId.is_in(ids.iter().map(String::as_str)))
        .into_query();
    inner.expr_as(
        Expr::cust(
            r#"ROW_NUMBER() OVER (PARTITION BY "campaignId" ORDER BY "date" DESC, "id" DESC)"#,
        ),
        Alias::new("rn"),
    );
    SqlQuery::select()
        .expr(Expr::cust("*"))
        .from_subquery(inner, Alias::new("latest"))
        .and_where(Expr::col(Alias::new("rn")).eq(1))
        .to_owned()
}

impl DashboardQuery for CampaignsByUserAndStatus {
    type Output = Vec<CampaignWithAnalytics>;
    const NAME: QueryName = QueryName::CampaignsByUserAndStatus;

    fn validate(&self) -> Result<()> {
        validate::id("user_id", &self.user_id)?;
        validate::limit(Some(self.limit), Self::DEFAULT_LIMIT).map(|_| ())
    }

    fn key(&self) -> Query {
        Query::CampaignsByUserAndStatus(self.clone())
    }

    /// With a status, one index range in order; without, one branch per
    /// status ([`super::union_all`]).
    fn statement(&self, backend: DatabaseBackend) -> Statement {
        super::newest_first_by_status(backend, self.status, CampaignStatus::ALL, self.limit, |s| {
            self.select(s)
        })
    }

    async fn run<C: ConnectionTrait>(&self, conn: &C) -> Result<Self::Output, DbErr> {
        let campaigns: Vec<campaign::Model> =
            sql::fetch_statement(conn, self.statement(conn.get_database_backend())).await?;
        if campaigns.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = campaigns.iter().map(|c| c.id.clone()).collect();
        let latest: Vec<analytics::Model> = sql::fetch_all(conn, &latest_analytics(&ids)).await?;
        let mut by_campaign: HashMap<String, analytics::Model> = latest
            .into_iter()
            .filter_map(|a| a.campaign_id.clone().map(|id| (id, a)))
            .collect();
        Ok(campaigns
            .into_iter()
            .map(|campaign| {
                let latest_analytics = by_campaign.remove(&campaign.id);
                CampaignWithAnalytics {
                    campaign,
                    latest_analytics,
                }
            })
            .collect())
    }
}
