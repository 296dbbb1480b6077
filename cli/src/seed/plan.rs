//! The tables, their load order, and the skeleton every generator shares:
//! ids, creation times and owners of the rows other rows point at.

use super::Counts;
use super::rng::{Popularity, Rng, Stream};
use super::text::{self, Id};
use super::vocab;

/// Zipf exponent of every skewed choice (SPEC §9).
pub(crate) const ZIPF_S: f64 = 1.1;

/// The 13 tables of the schema, parents before children.
pub const TABLE_NAMES: [&str; 13] = [
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

/// A table of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Table {
    Users,
    Accounts,
    Sessions,
    VerificationTokens,
    Campaigns,
    Agents,
    AgentExecutions,
    Analytics,
    AbTests,
    Contents,
    Leads,
    Trends,
    DesignTemplates,
}

impl Table {
    /// Every table, in the schema's order (parents before children).
    pub(crate) const ALL: [Table; 13] = [
        Table::Users,
        Table::Accounts,
        Table::Sessions,
        Table::VerificationTokens,
        Table::Campaigns,
        Table::Agents,
        Table::AgentExecutions,
        Table::Analytics,
        Table::AbTests,
        Table::Contents,
        Table::Leads,
        Table::Trends,
        Table::DesignTemplates,
    ];

    /// The order loads start in when several are ready: the longest chain
    /// (users → campaigns → analytics) first, the big independent tables
    /// next, small tables last.
    pub(crate) const PRIORITY: [Table; 13] = [
        Table::Users,
        Table::Campaigns,
        Table::Analytics,
        Table::Agents,
        Table::AgentExecutions,
        Table::Contents,
        Table::Leads,
        Table::Trends,
        Table::Accounts,
        Table::Sessions,
        Table::AbTests,
        Table::VerificationTokens,
        Table::DesignTemplates,
    ];

    /// The database name.
    pub(crate) fn name(self) -> &'static str {
        TABLE_NAMES[self as usize]
    }

    /// Position of a table name in the schema's order (unknown names last).
    pub(crate) fn position(name: &str) -> usize {
        TABLE_NAMES
            .iter()
            .position(|t| *t == name)
            .unwrap_or(TABLE_NAMES.len())
    }

    /// Rows of this table in `counts`.
    pub(crate) fn count(self, counts: &Counts) -> u64 {
        match self {
            Table::Users => counts.users,
            Table::Accounts => counts.accounts,
            Table::Sessions => counts.sessions,
            Table::VerificationTokens => counts.verification_tokens,
            Table::Campaigns => counts.campaigns,
            Table::Agents => counts.agents,
            Table::AgentExecutions => counts.agent_executions,
            Table::Analytics => counts.analytics,
            Table::AbTests => counts.ab_tests,
            Table::Contents => counts.contents,
            Table::Leads => counts.leads,
            Table::Trends => counts.trends,
            Table::DesignTemplates => counts.design_templates,
        }
    }

    /// The random stream of this table's rows.
    pub(crate) fn stream(self) -> Stream {
        match self {
            Table::Users => Stream::Users,
            Table::Accounts => Stream::Accounts,
            Table::Sessions => Stream::Sessions,
            Table::VerificationTokens => Stream::VerificationTokens,
            Table::Campaigns => Stream::Campaigns,
            Table::Agents => Stream::Agents,
            Table::AgentExecutions => Stream::AgentExecutions,
            Table::Analytics => Stream::Analytics,
            Table::AbTests => Stream::AbTests,
            Table::Contents => Stream::Contents,
            Table::Leads => Stream::Leads,
            Table::Trends => Stream::Trends,
            Table::DesignTemplates => Stream::DesignTemplates,
        }
    }

    /// The schema's description of the table (columns in order, foreign
    /// keys).
    pub(crate) fn schema(self) -> Option<&'static migration::schema::Table> {
        migration::schema::TABLES
            .iter()
            .find(|t| t.name == self.name())
    }

    /// The column names, in the order the generators write them.
    pub(crate) fn columns(self) -> Vec<&'static str> {
        self.schema()
            .map(|t| t.columns.iter().map(|c| c.name).collect())
            .unwrap_or_default()
    }

    /// The tables this one references (which must be loaded first).
    pub(crate) fn parents(self) -> Vec<Table> {
        let mut out: Vec<Table> = self
            .schema()
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter_map(|fk| Table::by_name(fk.references))
                    .collect()
            })
            .unwrap_or_default();
        out.dedup();
        out
    }

    /// The table of a database name.
    pub(crate) fn by_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether another table has a foreign key to this one.
    pub(crate) fn is_referenced(self) -> bool {
        Table::ALL.iter().any(|t| t.parents().contains(&self))
    }
}

/// A row other rows point at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anchor {
    /// Its id.
    pub(crate) id: Id,
    /// When it was created (ms).
    pub(crate) created: i64,
}

/// A campaign: its id, creation time and owner (an index into users).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CampaignAnchor {
    /// Id and creation time.
    pub(crate) anchor: Anchor,
    /// Index of the owning user.
    pub(crate) owner: u32,
}

/// An agent: id, creation time and kind (an index into
/// [`vocab::AGENT_KINDS`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AgentAnchor {
    /// Id and creation time.
    pub(crate) anchor: Anchor,
    /// Index into [`vocab::AGENT_KINDS`].
    pub(crate) kind: u8,
}

/// Everything generators share: the seed, the counts, the rows other rows
/// reference and how popular each is.
pub(crate) struct Plan {
    pub(crate) seed: u64,
    pub(crate) counts: Counts,
    pub(crate) users: Vec<Anchor>,
    pub(crate) agents: Vec<AgentAnchor>,
    pub(crate) campaigns: Vec<CampaignAnchor>,
    /// Zipf over users: who is active.
    pub(crate) user_pop: Popularity,
    /// Zipf over campaigns: which campaigns get analytics and executions.
    pub(crate) campaign_pop: Popularity,
    /// Zipf over agents: which agents run most.
    pub(crate) agent_pop: Popularity,
}

/// `36^8`: the range of an id's random part.
pub(crate) const ID_RANDOM_RANGE: u64 = 2_821_109_907_456;

impl Plan {
    /// The skeleton for `seed` and `counts`.
    pub(crate) fn new(seed: u64, counts: Counts) -> Self {
        let mut pop_rng = Rng::new(seed, Stream::Popularity);
        let user_pop = Popularity::new(counts.users, ZIPF_S, &mut pop_rng);
        let campaign_pop = Popularity::new(counts.campaigns, ZIPF_S, &mut pop_rng);
        let agent_pop = Popularity::new(counts.agents, ZIPF_S, &mut pop_rng);

        let users = anchors(seed, Table::Users, counts.users, Stream::UserSkeleton);

        let mut rng = Rng::new(seed, Stream::AgentKinds);
        let kinds: Vec<(u8, u32)> = vocab::AGENT_KINDS
            .iter()
            .enumerate()
            .map(|(i, k)| (i as u8, k.weight))
            .collect();
        let agents = anchors(seed, Table::Agents, counts.agents, Stream::AgentSkeleton)
            .into_iter()
            .map(|anchor| AgentAnchor {
                anchor,
                kind: rng.weighted(&kinds),
            })
            .collect();

        let mut rng = Rng::new(seed, Stream::CampaignOwners);
        let campaigns = anchors(
            seed,
            Table::Campaigns,
            counts.campaigns,
            Stream::CampaignSkeleton,
        )
        .into_iter()
        .map(|anchor| CampaignAnchor {
            anchor,
            owner: if counts.users == 0 {
                0
            } else {
                user_pop.sample(&mut rng) as u32
            },
        })
        .collect();

        Self {
            seed,
            counts,
            users,
            agents,
            campaigns,
            user_pop,
            campaign_pop,
            agent_pop,
        }
    }

    /// The id fingerprint of `table`.
    pub(crate) fn fingerprint(&self, table: Table) -> [u8; 4] {
        text::fingerprint(self.seed, table as u64)
    }
}

/// Ids and creation times of `n` rows of `table`, in creation order.
fn anchors(seed: u64, table: Table, n: u64, stream: Stream) -> Vec<Anchor> {
    let mut rng = Rng::new(seed, stream);
    let fp = text::fingerprint(seed, table as u64);
    (0..n)
        .map(|i| {
            let created = text::timeline(i, n, rng.unit());
            Anchor {
                id: text::make_id(created, i, fp, rng.below(ID_RANDOM_RANGE)),
                created,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_schema() {
        let schema: Vec<&str> = migration::schema::TABLES.iter().map(|t| t.name).collect();
        assert_eq!(schema, TABLE_NAMES.to_vec());
        for t in Table::ALL {
            assert_eq!(Table::by_name(t.name()), Some(t));
            assert!(Table::PRIORITY.contains(&t));
        }
    }

    #[test]
    fn dependencies() {
        assert!(Table::Users.parents().is_empty());
        assert_eq!(
            Table::AgentExecutions.parents(),
            vec![Table::Agents, Table::Campaigns, Table::Users]
        );
        let referenced: Vec<Table> = Table::ALL
            .into_iter()
            .filter(|t| t.is_referenced())
            .collect();
        assert_eq!(
            referenced,
            vec![Table::Users, Table::Campaigns, Table::Agents]
        );
        // Priority order never starts a child before its parents could.
        for (i, t) in Table::PRIORITY.iter().enumerate() {
            for p in t.parents() {
                let j = Table::PRIORITY.iter().position(|x| *x == p);
                assert!(j.is_some_and(|j| j < i), "{t:?} before its parent {p:?}");
            }
        }
    }

    #[test]
    fn anchors_have_unique_increasing_ids() {
        let a = anchors(42, Table::Campaigns, 20_000, Stream::CampaignSkeleton);
        for w in a.windows(2) {
            assert!(w[0].created <= w[1].created);
            assert!(w[0].id < w[1].id, "{:?}", w);
        }
    }
}
