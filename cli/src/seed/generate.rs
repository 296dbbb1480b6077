//! One row generator per table. Each writes its table's columns in schema
//! order through a [`Sink`], drawing from its own random stream, so a
//! table's rows depend only on the seed and the shared [`Plan`].

use std::sync::Arc;

use entity::enums::{
    AbTestStatus, AgentStatus, AnalyticsType, CampaignStatus, CampaignType, ContentStatus,
    ContentType, ExecutionStatus, LeadStatus, Platform, UserRole,
};

use super::plan::{ID_RANDOM_RANGE, Plan, Table};
use super::rng::{Popularity, Rng, Scatter};
use super::sink::{ChunkSink, Sink};
use super::text::{self, DAY_MS, Id, Json, NOW_MS, id_str, push_alnum, push_hex, push_int, round};
use super::vocab::{self, AGENT_KINDS};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// Generates the rows of `table` into `sink`, handing each full chunk to
/// `emit` with its row count. Stops early (returning `false`) when `emit`
/// returns `false`.
pub(crate) fn produce<S: ChunkSink>(
    table: Table,
    plan: &Arc<Plan>,
    sink: &mut S,
    emit: impl FnMut(u64, S::Chunk) -> bool,
) -> bool {
    let n = table.count(&plan.counts);
    let base = Base::new(plan, table);
    match table {
        Table::Users => drive(Users(base), n, sink, emit),
        Table::Accounts => drive(Accounts::new(base), n, sink, emit),
        Table::Sessions => drive(Sessions(base), n, sink, emit),
        Table::VerificationTokens => drive(VerificationTokens(base), n, sink, emit),
        Table::Campaigns => drive(Campaigns(base), n, sink, emit),
        Table::Agents => drive(Agents(base), n, sink, emit),
        Table::AgentExecutions => drive(Executions(base), n, sink, emit),
        Table::Analytics => drive(Analytics(base), n, sink, emit),
        Table::AbTests => drive(AbTests(base), n, sink, emit),
        Table::Contents => drive(Contents(base), n, sink, emit),
        Table::Leads => drive(Leads(base), n, sink, emit),
        Table::Trends => drive(Trends::new(base), n, sink, emit),
        Table::DesignTemplates => drive(DesignTemplates(base), n, sink, emit),
    }
}

fn drive<G: RowGen, S: ChunkSink>(
    mut generator: G,
    n: u64,
    sink: &mut S,
    mut emit: impl FnMut(u64, S::Chunk) -> bool,
) -> bool {
    for i in 0..n {
        generator.row(i, sink);
        if sink.is_full() {
            let rows = sink.rows();
            if !emit(rows, sink.take()) {
                return false;
            }
        }
    }
    if sink.rows() > 0 {
        let rows = sink.rows();
        if !emit(rows, sink.take()) {
            return false;
        }
    }
    true
}

/// Writes row `i` of a table.
trait RowGen {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S);
}

/// What every generator has: the plan, its random stream, its id
/// fingerprint, its row count and scratch strings reused for every row.
struct Base {
    plan: Arc<Plan>,
    rng: Rng,
    fp: [u8; 4],
    n: u64,
    a: String,
    b: String,
    c: String,
    d: String,
    idx: Vec<usize>,
}

impl Base {
    fn new(plan: &Arc<Plan>, table: Table) -> Self {
        Self {
            plan: Arc::clone(plan),
            rng: Rng::new(plan.seed, table.stream()),
            fp: plan.fingerprint(table),
            n: table.count(&plan.counts),
            a: String::with_capacity(512),
            b: String::with_capacity(512),
            c: String::with_capacity(512),
            d: String::with_capacity(512),
            idx: Vec::with_capacity(8),
        }
    }

    /// Creation time of row `i` (non-decreasing in `i`).
    fn created(&mut self, i: u64) -> i64 {
        text::timeline(i, self.n, self.rng.unit())
    }

    /// The id of row `i`, created at `ms`.
    fn id(&mut self, ms: i64, i: u64) -> Id {
        text::make_id(ms, i, self.fp, self.rng.below(ID_RANDOM_RANGE))
    }

    /// An update time after `created`: most rows change soon after
    /// creation, few much later.
    fn updated(&mut self, created: i64) -> i64 {
        let u = self.rng.unit();
        created + ((NOW_MS - created).max(0) as f64 * u * u * u * u) as i64
    }

    fn user_id(&self, index: usize) -> Option<&Id> {
        self.plan.users.get(index).map(|u| &u.id)
    }

    fn sample(&mut self, pop: Popularity) -> usize {
        pop.sample(&mut self.rng)
    }
}

/// Appends `s` in lower case.
fn push_lower(out: &mut String, s: &str) {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
    }
}

fn picks(
    rng: &mut Rng,
    from: &'static [&'static str],
    k: usize,
    idx: &mut Vec<usize>,
    out: &mut Vec<&'static str>,
) {
    rng.distinct(from.len(), k, idx);
    out.clear();
    out.extend(idx.iter().map(|&i| from[i]));
}

// ---------------------------------------------------------------- users

const ROLES: &[(&str, u32)] = &[
    (UserRole::User.as_str(), 85),
    (UserRole::Manager.as_str(), 8),
    (UserRole::Viewer.as_str(), 5),
    (UserRole::Admin.as_str(), 2),
];

struct Users(Base);

impl RowGen for Users {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let Some(user) = b.plan.users.get(i as usize).copied() else {
            return;
        };
        let rng = &mut b.rng;
        let first = rng.pick(vocab::FIRST_NAMES);
        let last = rng.pick(vocab::LAST_NAMES);
        let domain = rng.weighted(vocab::EMAIL_DOMAINS);
        b.a.clear();
        push_lower(&mut b.a, first);
        b.a.push('.');
        push_lower(&mut b.a, last);
        push_int(&mut b.a, i as i64);
        b.a.push('@');
        b.a.push_str(domain);
        let named = rng.chance(0.94);
        b.b.clear();
        b.b.push_str(first);
        b.b.push(' ');
        b.b.push_str(last);
        let role = rng.weighted(ROLES);
        let avatar = rng.chance(0.55);
        b.c.clear();
        b.c.push_str("https://cdn.neonhub.ai/avatars/");
        b.c.push_str(id_str(&user.id));
        b.c.push_str(".png");
        let verified = rng
            .chance(0.8)
            .then(|| (user.created + rng.between(MINUTE_MS, 3 * DAY_MS)).min(NOW_MS));
        let updated = b.updated(user.created);

        out.text(id_str(&user.id));
        out.text(&b.a);
        out.opt_text(named.then_some(b.b.as_str()));
        out.text(role);
        out.opt_text(avatar.then_some(b.c.as_str()));
        out.opt_timestamp(verified);
        out.timestamp(user.created);
        out.timestamp(updated);
        out.end_row();
    }
}

// ---------------------------------------------------------------- accounts

struct Accounts {
    base: Base,
    /// Which user account `i` belongs to: distinct users for `i < users`.
    owners: Scatter,
}

impl Accounts {
    fn new(mut base: Base) -> Self {
        let owners = Scatter::new(base.plan.counts.users, &mut base.rng);
        Self { base, owners }
    }
}

impl RowGen for Accounts {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.base;
        let users = b.plan.counts.users.max(1);
        let created = b.created(i);
        let id = b.id(created, i);
        let owner = self.owners.map(i % users) as usize;
        let Some(user) = b.user_id(owner).copied() else {
            return;
        };
        let rng = &mut b.rng;
        let provider = rng.weighted(vocab::OAUTH_PROVIDERS);
        // providerAccountId: random digits of a fixed length per provider,
        // then the row number: unique per provider.
        b.a.clear();
        let digits = match provider {
            "google" => 15,
            "github" => 6,
            _ => 10,
        };
        for _ in 0..digits {
            push_int(&mut b.a, rng.below(10) as i64);
        }
        push_int(&mut b.a, i as i64);
        let refresh = rng.chance(0.7);
        b.b.clear();
        b.b.push_str("1//0");
        push_alnum(&mut b.b, rng, 60);
        let access = rng.chance(0.95);
        b.c.clear();
        b.c.push_str(if provider == "google" {
            "ya29."
        } else {
            "gho_"
        });
        push_alnum(&mut b.c, rng, if provider == "google" { 120 } else { 36 });
        let expires = rng
            .chance(0.85)
            .then(|| NOW_MS / 1000 + rng.between(-30 * 86_400, 3_600));
        let token_type = rng.chance(0.95).then_some("Bearer");
        let scoped = rng.chance(0.95);
        let scope = match provider {
            "google" => "openid email profile",
            "github" => "read:user user:email",
            "linkedin" => "openid profile email w_member_social",
            _ => "email public_profile pages_manage_posts",
        };
        let id_token = provider == "google" && rng.chance(0.8);
        b.d.clear();
        b.d.push_str("eyJhbGciOiJSUzI1NiIsImtpZCI6IjE2In0.");
        push_alnum(&mut b.d, rng, 220);
        b.d.push('.');
        push_alnum(&mut b.d, rng, 86);
        let session_state = rng.chance(0.1);

        out.text(id_str(&id));
        out.text(id_str(&user));
        out.text("oauth");
        out.text(provider);
        out.text(&b.a);
        out.opt_text(refresh.then_some(b.b.as_str()));
        out.opt_text(access.then_some(b.c.as_str()));
        out.opt_int(expires);
        out.opt_text(token_type);
        out.opt_text(scoped.then_some(scope));
        out.opt_text(id_token.then_some(b.d.as_str()));
        out.opt_text(session_state.then_some("active"));
        out.end_row();
    }
}

// ---------------------------------------------------------------- sessions

struct Sessions(Base);

impl RowGen for Sessions {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let created = b.created(i);
        let id = b.id(created, i);
        let user_pop = b.plan.user_pop;
        let owner = b.sample(user_pop);
        let Some(user) = b.user_id(owner).copied() else {
            return;
        };
        let rng = &mut b.rng;
        b.a.clear();
        for _ in 0..3 {
            push_hex(&mut b.a, rng.u64(), 16);
        }
        push_hex(&mut b.a, i, 16);
        let expires = NOW_MS + rng.between(-30 * DAY_MS, 30 * DAY_MS);

        out.text(id_str(&id));
        out.text(&b.a);
        out.text(id_str(&user));
        out.timestamp(expires);
        out.end_row();
    }
}

// ---------------------------------------------------------------- verification tokens

struct VerificationTokens(Base);

impl RowGen for VerificationTokens {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let rng = &mut b.rng;
        b.a.clear();
        push_lower(&mut b.a, rng.pick(vocab::FIRST_NAMES));
        b.a.push('.');
        push_lower(&mut b.a, rng.pick(vocab::LAST_NAMES));
        b.a.push('@');
        b.a.push_str(rng.weighted(vocab::EMAIL_DOMAINS));
        b.b.clear();
        for _ in 0..3 {
            push_hex(&mut b.b, rng.u64(), 16);
        }
        push_hex(&mut b.b, i, 16);
        let expires = NOW_MS + rng.between(-2 * DAY_MS, DAY_MS);

        out.text(&b.a);
        out.text(&b.b);
        out.timestamp(expires);
        out.end_row();
    }
}

// ---------------------------------------------------------------- campaigns

const CAMPAIGN_TYPES: &[(CampaignType, u32)] = &[
    (CampaignType::SocialMedia, 30),
    (CampaignType::Email, 20),
    (CampaignType::Ads, 20),
    (CampaignType::Content, 12),
    (CampaignType::Influencer, 8),
    (CampaignType::Event, 5),
    (CampaignType::ProductLaunch, 5),
];

const CAMPAIGN_STATUSES: &[(CampaignStatus, u32)] = &[
    (CampaignStatus::Completed, 35),
    (CampaignStatus::Active, 30),
    (CampaignStatus::Draft, 15),
    (CampaignStatus::Paused, 12),
    (CampaignStatus::Cancelled, 8),
];

const SOCIAL_PLATFORMS: &[(Platform, u32)] = &[
    (Platform::Instagram, 24),
    (Platform::Facebook, 16),
    (Platform::Tiktok, 16),
    (Platform::Twitter, 10),
    (Platform::Linkedin, 10),
    (Platform::Youtube, 9),
    (Platform::Email, 5),
    (Platform::Website, 5),
    (Platform::Shopify, 2),
    (Platform::GoogleAds, 2),
    (Platform::MetaAds, 1),
];

const AD_PLATFORMS: &[&str] = &[
    Platform::GoogleAds.as_str(),
    Platform::MetaAds.as_str(),
    Platform::Tiktok.as_str(),
    Platform::Linkedin.as_str(),
    Platform::Youtube.as_str(),
];

struct Campaigns(Base);

impl Campaigns {
    fn platforms(rng: &mut Rng, kind: CampaignType, out: &mut Vec<&'static str>) {
        out.clear();
        match kind {
            CampaignType::Email => out.push(Platform::Email.as_str()),
            CampaignType::Ads => {
                let k = 1 + rng.below(3) as usize;
                for _ in 0..k {
                    let p = rng.pick(AD_PLATFORMS);
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
            _ => {
                let k = 1 + rng.below(4) as usize;
                for _ in 0..k {
                    let p = rng.weighted(SOCIAL_PLATFORMS).as_str();
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
}

impl RowGen for Campaigns {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let Some(c) = b.plan.campaigns.get(i as usize).copied() else {
            return;
        };
        let Some(owner) = b.user_id(c.owner as usize).copied() else {
            return;
        };
        let created = c.anchor.created;
        let user_pop = b.plan.user_pop;
        let second = b.rng.chance(0.12).then(|| b.sample(user_pop));
        let user2 = second
            .filter(|&u| u != c.owner as usize)
            .and_then(|u| b.user_id(u).copied());
        let rng = &mut b.rng;

        // name: "Spring Sale 2025"
        b.a.clear();
        b.a.push_str(rng.pick(vocab::CAMPAIGN_ADJECTIVES));
        b.a.push(' ');
        b.a.push_str(rng.pick(vocab::CAMPAIGN_NOUNS));
        b.a.push(' ');
        b.a.push_str(std::str::from_utf8(&text::timestamp(created)[..4]).unwrap_or("2026"));
        let described = rng.chance(0.7);
        b.b.clear();
        b.b.push_str("Reach ");
        b.b.push_str(rng.pick(vocab::INTERESTS));
        b.b.push_str(" audiences in ");
        b.b.push_str(rng.pick(vocab::COUNTRIES));
        b.b.push_str(" with ");
        b.b.push_str(rng.pick(vocab::CONTENT_TOPICS));
        b.b.push_str(". Goal: ");
        b.b.push_str(rng.pick(&[
            "awareness",
            "conversions",
            "traffic",
            "sign-ups",
            "retention",
        ]));
        b.b.push('.');
        let kind = rng.weighted(CAMPAIGN_TYPES);
        let status = rng.weighted(CAMPAIGN_STATUSES);
        let budget = rng
            .chance(0.85)
            .then(|| round(rng.lognormal(4_000.0, 1.0).clamp(50.0, 2_000_000.0), 2));
        let start = match status {
            CampaignStatus::Draft => rng.chance(0.35),
            _ => rng.chance(0.97),
        }
        .then(|| created + rng.between(0, 14 * DAY_MS));
        let end = start
            .filter(|_| rng.chance(0.8))
            .map(|s| s + rng.between(7, 90) * DAY_MS);

        let audience = rng.chance(0.8);
        if audience {
            let lo = rng.between(18, 45);
            let mut j = Json::new(&mut b.c);
            j.obj()
                .key("ageRange")
                .arr()
                .int(lo)
                .int(lo + rng.between(5, 30))
                .end_arr();
            j.key("genders").arr();
            match rng.below(3) {
                0 => {
                    j.str("female");
                }
                1 => {
                    j.str("male");
                }
                _ => {
                    j.str("female").str("male").str("non-binary");
                }
            }
            j.end_arr().key("locations").arr();
            let k = 1 + rng.below(3) as usize;
            rng.distinct(vocab::COUNTRIES.len(), k, &mut b.idx);
            for &k in &b.idx {
                j.str(vocab::COUNTRIES[k]);
            }
            j.end_arr().key("interests").arr();
            let k = 2 + rng.below(3) as usize;
            rng.distinct(vocab::INTERESTS.len(), k, &mut b.idx);
            for &k in &b.idx {
                j.str(vocab::INTERESTS[k]);
            }
            j.end_arr()
                .key("languages")
                .arr()
                .str("en")
                .end_arr()
                .key("income")
                .str(rng.pick(&["low", "middle", "upper-middle", "high", "any"]))
                .key("lookalike")
                .bool(rng.chance(0.3))
                .end_obj();
        }
        let mut platforms = Vec::with_capacity(4);
        Self::platforms(rng, kind, &mut platforms);
        let platform_shape = rng.below(100);

        let running = matches!(
            status,
            CampaignStatus::Active | CampaignStatus::Completed | CampaignStatus::Paused
        );
        let metrics = rng.chance(if running { 0.9 } else { 0.2 });
        if metrics {
            let impressions = rng.lognormal(50_000.0, 1.5).round() as i64;
            let clicks = (impressions as f64 * rng.unit() * 0.05).round() as i64;
            let conversions = (clicks as f64 * rng.unit() * 0.1).round() as i64;
            let spend = round(budget.unwrap_or(1_000.0) * rng.unit(), 2);
            let mut j = Json::new(&mut b.d);
            j.obj()
                .key("impressions")
                .int(impressions)
                .key("clicks")
                .int(clicks)
                .key("ctr")
                .float(round(clicks as f64 / impressions.max(1) as f64, 4))
                .key("conversions")
                .int(conversions)
                .key("spend")
                .float(spend)
                .key("cpc")
                .float(round(spend / clicks.max(1) as f64, 2))
                .key("roas")
                .float(round(rng.lognormal(2.0, 0.6), 2))
                .key("reach")
                .int((impressions as f64 * (0.3 + 0.5 * rng.unit())) as i64)
                .end_obj();
        }
        let settings = rng.chance(0.6);
        let mut settings_json = String::new();
        if settings {
            let mut j = Json::new(&mut settings_json);
            j.obj()
                .key("autoOptimize")
                .bool(rng.chance(0.6))
                .key("dailyCap")
                .int(rng.between(1, 50) * 100)
                .key("timezone")
                .str(rng.pick(vocab::TIMEZONES))
                .key("notifications")
                .obj()
                .key("email")
                .bool(rng.chance(0.8))
                .key("slack")
                .bool(rng.chance(0.3))
                .end_obj()
                .key("abTesting")
                .bool(rng.chance(0.25))
                .key("frequencyCap")
                .int(rng.between(1, 7))
                .end_obj();
        }
        let updated = b.updated(created);

        out.text(id_str(&c.anchor.id));
        out.text(&b.a);
        out.opt_text(described.then_some(b.b.as_str()));
        out.text(kind.as_str());
        out.text(status.as_str());
        out.opt_float(budget);
        out.opt_timestamp(start);
        out.opt_timestamp(end);
        out.opt_json(audience.then_some(b.c.as_str()));
        match platform_shape {
            0..3 => out.null(),
            3..5 => out.list(&[]),
            _ => out.list(&platforms),
        }
        out.opt_json(metrics.then_some(b.d.as_str()));
        out.opt_json(settings.then_some(settings_json.as_str()));
        out.timestamp(created);
        out.timestamp(updated);
        out.text(id_str(&owner));
        out.opt_text(user2.as_ref().map(id_str));
        out.end_row();
    }
}

// ---------------------------------------------------------------- agents

const AGENT_STATUSES: &[(AgentStatus, u32)] = &[
    (AgentStatus::Active, 80),
    (AgentStatus::Inactive, 10),
    (AgentStatus::Maintenance, 6),
    (AgentStatus::Deprecated, 4),
];

struct Agents(Base);

impl RowGen for Agents {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let Some(agent) = b.plan.agents.get(i as usize).copied() else {
            return;
        };
        let kind = &AGENT_KINDS[usize::from(agent.kind) % AGENT_KINDS.len()];
        let rng = &mut b.rng;
        b.a.clear();
        b.a.push_str(rng.pick(vocab::AGENT_NAME_PREFIXES));
        b.a.push(' ');
        b.a.push_str(kind.title);
        b.a.push(' ');
        push_int(&mut b.a, i as i64 + 1);
        let status = rng.weighted(AGENT_STATUSES);
        let capabilities = rng.chance(0.9);
        {
            let mut j = Json::new(&mut b.b);
            j.arr();
            let k = 2 + rng.below(3) as usize;
            rng.distinct(kind.capabilities.len(), k, &mut b.idx);
            for &k in &b.idx {
                j.str(kind.capabilities[k]);
            }
            j.end_arr();
        }
        let settings = rng.chance(0.85);
        {
            let mut j = Json::new(&mut b.c);
            j.obj()
                .key("model")
                .str(rng.weighted(vocab::MODELS))
                .key("temperature")
                .float(round(0.2 + rng.unit() * 0.8, 2))
                .key("maxTokens")
                .int(rng.pick(&[512, 1024, 2048, 4096]))
                .key("retry")
                .obj()
                .key("max")
                .int(rng.between(1, 5))
                .key("backoffMs")
                .int(rng.between(1, 10) * 250)
                .end_obj()
                .key("concurrency")
                .int(rng.between(1, 16))
                .key("systemPrompt")
                .str("You are a helpful marketing assistant for NeonHub customers.")
                .end_obj();
        }
        let default_version = rng.chance(0.3);
        b.d.clear();
        b.d.push_str("1.");
        push_int(&mut b.d, rng.below(10) as i64);
        b.d.push('.');
        push_int(&mut b.d, rng.below(20) as i64);
        let updated = b.updated(agent.anchor.created);

        out.text(id_str(&agent.anchor.id));
        out.text(&b.a);
        out.text(kind.value);
        out.text(status.as_str());
        out.opt_json(capabilities.then_some(b.b.as_str()));
        out.opt_json(settings.then_some(b.c.as_str()));
        out.text(if default_version {
            "1.0.0"
        } else {
            b.d.as_str()
        });
        out.timestamp(agent.anchor.created);
        out.timestamp(updated);
        out.end_row();
    }
}

// ---------------------------------------------------------------- agent executions

const OLD_EXECUTION_STATUSES: &[(ExecutionStatus, u32)] = &[
    (ExecutionStatus::Completed, 86),
    (ExecutionStatus::Failed, 9),
    (ExecutionStatus::Cancelled, 5),
];

const RECENT_EXECUTION_STATUSES: &[(ExecutionStatus, u32)] = &[
    (ExecutionStatus::Completed, 55),
    (ExecutionStatus::Running, 15),
    (ExecutionStatus::Pending, 15),
    (ExecutionStatus::Failed, 10),
    (ExecutionStatus::Cancelled, 5),
];

struct Executions(Base);

impl RowGen for Executions {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let started = b.created(i);
        let id = b.id(started, i);
        let (agent_pop, campaign_pop, user_pop) =
            (b.plan.agent_pop, b.plan.campaign_pop, b.plan.user_pop);
        let agent_ix = b.sample(agent_pop);
        let Some(agent) = b.plan.agents.get(agent_ix).copied() else {
            return;
        };
        let kind = &AGENT_KINDS[usize::from(agent.kind) % AGENT_KINDS.len()];
        // 70% for a campaign (run by its owner), 20% for a user directly,
        // 10% system runs with neither.
        let mode = b.rng.below(100);
        let (campaign, user) = if mode < 70 && !b.plan.campaigns.is_empty() {
            let c = b.sample(campaign_pop);
            match b.plan.campaigns.get(c).copied() {
                Some(c) => {
                    let owner = b.rng.chance(0.97).then_some(c.owner as usize);
                    (Some(c.anchor.id), owner.and_then(|o| b.user_id(o).copied()))
                }
                None => (None, None),
            }
        } else if mode < 90 {
            let u = b.sample(user_pop);
            (None, b.user_id(u).copied())
        } else {
            (None, None)
        };
        let rng = &mut b.rng;
        let task = rng.pick(kind.tasks);
        let status = if started >= NOW_MS - 2 * DAY_MS {
            rng.weighted(RECENT_EXECUTION_STATUSES)
        } else {
            rng.weighted(OLD_EXECUTION_STATUSES)
        };

        let payload = rng.chance(0.95);
        b.d.clear();
        b.d.push_str("req_");
        push_hex(&mut b.d, rng.u64(), 16);
        {
            let mut j = Json::new(&mut b.a);
            j.obj().key("task").str(task).key("input").obj();
            j.key("topic")
                .str(rng.pick(vocab::CONTENT_TOPICS))
                .key("tone")
                .str(rng.pick(&["friendly", "professional", "playful", "bold", "informative"]))
                .key("platform")
                .str(rng.weighted(SOCIAL_PLATFORMS).as_str())
                .key("keywords")
                .arr();
            let k = 1 + rng.below(3) as usize;
            rng.distinct(vocab::KEYWORD_TAILS.len(), k, &mut b.idx);
            for &k in &b.idx {
                j.str(vocab::KEYWORD_TAILS[k]);
            }
            j.end_arr()
                .key("maxLength")
                .int(rng.between(1, 20) * 50)
                .end_obj()
                .key("priority")
                .str(rng.pick(&["low", "normal", "normal", "normal", "high"]))
                .key("locale")
                .str(rng.pick(&[
                    "en-US", "en-US", "en-GB", "de-DE", "es-ES", "fr-FR", "ja-JP",
                ]))
                .key("requestId")
                .str(&b.d)
                .end_obj();
        }

        let (duration_median, duration_sigma) = match status {
            ExecutionStatus::Failed => (4_000.0, 1.2),
            _ => (12_000.0, 0.9),
        };
        let completed = match status {
            ExecutionStatus::Completed | ExecutionStatus::Failed => Some(true),
            ExecutionStatus::Cancelled => Some(rng.chance(0.4)),
            _ => None,
        }
        .filter(|&done| done)
        .map(|_| {
            let ms = rng
                .lognormal(duration_median, duration_sigma)
                .clamp(150.0, 20.0 * 60_000.0) as i64;
            (started + ms).min(NOW_MS.max(started))
        });
        let performance = match status {
            ExecutionStatus::Completed if rng.chance(0.93) => {
                let u = rng.unit();
                Some(round(0.35 + 0.65 * (1.0 - u * u), 3))
            }
            ExecutionStatus::Failed if rng.chance(0.3) => Some(round(rng.unit() * 0.3, 3)),
            _ => None,
        };
        let error = (status == ExecutionStatus::Failed).then(|| rng.pick(vocab::EXECUTION_ERRORS));

        let result = match status {
            ExecutionStatus::Completed => rng.chance(0.97),
            ExecutionStatus::Failed => rng.chance(0.5),
            _ => false,
        };
        if result {
            let mut j = Json::new(&mut b.b);
            if status == ExecutionStatus::Completed {
                j.obj()
                    .key("output")
                    .str(rng.pick(vocab::CONTENT_SENTENCES))
                    .key("variants")
                    .int(rng.between(1, 4))
                    .key("tokens")
                    .obj()
                    .key("prompt")
                    .int(rng.between(200, 3_000))
                    .key("completion")
                    .int(rng.between(50, 1_500))
                    .end_obj()
                    .key("quality")
                    .float(round(rng.unit(), 3))
                    .key("artifacts")
                    .arr();
                for _ in 0..rng.below(3) {
                    b.c.clear();
                    b.c.push_str("https://cdn.neonhub.ai/artifacts/");
                    push_hex(&mut b.c, rng.u64(), 16);
                    j.obj()
                        .key("type")
                        .str(rng.pick(&["text", "image", "report"]))
                        .key("url")
                        .str(&b.c)
                        .end_obj();
                }
                j.end_arr().key("cached").bool(rng.chance(0.1)).end_obj();
            } else {
                j.obj()
                    .key("error")
                    .obj()
                    .key("code")
                    .str(rng.pick(&["TIMEOUT", "RATE_LIMITED", "INVALID_INPUT", "UPSTREAM_ERROR"]))
                    .key("retryable")
                    .bool(rng.chance(0.6))
                    .key("attempts")
                    .int(rng.between(1, 4))
                    .end_obj()
                    .end_obj();
            }
        }

        let metadata = rng.chance(0.65);
        if metadata {
            let mut j = Json::new(&mut b.c);
            j.obj()
                .key("model")
                .str(rng.weighted(vocab::MODELS))
                .key("latencyMs")
                .int(completed.map_or(0, |c| c - started))
                .key("costUsd")
                .float(round(rng.lognormal(0.01, 1.0), 5))
                .key("retries")
                .int(rng.weighted(&[(0, 85), (1, 10), (2, 4), (3, 1)]))
                .key("worker")
                .str(rng.pick(&[
                    "worker-01",
                    "worker-02",
                    "worker-03",
                    "worker-04",
                    "worker-05",
                ]))
                .key("region")
                .str(rng.pick(vocab::REGIONS))
                .key("trigger")
                .str(rng.pick(&["schedule", "manual", "api", "webhook"]))
                .end_obj();
        }

        out.text(id_str(&id));
        out.text(id_str(&agent.anchor.id));
        out.opt_text(campaign.as_ref().map(id_str));
        out.opt_text(user.as_ref().map(id_str));
        out.text(task);
        out.opt_json(payload.then_some(b.a.as_str()));
        out.opt_json(result.then_some(b.b.as_str()));
        out.text(status.as_str());
        out.opt_float(performance);
        out.opt_text(error);
        out.timestamp(started);
        out.opt_timestamp(completed);
        out.opt_json(metadata.then_some(b.c.as_str()));
        out.end_row();
    }
}

// ---------------------------------------------------------------- analytics

const ANALYTICS_TYPES: &[(AnalyticsType, u32)] = &[
    (AnalyticsType::Engagement, 20),
    (AnalyticsType::Impressions, 18),
    (AnalyticsType::Reach, 15),
    (AnalyticsType::Clicks, 15),
    (AnalyticsType::Conversion, 10),
    (AnalyticsType::Performance, 9),
    (AnalyticsType::Revenue, 8),
    (AnalyticsType::Sentiment, 5),
];

const PERIODS: &[(Option<&str>, u32)] = &[
    (Some("daily"), 60),
    (Some("weekly"), 20),
    (Some("monthly"), 10),
    (None, 10),
];

struct Analytics(Base);

impl Analytics {
    fn data(rng: &mut Rng, kind: AnalyticsType, out: &mut String, idx: &mut Vec<usize>) {
        let scale = rng.lognormal(10_000.0, 1.6);
        let int = |rng: &mut Rng, f: f64| (scale * f * (0.5 + rng.unit())).round() as i64;
        let mut j = Json::new(out);
        j.obj();
        match kind {
            AnalyticsType::Engagement => {
                let likes = int(rng, 0.05);
                j.key("likes")
                    .int(likes)
                    .key("comments")
                    .int(int(rng, 0.004))
                    .key("shares")
                    .int(int(rng, 0.003))
                    .key("saves")
                    .int(int(rng, 0.002))
                    .key("engagementRate")
                    .float(round(rng.unit() * 0.12, 4))
                    .key("followersGained")
                    .int(int(rng, 0.001))
                    .key("byDevice")
                    .obj()
                    .key("mobile")
                    .float(round(0.55 + rng.unit() * 0.3, 3))
                    .key("desktop")
                    .float(round(rng.unit() * 0.3, 3))
                    .key("tablet")
                    .float(round(rng.unit() * 0.08, 3))
                    .end_obj();
            }
            AnalyticsType::Reach => {
                j.key("reach")
                    .int(int(rng, 1.0))
                    .key("uniqueUsers")
                    .int(int(rng, 0.8))
                    .key("frequency")
                    .float(round(1.0 + rng.unit() * 3.0, 2))
                    .key("organic")
                    .int(int(rng, 0.6))
                    .key("paid")
                    .int(int(rng, 0.4))
                    .key("topCountries")
                    .arr();
                rng.distinct(vocab::COUNTRIES.len(), 3, idx);
                for &k in idx.iter() {
                    j.str(vocab::COUNTRIES[k]);
                }
                j.end_arr();
            }
            AnalyticsType::Impressions => {
                j.key("impressions")
                    .int(int(rng, 2.0))
                    .key("viewable")
                    .int(int(rng, 1.4))
                    .key("viewabilityRate")
                    .float(round(0.5 + rng.unit() * 0.45, 3))
                    .key("cpm")
                    .float(round(rng.lognormal(8.0, 0.5), 2))
                    .key("placements")
                    .obj()
                    .key("feed")
                    .int(int(rng, 1.0))
                    .key("stories")
                    .int(int(rng, 0.5))
                    .key("search")
                    .int(int(rng, 0.3))
                    .end_obj();
            }
            AnalyticsType::Clicks => {
                j.key("clicks")
                    .int(int(rng, 0.03))
                    .key("uniqueClicks")
                    .int(int(rng, 0.025))
                    .key("ctr")
                    .float(round(rng.unit() * 0.06, 4))
                    .key("cpc")
                    .float(round(rng.lognormal(0.8, 0.5), 2))
                    .key("landingPageViews")
                    .int(int(rng, 0.02))
                    .key("bounceRate")
                    .float(round(0.2 + rng.unit() * 0.6, 3));
            }
            AnalyticsType::Conversion => {
                let visits = int(rng, 0.03);
                j.key("conversions")
                    .int(visits / 40)
                    .key("conversionRate")
                    .float(round(rng.unit() * 0.08, 4))
                    .key("costPerConversion")
                    .float(round(rng.lognormal(25.0, 0.7), 2))
                    .key("funnel")
                    .obj()
                    .key("visits")
                    .int(visits)
                    .key("addToCart")
                    .int(visits / 8)
                    .key("checkout")
                    .int(visits / 20)
                    .key("purchase")
                    .int(visits / 40)
                    .end_obj()
                    .key("attribution")
                    .str(rng.pick(&["last_click", "first_click", "linear", "data_driven"]));
            }
            AnalyticsType::Revenue => {
                let orders = int(rng, 0.001).max(1);
                let aov = round(rng.lognormal(60.0, 0.5), 2);
                j.key("revenue")
                    .float(round(orders as f64 * aov, 2))
                    .key("currency")
                    .str(rng.pick(&["USD", "USD", "USD", "EUR", "GBP"]))
                    .key("orders")
                    .int(orders)
                    .key("aov")
                    .float(aov)
                    .key("refunds")
                    .int(orders / 30)
                    .key("roas")
                    .float(round(rng.lognormal(2.5, 0.6), 2));
            }
            AnalyticsType::Sentiment => {
                let pos = rng.unit();
                j.key("score")
                    .float(round(pos * 2.0 - 1.0, 3))
                    .key("label")
                    .str(rng.pick(vocab::SENTIMENT_LABELS))
                    .key("mentions")
                    .int(int(rng, 0.002))
                    .key("positive")
                    .float(round(pos * 0.8, 3))
                    .key("neutral")
                    .float(round((1.0 - pos) * 0.6, 3))
                    .key("negative")
                    .float(round((1.0 - pos) * 0.4, 3))
                    .key("topTerms")
                    .arr();
                rng.distinct(vocab::KEYWORD_TAILS.len(), 3, idx);
                for &k in idx.iter() {
                    j.str(vocab::KEYWORD_TAILS[k]);
                }
                j.end_arr();
            }
            AnalyticsType::Performance => {
                j.key("score")
                    .float(round(rng.unit() * 100.0, 1))
                    .key("kpis")
                    .obj()
                    .key("ctr")
                    .float(round(rng.unit() * 0.06, 4))
                    .key("cvr")
                    .float(round(rng.unit() * 0.08, 4))
                    .key("cpa")
                    .float(round(rng.lognormal(25.0, 0.7), 2))
                    .key("roas")
                    .float(round(rng.lognormal(2.5, 0.6), 2))
                    .end_obj()
                    .key("benchmark")
                    .float(round(rng.unit() * 100.0, 1))
                    .key("trend")
                    .str(rng.pick(&["up", "flat", "down"]));
            }
        }
        j.key("device")
            .str(rng.pick(vocab::DEVICES))
            .key("sampleRate")
            .float(rng.pick(&[1.0, 1.0, 1.0, 0.5, 0.1]))
            .end_obj();
    }
}

impl RowGen for Analytics {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let at = b.created(i);
        let id = b.id(at, i);
        let (campaign_pop, user_pop) = (b.plan.campaign_pop, b.plan.user_pop);
        // 85% campaign analytics (the owner's), 15% account-level.
        let (campaign, user) = if b.rng.chance(0.85) && !b.plan.campaigns.is_empty() {
            let c = b.sample(campaign_pop);
            match b.plan.campaigns.get(c).copied() {
                Some(c) => {
                    let owner = b.rng.chance(0.95).then_some(c.owner as usize);
                    (Some(c.anchor.id), owner.and_then(|o| b.user_id(o).copied()))
                }
                None => (None, None),
            }
        } else {
            let u = b.rng.chance(0.9).then(|| b.sample(user_pop));
            (None, u.and_then(|u| b.user_id(u).copied()))
        };
        let rng = &mut b.rng;
        let kind = rng.weighted(ANALYTICS_TYPES);
        Self::data(rng, kind, &mut b.a, &mut b.idx);
        let period = rng.weighted(PERIODS);
        // Aggregates are dated at midnight; raw events keep their instant.
        let date = if period.is_some() {
            text::day_start(at)
        } else {
            at
        };
        let metadata = rng.chance(0.45);
        if metadata {
            let mut j = Json::new(&mut b.b);
            j.obj()
                .key("source")
                .str(rng.pick(vocab::ANALYTICS_SOURCES))
                .key("collector")
                .str(rng.pick(&["v2.3.1", "v2.4.0", "v3.0.2"]))
                .key("sampled")
                .bool(rng.chance(0.2))
                .key("timezone")
                .str(rng.pick(vocab::TIMEZONES))
                .key("ingestedAt")
                .int(at + rng.between(MINUTE_MS, 6 * HOUR_MS))
                .end_obj();
        }

        out.text(id_str(&id));
        out.opt_text(campaign.as_ref().map(id_str));
        out.opt_text(user.as_ref().map(id_str));
        out.text(kind.as_str());
        out.json(&b.a);
        out.opt_text(period);
        out.timestamp(date);
        out.opt_json(metadata.then_some(b.b.as_str()));
        out.end_row();
    }
}

// ---------------------------------------------------------------- ab tests

const AB_STATUSES: &[(AbTestStatus, u32)] = &[
    (AbTestStatus::Completed, 45),
    (AbTestStatus::Running, 25),
    (AbTestStatus::Draft, 20),
    (AbTestStatus::Stopped, 10),
];

struct AbTests(Base);

impl RowGen for AbTests {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let start = b.created(i);
        let id = b.id(start, i);
        let campaign_pop = b.plan.campaign_pop;
        let c = b.sample(campaign_pop);
        let Some(campaign) = b.plan.campaigns.get(c).map(|c| c.anchor.id) else {
            return;
        };
        let rng = &mut b.rng;
        let subject = rng.pick(vocab::AB_SUBJECTS);
        b.a.clear();
        b.a.push_str(subject);
        b.a.push_str(" test #");
        push_int(&mut b.a, rng.between(1, 40));
        let described = rng.chance(0.6);
        b.b.clear();
        b.b.push_str("Does a different ");
        push_lower(&mut b.b, subject);
        b.b.push_str(" lift ");
        b.b.push_str(rng.pick(&[
            "conversion rate",
            "click-through rate",
            "open rate",
            "revenue per visitor",
        ]));
        b.b.push('?');
        let status = rng.weighted(AB_STATUSES);
        let variants = 2 + usize::from(rng.chance(0.25));
        let names = ["A", "B", "C"];
        {
            let mut j = Json::new(&mut b.c);
            j.arr();
            for (k, name) in names.iter().enumerate().take(variants) {
                j.obj()
                    .key("id")
                    .str(name)
                    .key("name")
                    .str(if k == 0 { "Control" } else { "Variant" })
                    .key("weight")
                    .int(100 / variants as i64)
                    .key("content")
                    .obj()
                    .key("headline")
                    .str(rng.pick(vocab::CONTENT_TOPICS))
                    .key("cta")
                    .str(rng.pick(vocab::CTAS))
                    .key("color")
                    .str(rng.pick(vocab::COLORS))
                    .end_obj()
                    .end_obj();
            }
            j.end_arr();
        }
        let has_results = match status {
            AbTestStatus::Completed | AbTestStatus::Stopped => rng.chance(0.95),
            AbTestStatus::Running => rng.chance(0.5),
            AbTestStatus::Draft => false,
        };
        if has_results {
            let mut j = Json::new(&mut b.d);
            j.obj();
            let mut total = 0;
            for name in names.iter().take(variants) {
                let impressions = rng.lognormal(5_000.0, 1.0).round() as i64;
                let conversions = (impressions as f64 * rng.unit() * 0.08).round() as i64;
                total += impressions;
                j.key(name)
                    .obj()
                    .key("impressions")
                    .int(impressions)
                    .key("conversions")
                    .int(conversions)
                    .key("rate")
                    .float(round(conversions as f64 / impressions.max(1) as f64, 4))
                    .end_obj();
            }
            j.key("sampleSize").int(total).end_obj();
        }
        let winner = (status == AbTestStatus::Completed && rng.chance(0.85))
            .then(|| names[rng.below(variants as u64) as usize]);
        let confidence = match status {
            AbTestStatus::Completed => Some(round(0.8 + rng.unit() * 0.199, 3)),
            AbTestStatus::Running if rng.chance(0.4) => Some(round(0.5 + rng.unit() * 0.45, 3)),
            _ => None,
        };
        let end = match status {
            AbTestStatus::Completed | AbTestStatus::Stopped => {
                Some(start + rng.between(3, 30) * DAY_MS)
            }
            AbTestStatus::Running if rng.chance(0.3) => Some(start + rng.between(14, 45) * DAY_MS),
            _ => None,
        };
        let settings = rng.chance(0.5);
        let mut settings_json = String::new();
        if settings {
            let mut j = Json::new(&mut settings_json);
            j.obj()
                .key("metric")
                .str(rng.pick(&["conversion_rate", "ctr", "open_rate", "revenue"]))
                .key("minSampleSize")
                .int(rng.between(1, 20) * 500)
                .key("autoStop")
                .bool(rng.chance(0.5))
                .key("significance")
                .float(rng.pick(&[0.9, 0.95, 0.99]))
                .end_obj();
        }

        out.text(id_str(&id));
        out.text(id_str(&campaign));
        out.text(&b.a);
        out.opt_text(described.then_some(b.b.as_str()));
        out.text(status.as_str());
        out.json(&b.c);
        out.opt_json(has_results.then_some(b.d.as_str()));
        out.opt_text(winner);
        out.opt_float(confidence);
        out.timestamp(start);
        out.opt_timestamp(end);
        out.opt_json(settings.then_some(settings_json.as_str()));
        out.end_row();
    }
}

// ---------------------------------------------------------------- contents

const CONTENT_TYPES: &[(ContentType, u32)] = &[
    (ContentType::Post, 30),
    (ContentType::Story, 15),
    (ContentType::Reel, 15),
    (ContentType::Video, 10),
    (ContentType::Email, 10),
    (ContentType::Ad, 10),
    (ContentType::Blog, 6),
    (ContentType::Product, 4),
];

const CONTENT_STATUSES: &[(ContentStatus, u32)] = &[
    (ContentStatus::Published, 55),
    (ContentStatus::Draft, 20),
    (ContentStatus::Archived, 15),
    (ContentStatus::Scheduled, 10),
];

struct Contents(Base);

impl RowGen for Contents {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let created = b.created(i);
        let id = b.id(created, i);
        let rng = &mut b.rng;
        let kind = rng.weighted(CONTENT_TYPES);
        let platform = match kind {
            ContentType::Email => Platform::Email,
            ContentType::Blog => Platform::Website,
            ContentType::Product => rng.pick(&[Platform::Shopify, Platform::Website]),
            ContentType::Ad => rng.pick(&[
                Platform::MetaAds,
                Platform::GoogleAds,
                Platform::Tiktok,
                Platform::Instagram,
            ]),
            _ => rng.weighted(SOCIAL_PLATFORMS),
        };
        let topic = rng.pick(vocab::CONTENT_TOPICS);
        b.a.clear();
        b.a.push_str(topic);
        let status = rng.weighted(CONTENT_STATUSES);
        {
            let mut j = Json::new(&mut b.b);
            j.obj().key("text");
            b.c.clear();
            b.c.push_str(topic);
            b.c.push_str(". ");
            for _ in 0..2 + rng.below(2) {
                b.c.push_str(rng.pick(vocab::CONTENT_SENTENCES));
                b.c.push(' ');
            }
            b.c.pop();
            j.str(&b.c).key("hashtags").arr();
            let k = rng.below(5) as usize;
            rng.distinct(vocab::HASHTAGS.len(), k, &mut b.idx);
            for &k in &b.idx {
                j.str(vocab::HASHTAGS[k]);
            }
            j.end_arr().key("media").arr();
            for _ in 0..rng.below(3) {
                b.d.clear();
                b.d.push_str("https://cdn.neonhub.ai/media/");
                push_hex(&mut b.d, rng.u64(), 16);
                b.d.push_str(rng.pick(&[".jpg", ".png", ".mp4"]));
                j.obj()
                    .key("type")
                    .str(rng.pick(&["image", "video"]))
                    .key("url")
                    .str(&b.d)
                    .end_obj();
            }
            j.end_arr()
                .key("cta")
                .str(rng.pick(vocab::CTAS))
                .key("language")
                .str(rng.pick(&["en", "en", "en", "de", "es", "fr", "ja"]))
                .end_obj();
        }
        let performance = match status {
            ContentStatus::Published => rng.chance(0.9),
            ContentStatus::Archived => rng.chance(0.6),
            _ => false,
        };
        if performance {
            let views = rng.lognormal(3_000.0, 1.8).round() as i64;
            let mut j = Json::new(&mut b.c);
            j.obj()
                .key("views")
                .int(views)
                .key("likes")
                .int((views as f64 * rng.unit() * 0.1) as i64)
                .key("comments")
                .int((views as f64 * rng.unit() * 0.01) as i64)
                .key("shares")
                .int((views as f64 * rng.unit() * 0.01) as i64)
                .key("engagementRate")
                .float(round(rng.unit() * 0.15, 4))
                .end_obj();
        }
        let metadata = rng.chance(0.5);
        if metadata {
            let mut j = Json::new(&mut b.d);
            j.obj()
                .key("generatedBy")
                .str(rng.pick(&["agent", "agent", "human"]))
                .key("model")
                .str(rng.weighted(vocab::MODELS))
                .key("revision")
                .int(rng.between(1, 6))
                .key("wordCount")
                .int(rng.between(20, 400))
                .end_obj();
        }
        let updated = b.updated(created);

        out.text(id_str(&id));
        out.text(&b.a);
        out.text(kind.as_str());
        out.text(platform.as_str());
        out.json(&b.b);
        out.text(status.as_str());
        out.opt_json(performance.then_some(b.c.as_str()));
        out.opt_json(metadata.then_some(b.d.as_str()));
        out.timestamp(created);
        out.timestamp(updated);
        out.end_row();
    }
}

// ---------------------------------------------------------------- leads

const LEAD_STATUSES: &[(LeadStatus, u32)] = &[
    (LeadStatus::New, 40),
    (LeadStatus::Contacted, 25),
    (LeadStatus::Qualified, 15),
    (LeadStatus::Lost, 12),
    (LeadStatus::Converted, 8),
];

struct Leads(Base);

impl RowGen for Leads {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let created = b.created(i);
        let id = b.id(created, i);
        let rng = &mut b.rng;
        let first = rng.pick(vocab::FIRST_NAMES);
        let last = rng.pick(vocab::LAST_NAMES);
        let company_ix = rng.below(vocab::COMPANIES.len() as u64) as usize;
        b.a.clear();
        push_lower(&mut b.a, first);
        b.a.push('.');
        push_lower(&mut b.a, last);
        if rng.chance(0.6) {
            push_int(&mut b.a, rng.below(1000) as i64);
        }
        b.a.push('@');
        if rng.chance(0.5) {
            b.a.push_str(vocab::COMPANY_DOMAINS[company_ix % vocab::COMPANY_DOMAINS.len()]);
        } else {
            b.a.push_str(rng.weighted(vocab::EMAIL_DOMAINS));
        }
        let named = rng.chance(0.9);
        b.b.clear();
        b.b.push_str(first);
        b.b.push(' ');
        b.b.push_str(last);
        let company = rng.chance(0.8).then(|| vocab::COMPANIES[company_ix]);
        let position = rng.chance(0.65).then(|| rng.pick(vocab::POSITIONS));
        let phone = rng.chance(0.45);
        b.c.clear();
        b.c.push_str("+1-");
        push_int(&mut b.c, rng.between(201, 989));
        b.c.push('-');
        push_int(&mut b.c, rng.between(200, 999));
        b.c.push('-');
        push_int(&mut b.c, rng.between(1000, 9999));
        let source = rng.weighted(vocab::LEAD_SOURCES);
        let status = rng.weighted(LEAD_STATUSES);
        // Scores 0..10, most leads cold: 10·u^1.6 (one decimal), 10% unscored.
        let score = rng
            .chance(0.9)
            .then(|| round(10.0 * rng.unit().powf(1.6), 1));
        let tag_shape = rng.below(100);
        let mut tags = Vec::with_capacity(4);
        let k = rng.below(5) as usize;
        picks(rng, vocab::LEAD_TAGS, k, &mut b.idx, &mut tags);
        let metadata = rng.chance(0.55);
        if metadata {
            let mut j = Json::new(&mut b.d);
            j.obj()
                .key("utm")
                .obj()
                .key("source")
                .str(source.unwrap_or("direct"))
                .key("medium")
                .str(rng.pick(&["cpc", "social", "email", "organic", "referral"]))
                .key("campaign")
                .str(rng.pick(vocab::CAMPAIGN_NOUNS))
                .end_obj()
                .key("pageViews")
                .int(rng.between(1, 60))
                .key("country")
                .str(rng.pick(vocab::COUNTRIES))
                .key("companySize")
                .str(rng.pick(&["1-10", "11-50", "51-200", "201-1000", "1000+"]))
                .key("newsletter")
                .bool(rng.chance(0.4))
                .end_obj();
        }
        let updated = b.updated(created);

        out.text(id_str(&id));
        out.text(&b.a);
        out.opt_text(named.then_some(b.b.as_str()));
        out.opt_text(company);
        out.opt_text(position);
        out.opt_text(phone.then_some(b.c.as_str()));
        out.opt_text(source);
        out.text(status.as_str());
        out.opt_float(score);
        if tag_shape < 5 {
            out.null();
        } else {
            out.list(&tags);
        }
        out.opt_json(metadata.then_some(b.d.as_str()));
        out.timestamp(created);
        out.timestamp(updated);
        out.end_row();
    }
}

// ---------------------------------------------------------------- trends

struct Trends {
    base: Base,
    /// Zipf popularity over head × tail keyword pairs.
    keywords: Popularity,
}

impl Trends {
    fn new(mut base: Base) -> Self {
        let n = (vocab::KEYWORD_HEADS.len() * vocab::KEYWORD_TAILS.len()) as u64;
        let keywords = Popularity::new(n, super::plan::ZIPF_S, &mut base.rng);
        Self { base, keywords }
    }
}

impl RowGen for Trends {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.base;
        let detected = b.created(i);
        let id = b.id(detected, i);
        let k = self.keywords.sample(&mut b.rng);
        let rng = &mut b.rng;
        let tails = vocab::KEYWORD_TAILS.len();
        b.a.clear();
        b.a.push_str(vocab::KEYWORD_HEADS[(k / tails) % vocab::KEYWORD_HEADS.len()]);
        b.a.push(' ');
        b.a.push_str(vocab::KEYWORD_TAILS[k % tails]);
        let platform = rng.weighted(SOCIAL_PLATFORMS);
        let category = rng.weighted(vocab::TREND_CATEGORIES);
        // Scores 0..10, most trends weak: 10·u², two decimals.
        let u = rng.unit();
        let score = round(10.0 * u * u, 2);
        let volume = rng
            .chance(0.9)
            .then(|| rng.lognormal(5_000.0, 1.5).round().clamp(1.0, 2e9) as i64);
        let growth = rng
            .chance(0.85)
            .then(|| round((rng.normal() * 40.0 + 15.0).clamp(-95.0, 900.0), 2));
        {
            let mut j = Json::new(&mut b.b);
            j.obj().key("relatedKeywords").arr();
            rng.distinct(tails, 3, &mut b.idx);
            for &t in &b.idx {
                j.str(vocab::KEYWORD_TAILS[t]);
            }
            j.end_arr().key("regions").arr();
            rng.distinct(vocab::COUNTRIES.len(), 2, &mut b.idx);
            for &c in &b.idx {
                j.obj()
                    .key("country")
                    .str(vocab::COUNTRIES[c])
                    .key("share")
                    .float(round(rng.unit() * 0.5, 3))
                    .end_obj();
            }
            j.end_arr()
                .key("sentiment")
                .float(round(rng.unit() * 2.0 - 1.0, 3))
                .key("peakHour")
                .int(rng.between(0, 23))
                .key("sources")
                .arr()
                .str(rng.pick(vocab::ANALYTICS_SOURCES))
                .end_arr()
                .key("sampleSize")
                .int(rng.between(100, 50_000))
                .end_obj();
        }

        out.text(id_str(&id));
        out.text(&b.a);
        out.text(platform.as_str());
        out.opt_text(category);
        out.float(score);
        out.opt_int(volume);
        out.opt_float(growth);
        out.json(&b.b);
        out.timestamp(detected);
        out.end_row();
    }
}

// ---------------------------------------------------------------- design templates

struct DesignTemplates(Base);

impl RowGen for DesignTemplates {
    fn row<S: Sink>(&mut self, i: u64, out: &mut S) {
        let b = &mut self.0;
        let created = b.created(i);
        let id = b.id(created, i);
        let rng = &mut b.rng;
        let category = rng.pick(vocab::TEMPLATE_CATEGORIES);
        let style = rng.pick(vocab::TEMPLATE_TAGS);
        b.a.clear();
        b.a.push_str(style);
        if let Some(first) = b.a.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        b.a.push(' ');
        b.a.push_str(category);
        b.a.push(' ');
        push_int(&mut b.a, i as i64 + 1);
        let (w, h) = rng.pick(&[
            (1080, 1080),
            (1080, 1920),
            (1200, 628),
            (1584, 396),
            (1280, 720),
            (600, 200),
        ]);
        {
            let mut j = Json::new(&mut b.b);
            j.obj()
                .key("width")
                .int(w)
                .key("height")
                .int(h)
                .key("background")
                .str(rng.pick(vocab::COLORS))
                .key("layers")
                .arr();
            j.obj()
                .key("type")
                .str("text")
                .key("text")
                .str(rng.pick(vocab::CONTENT_TOPICS))
                .key("font")
                .str(rng.pick(vocab::FONTS))
                .key("size")
                .int(rng.between(18, 96))
                .key("color")
                .str(rng.pick(vocab::COLORS))
                .key("x")
                .int(rng.between(0, w / 2))
                .key("y")
                .int(rng.between(0, h / 2))
                .end_obj();
            b.c.clear();
            b.c.push_str("https://cdn.neonhub.ai/templates/");
            push_hex(&mut b.c, rng.u64(), 16);
            b.c.push_str(".png");
            j.obj()
                .key("type")
                .str("image")
                .key("src")
                .str(&b.c)
                .key("x")
                .int(0)
                .key("y")
                .int(0)
                .key("w")
                .int(w)
                .key("h")
                .int(h / 2)
                .end_obj();
            j.obj()
                .key("type")
                .str("shape")
                .key("shape")
                .str(rng.pick(&["rect", "circle", "pill"]))
                .key("fill")
                .str(rng.pick(vocab::COLORS))
                .key("opacity")
                .float(round(0.3 + rng.unit() * 0.7, 2))
                .end_obj();
            j.end_arr().key("version").int(rng.between(1, 4)).end_obj();
        }
        let preview = rng.chance(0.75);
        b.c.clear();
        b.c.push_str("https://cdn.neonhub.ai/previews/");
        push_hex(&mut b.c, rng.u64(), 16);
        b.c.push_str(".webp");
        let tag_shape = rng.below(100);
        let mut tags = Vec::with_capacity(4);
        let k = 1 + rng.below(4) as usize;
        picks(rng, vocab::TEMPLATE_TAGS, k, &mut b.idx, &mut tags);
        let usage = rng.lognormal(40.0, 1.5).round().clamp(0.0, 1e6) as i64;
        let rating = rng.chance(0.7).then(|| round(3.0 + rng.unit() * 2.0, 1));
        let active = rng.chance(0.9);
        let updated = b.updated(created);

        out.text(id_str(&id));
        out.text(&b.a);
        out.text(category);
        out.json(&b.b);
        out.opt_text(preview.then_some(b.c.as_str()));
        if tag_shape < 5 {
            out.null();
        } else {
            out.list(&tags);
        }
        out.int(usage);
        out.opt_float(rating);
        out.boolean(active);
        out.timestamp(created);
        out.timestamp(updated);
        out.end_row();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::super::Scale;
    use super::super::sink::{CopySink, CountingSink};
    use super::*;

    fn tiny_plan() -> Arc<Plan> {
        Arc::new(Plan::new(42, Scale::Tiny.counts()))
    }

    #[test]
    fn every_row_has_every_column() {
        let plan = tiny_plan();
        for table in Table::ALL {
            let mut sink = Counting(CountingSink::default());
            assert!(produce(table, &plan, &mut sink, |_, _| true));
            let rows = sink.0.rows.len() as u64;
            assert_eq!(rows, table.count(&plan.counts), "{table:?}");
            let cols = table.columns().len();
            assert!(cols > 0);
            assert!(
                sink.0.rows.iter().all(|&c| c == cols),
                "{table:?}: {cols} columns expected"
            );
        }
    }

    #[test]
    fn json_columns_are_valid_and_sized() {
        // Every COPY line splits into the right number of fields, and every
        // JSON field parses.
        let plan = tiny_plan();
        for table in Table::ALL {
            let mut sink = CopySink::new(1 << 30);
            let mut chunks = Vec::new();
            produce(table, &plan, &mut sink, |_, c| {
                chunks.push(c);
                true
            });
            let data = String::from_utf8(chunks.concat()).unwrap();
            let schema = table.schema().unwrap();
            let mut json_bytes = 0usize;
            let mut json_count = 0usize;
            for line in data.lines().take(500) {
                let fields: Vec<&str> = line.split('\t').collect();
                assert_eq!(fields.len(), schema.columns.len(), "{table:?}: {line}");
                for (f, c) in fields.iter().zip(schema.columns) {
                    if c.ty == migration::schema::ColType::Json && *f != "\\N" {
                        let unescaped = f.replace("\\\\", "\\");
                        serde_json::from_str::<serde_json::Value>(&unescaped)
                            .unwrap_or_else(|e| panic!("{table:?}.{}: {e}: {f}", c.name));
                        json_bytes += f.len();
                        json_count += 1;
                    }
                    if c.not_null {
                        assert_ne!(*f, "\\N", "{table:?}.{} is NOT NULL", c.name);
                    }
                }
            }
            if json_count > 0 && matches!(table, Table::Analytics | Table::AgentExecutions) {
                let avg = json_bytes / json_count;
                assert!((100..1000).contains(&avg), "{table:?}: {avg} bytes");
            }
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let run = |seed| {
            let plan = Arc::new(Plan::new(seed, Scale::Tiny.counts()));
            let mut sink = CopySink::new(1 << 30);
            let mut out = Vec::new();
            produce(Table::AgentExecutions, &plan, &mut sink, |_, c| {
                out.extend(c);
                true
            });
            out
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    struct Counting(CountingSink);

    impl Sink for Counting {
        fn text(&mut self, v: &str) {
            self.0.text(v);
        }
        fn null(&mut self) {
            self.0.null();
        }
        fn int(&mut self, v: i64) {
            self.0.int(v);
        }
        fn float(&mut self, v: f64) {
            self.0.float(v);
        }
        fn boolean(&mut self, v: bool) {
            self.0.boolean(v);
        }
        fn timestamp(&mut self, ms: i64) {
            self.0.timestamp(ms);
        }
        fn json(&mut self, v: &str) {
            self.0.json(v);
        }
        fn list(&mut self, items: &[&str]) {
            self.0.list(items);
        }
        fn end_row(&mut self) {
            self.0.end_row();
        }
    }

    impl ChunkSink for Counting {
        type Chunk = ();
        fn rows(&self) -> u64 {
            0
        }
        fn is_full(&self) -> bool {
            false
        }
        fn take(&mut self) {}
    }
}
