//! `neonhub-db explain`: for each query of SPEC §4, the database's own plan
//! of the exact statement the service sends, and whether it uses the index
//! SPEC names. Parameters are drawn from values that exist.

use serde::Serialize;
use service::explain::{Explained, explain};
use service::queries::{DashboardQuery, TrendingKeywords};
use service::{NeonDb, QueryName};

use crate::bench::calls::{Call, Draw, Pools};
use crate::bench::zipf::Rng;

/// Every plan, trending keywords twice (with and without a platform).
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct ExplainReport(pub Vec<Explained>);

impl ExplainReport {
    /// Whether every query uses its index.
    pub fn all_use_expected(&self) -> bool {
        self.0.iter().all(|e| e.uses_expected)
    }
}

/// Explains every query.
///
/// # Errors
/// The database's error, or an empty database.
pub async fn run(db: &NeonDb) -> Result<ExplainReport, Box<dyn std::error::Error + Send + Sync>> {
    let pools = Pools::load(db).await?;
    if !pools.is_usable() {
        return Err(
            "the database has no data to explain queries with; run `neonhub-db seed` first".into(),
        );
    }
    let mut rng = Rng::new(42, 77);
    let mut out = Vec::new();
    for name in QueryName::ALL {
        let mut call = Call::draw(name, &pools, &mut rng, Draw::Zipf);
        if name == QueryName::TrendingKeywords {
            // With a platform here; without one below.
            call = Call(
                TrendingKeywords::new(Some(entity::enums::Platform::Instagram), None, None)?.key(),
            );
        }
        out.push(explain(db.connection(), &call.0).await?);
        if name == QueryName::TrendingKeywords {
            let without = TrendingKeywords::new(None, None, None)?.key();
            out.push(explain(db.connection(), &without).await?);
        }
    }
    Ok(ExplainReport(out))
}

impl std::fmt::Display for ExplainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.0 {
            writeln!(
                f,
                "{} {:<31} expects {:<46} uses {}",
                if e.uses_expected { "ok  " } else { "MISS" },
                e.query,
                e.expected_index,
                if e.used_indexes.is_empty() {
                    "no index".to_owned()
                } else {
                    e.used_indexes.join(", ")
                }
            )?;
        }
        Ok(())
    }
}
