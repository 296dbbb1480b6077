//! Which index a dashboard query's statement uses: the database's own plan
//! for the exact statement the query sends (PostgreSQL
//! `EXPLAIN (FORMAT JSON)`, SQLite `EXPLAIN QUERY PLAN`).

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};
use serde::Serialize;

use crate::queries::Query;

/// The plan of one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explained {
    /// The query name (SPEC §8).
    pub query: String,
    /// The index SPEC §4 names for it.
    pub expected_index: String,
    /// Every index the plan uses, in plan order, without repeats.
    pub used_indexes: Vec<String>,
    /// Whether `expected_index` is among them.
    pub uses_expected: bool,
    /// The database's own plan text.
    pub plan: String,
}

/// Explains `query`'s statement on `conn`.
///
/// # Errors
/// The database's error.
pub async fn explain<C: ConnectionTrait>(conn: &C, query: &Query) -> Result<Explained, DbErr> {
    let backend = conn.get_database_backend();
    let stmt = query.statement(backend);
    let (plan, used) = match backend {
        DatabaseBackend::Postgres => {
            let explain = Statement {
                sql: format!("EXPLAIN (FORMAT JSON) {}", stmt.sql),
                values: stmt.values,
                db_backend: backend,
            };
            let row = conn
                .query_one_raw(explain)
                .await?
                .ok_or_else(|| DbErr::RecordNotFound("EXPLAIN returned no row".to_owned()))?;
            let json: serde_json::Value = row.try_get_by_index(0)?;
            let mut used = Vec::new();
            collect_pg_indexes(&json, &mut used);
            (
                serde_json::to_string_pretty(&json).unwrap_or_default(),
                used,
            )
        }
        _ => {
            let explain = Statement {
                sql: format!("EXPLAIN QUERY PLAN {}", stmt.sql),
                values: stmt.values,
                db_backend: backend,
            };
            let rows = conn.query_all_raw(explain).await?;
            let mut lines = Vec::new();
            let mut used = Vec::new();
            for row in rows {
                let detail: String = row.try_get("", "detail")?;
                if let Some(name) = sqlite_index(&detail) {
                    push_unique(&mut used, name);
                }
                lines.push(detail);
            }
            (lines.join("\n"), used)
        }
    };
    let expected = query.expected_index();
    Ok(Explained {
        query: query.name().as_str().to_owned(),
        expected_index: expected.to_owned(),
        uses_expected: used.iter().any(|u| u == expected),
        used_indexes: used,
        plan,
    })
}

fn push_unique(list: &mut Vec<String>, name: String) {
    if !list.contains(&name) {
        list.push(name);
    }
}

fn collect_pg_indexes(node: &serde_json::Value, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(name)) = map.get("Index Name") {
                push_unique(out, name.clone());
            }
            map.values().for_each(|v| collect_pg_indexes(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_pg_indexes(v, out)),
        _ => {}
    }
}

/// The index named in a SQLite plan line (`... USING INDEX x (...)`,
/// `... USING COVERING INDEX x ...`).
fn sqlite_index(detail: &str) -> Option<String> {
    let rest = detail
        .split_once("USING COVERING INDEX ")
        .or_else(|| detail.split_once("USING INDEX "))?
        .1;
    rest.split_whitespace().next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sqlite_plan_lines() {
        assert_eq!(
            sqlite_index("SEARCH users USING INDEX users_role_createdAt_idx (role=?)").as_deref(),
            Some("users_role_createdAt_idx")
        );
        assert_eq!(
            sqlite_index("SCAN leads USING COVERING INDEX leads_score_idx").as_deref(),
            Some("leads_score_idx")
        );
        assert_eq!(sqlite_index("SCAN leads"), None);
    }

    #[test]
    fn reads_postgres_json_plans() {
        let plan = serde_json::json!([{"Plan": {"Node Type": "Limit", "Plans": [
            {"Node Type": "Index Scan", "Index Name": "leads_score_idx"}]}}]);
        let mut used = Vec::new();
        collect_pg_indexes(&plan, &mut used);
        assert_eq!(used, ["leads_score_idx"]);
    }
}
