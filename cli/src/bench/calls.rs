//! The calls the benchmark makes: parameter pools read from the database,
//! drawn uniformly (latency) or Zipf-skewed (the dashboard workload), and
//! run through the service's repositories.

use std::sync::Arc;

use entity::Timestamp;
use entity::enums::{AnalyticsType, CampaignStatus, ContentStatus, Platform, UserRole};
use sea_orm::{ConnectionTrait, DbErr, Statement};
use service::prelude::*;
use service::queries::{
    AgentPerformance, AgentPerformanceReport, AnalyticsTimeSeries, CampaignAnalytics,
    CampaignWithAnalytics, CampaignsByUserAndStatus, ContentByPlatformAndStatus, DashboardQuery,
    DayCount, HighValueLeads, TrendingKeywords, UsersByRole,
};
use service::{NeonDb, Query, QueryName};

use super::zipf::{Rng, Zipf};

/// Existing values to draw parameters from.
pub struct Pools {
    /// Every user id, sorted.
    pub users: Vec<String>,
    /// Every agent id, sorted.
    pub agents: Vec<String>,
    /// Every campaign id, sorted.
    pub campaigns: Vec<String>,
    /// Every lead id, sorted.
    pub leads: Vec<String>,
    /// Latest analytics date (the end of the seeded data).
    pub data_end: Timestamp,
    windows: [(Timestamp, Timestamp); 3],
    zipf_users: Zipf,
    zipf_agents: Zipf,
    zipf_campaigns: Zipf,
    zipf_leads: Zipf,
}

async fn ids<C: ConnectionTrait>(conn: &C, table: &str) -> Result<Vec<String>, DbErr> {
    let sql = format!(r#"SELECT "id" FROM "{table}" ORDER BY "id""#);
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect()
}

/// The Zipf exponent of SPEC §9.
pub const ZIPF_S: f64 = 1.1;

impl Pools {
    /// Reads the pools from the database.
    ///
    /// # Errors
    /// The database's error.
    pub async fn load(db: &NeonDb) -> Result<Self, DbErr> {
        let conn = db.connection();
        let users = ids(conn, "users").await?;
        let agents = ids(conn, "agents").await?;
        let campaigns = ids(conn, "campaigns").await?;
        let leads = ids(conn, "leads").await?;
        let stmt = Statement::from_string(
            conn.get_database_backend(),
            r#"SELECT MAX("date") FROM "analytics""#,
        );
        let data_end = match conn.query_one_raw(stmt).await? {
            Some(row) => row.try_get_by_index::<Option<Timestamp>>(0)?,
            None => None,
        }
        .unwrap_or_else(Timestamp::now);
        Ok(Self {
            zipf_users: Zipf::new(users.len(), ZIPF_S),
            zipf_agents: Zipf::new(agents.len(), ZIPF_S),
            zipf_campaigns: Zipf::new(campaigns.len(), ZIPF_S),
            zipf_leads: Zipf::new(leads.len(), ZIPF_S),
            users,
            agents,
            campaigns,
            leads,
            windows: Self::compute_windows(data_end),
            data_end,
        })
    }

    /// Whether there is enough data to draw every query's parameters.
    pub fn is_usable(&self) -> bool {
        !self.users.is_empty() && !self.agents.is_empty() && !self.campaigns.is_empty()
    }

    /// Time windows ending a day after the later of the data's end and now
    /// (so new writes fall inside), 7, 30 and 90 days long.
    pub fn windows(&self) -> [(Timestamp, Timestamp); 3] {
        self.windows
    }

    fn compute_windows(data_end: Timestamp) -> [(Timestamp, Timestamp); 3] {
        // Fixed when the pools load, so that equal draws are equal keys.
        let end = data_end.as_datetime().max(chrono::Utc::now()) + chrono::Duration::days(1);
        let start = data_end.as_datetime();
        [7, 30, 90].map(|days| {
            (
                Timestamp::from(start - chrono::Duration::days(days)),
                Timestamp::from(end),
            )
        })
    }

    /// A Zipf-drawn user.
    pub fn hot_user(&self, rng: &mut Rng) -> &str {
        &self.users[self.zipf_users.sample(rng)]
    }

    /// A Zipf-drawn agent.
    pub fn hot_agent(&self, rng: &mut Rng) -> &str {
        &self.agents[self.zipf_agents.sample(rng)]
    }

    /// A Zipf-drawn campaign.
    pub fn hot_campaign(&self, rng: &mut Rng) -> &str {
        &self.campaigns[self.zipf_campaigns.sample(rng)]
    }

    /// A Zipf-drawn lead, if there are leads.
    pub fn hot_lead(&self, rng: &mut Rng) -> Option<&str> {
        (!self.leads.is_empty()).then(|| self.leads[self.zipf_leads.sample(rng)].as_str())
    }
}

const PERIODS: [&str; 3] = ["daily", "weekly", "monthly"];

/// Zipf over a small list (the first is the most frequent).
fn zipf_pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    // Precomputing per call is cheap for lists this short.
    items[Zipf::new(items.len(), ZIPF_S).sample(rng)]
}

/// How parameters are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// Uniformly over existing values, hot and cold alike (latency).
    Uniform,
    /// Zipf(1.1) over existing values (the dashboard workload).
    Zipf,
}

/// One call of a dashboard query with its parameters.
#[derive(Debug, Clone)]
pub struct Call(pub Query);

impl Call {
    /// Draws the parameters of `name`.
    pub fn draw(name: QueryName, pools: &Pools, rng: &mut Rng, how: Draw) -> Call {
        let zipf = how == Draw::Zipf;
        let pick_opt = |rng: &mut Rng, none_share: f64| -> bool { !rng.chance(none_share) };
        let windows = pools.windows();
        let key = match name {
            QueryName::UsersByRole => {
                let role = if zipf {
                    zipf_pick(rng, UserRole::ALL)
                } else {
                    *rng.pick(UserRole::ALL)
                };
                UsersByRole::new(role, None).map(|q| q.key())
            }
            QueryName::CampaignsByUserAndStatus => {
                let user = if zipf {
                    pools.hot_user(rng).to_owned()
                } else {
                    rng.pick(&pools.users).clone()
                };
                let status = pick_opt(rng, 0.5).then(|| {
                    if zipf {
                        zipf_pick(rng, CampaignStatus::ALL)
                    } else {
                        *rng.pick(CampaignStatus::ALL)
                    }
                });
                CampaignsByUserAndStatus::new(&user, status, None).map(|q| q.key())
            }
            QueryName::AgentPerformance => {
                let agent = if zipf {
                    pools.hot_agent(rng).to_owned()
                } else {
                    rng.pick(&pools.agents).clone()
                };
                let (from, to) = match if zipf {
                    zipf_pick(rng, &[0usize, 1, 2, 3])
                } else {
                    rng.below(4)
                } {
                    0 => (None, None),
                    i => (Some(windows[i - 1].0), Some(windows[i - 1].1)),
                };
                AgentPerformance::new(&agent, from, to).map(|q| q.key())
            }
            QueryName::CampaignAnalytics => {
                let campaign = if zipf {
                    pools.hot_campaign(rng).to_owned()
                } else {
                    rng.pick(&pools.campaigns).clone()
                };
                let t = pick_opt(rng, 0.5).then(|| {
                    if zipf {
                        zipf_pick(rng, AnalyticsType::ALL)
                    } else {
                        *rng.pick(AnalyticsType::ALL)
                    }
                });
                CampaignAnalytics::new(&campaign, t, None, None).map(|q| q.key())
            }
            QueryName::AnalyticsTimeSeries => {
                let t = if zipf {
                    zipf_pick(rng, AnalyticsType::ALL)
                } else {
                    *rng.pick(AnalyticsType::ALL)
                };
                let period = if zipf {
                    zipf_pick(rng, &PERIODS)
                } else {
                    *rng.pick(&PERIODS)
                };
                let (from, to) = if zipf {
                    windows[zipf_pick(rng, &[1usize, 0, 2])]
                } else {
                    *rng.pick(&windows)
                };
                AnalyticsTimeSeries::new(t, period, from, to).map(|q| q.key())
            }
            QueryName::HighValueLeads => {
                let min = if zipf {
                    zipf_pick(rng, &[7.0, 8.0, 9.0, 5.0])
                } else {
                    *rng.pick(&[5.0, 7.0, 8.0, 9.0])
                };
                HighValueLeads::new(Some(min), None).map(|q| q.key())
            }
            QueryName::TrendingKeywords => {
                let platform = pick_opt(rng, 0.3).then(|| {
                    if zipf {
                        zipf_pick(rng, Platform::ALL)
                    } else {
                        *rng.pick(Platform::ALL)
                    }
                });
                TrendingKeywords::new(platform, None, None).map(|q| q.key())
            }
            QueryName::ContentByPlatformAndStatus => {
                let platform = if zipf {
                    zipf_pick(rng, Platform::ALL)
                } else {
                    *rng.pick(Platform::ALL)
                };
                let status = pick_opt(rng, 0.5).then(|| {
                    if zipf {
                        zipf_pick(rng, ContentStatus::ALL)
                    } else {
                        *rng.pick(ContentStatus::ALL)
                    }
                });
                ContentByPlatformAndStatus::new(platform, status, None).map(|q| q.key())
            }
        };
        // Every parameter above is valid by construction.
        Call(key.unwrap_or_else(|e| unreachable!("benchmark drew invalid parameters: {e}")))
    }

    /// Runs the call through `db`'s repositories.
    ///
    /// # Errors
    /// The service's error.
    pub async fn run(&self, db: &NeonDb) -> service::Result<Answer> {
        Ok(match &self.0 {
            Query::UsersByRole(q) => {
                Answer::Users(db.users().by_role(q.role, Some(q.limit)).await?)
            }
            Query::CampaignsByUserAndStatus(q) => Answer::Campaigns(
                db.campaigns()
                    .by_user_and_status(&q.user_id, q.status, Some(q.limit))
                    .await?,
            ),
            Query::AgentPerformance(q) => Answer::Agent(
                db.executions()
                    .agent_performance(&q.agent_id, q.from, q.to)
                    .await?,
            ),
            Query::CampaignAnalytics(q) => Answer::Analytics(
                db.analytics()
                    .campaign_analytics(
                        &q.campaign_id,
                        q.r#type,
                        q.period.as_deref(),
                        Some(q.limit),
                    )
                    .await?,
            ),
            Query::AnalyticsTimeSeries(q) => Answer::Series(
                db.analytics()
                    .time_series(q.r#type, &q.period, q.from, q.to)
                    .await?,
            ),
            Query::HighValueLeads(q) => Answer::Leads(
                db.leads()
                    .high_value(Some(q.min_score.0), Some(q.limit))
                    .await?,
            ),
            Query::TrendingKeywords(q) => Answer::Trends(
                db.trends()
                    .trending(q.platform, Some(q.min_score.0), Some(q.limit))
                    .await?,
            ),
            Query::ContentByPlatformAndStatus(q) => Answer::Contents(
                db.contents()
                    .by_platform_and_status(q.platform, q.status, Some(q.limit))
                    .await?,
            ),
        })
    }

    /// Runs the same statement written directly in SeaORM, without the
    /// repository layer (the overhead baseline).
    ///
    /// # Errors
    /// The database's error.
    pub async fn run_direct(&self, db: &NeonDb) -> Result<(), DbErr> {
        self.run_on(db.connection()).await
    }

    /// Runs the query's statements on `conn` (any connection: the
    /// benchmark's statement recorder too), results dropped.
    ///
    /// # Errors
    /// The database's error.
    pub async fn run_on<C: ConnectionTrait>(&self, conn: &C) -> Result<(), DbErr> {
        match &self.0 {
            Query::UsersByRole(q) => drop(q.run(conn).await?),
            Query::CampaignsByUserAndStatus(q) => drop(q.run(conn).await?),
            Query::AgentPerformance(q) => drop(q.run(conn).await?),
            Query::CampaignAnalytics(q) => drop(q.run(conn).await?),
            Query::AnalyticsTimeSeries(q) => drop(q.run(conn).await?),
            Query::HighValueLeads(q) => drop(q.run(conn).await?),
            Query::TrendingKeywords(q) => drop(q.run(conn).await?),
            Query::ContentByPlatformAndStatus(q) => drop(q.run(conn).await?),
        }
        Ok(())
    }
}

/// A query's result, comparable across a cached read and its shadow.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Answer {
    Users(Arc<Vec<entity::user::Model>>),
    Campaigns(Arc<Vec<CampaignWithAnalytics>>),
    Agent(Arc<AgentPerformanceReport>),
    Analytics(Arc<Vec<entity::analytics::Model>>),
    Series(Arc<Vec<DayCount>>),
    Leads(Arc<Vec<entity::lead::Model>>),
    Trends(Arc<Vec<entity::trend::Model>>),
    Contents(Arc<Vec<entity::content::Model>>),
}
