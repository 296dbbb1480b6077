//! The Prisma model's tables as data, and the DDL generated from it for
//! each backend.
//!
//! PostgreSQL gets exactly what `prisma migrate` creates for
//! `neonhub-schema.prisma`: native enum types, `TIMESTAMP(3)`, `JSONB`,
//! `TEXT[]`, `"Platform"[]`, `<table>_pkey` / `<table>_<cols>_key` /
//! `<table>_<col>_fkey` names, Prisma's defaults and referential actions.
//! Every statement is guarded so that a database Prisma already created is
//! adopted as it is (see [`postgres_up_tables`]).
//!
//! SQLite gets the equivalent: enums as TEXT with a CHECK of the valid
//! values, lists and JSON as TEXT, timestamps as
//! `YYYY-MM-DD HH:MM:SS.SSS` text (UTC), which sorts chronologically.
//!
//! This module is deliberately independent of the `entity` crate: a
//! migration must keep describing the schema as it was when written.

use std::fmt::Write as _;

/// A column type of the Prisma model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// `String`: `TEXT`.
    Text,
    /// `Int`: `INTEGER`.
    Int,
    /// `Float`: `DOUBLE PRECISION` (SQLite `REAL`).
    Float,
    /// `Boolean`: `BOOLEAN`.
    Bool,
    /// `DateTime`: `TIMESTAMP(3)` (SQLite `TEXT`).
    Timestamp,
    /// `Json`: `JSONB` (SQLite `TEXT`).
    Json,
    /// `String[]`: `TEXT[]` (SQLite `TEXT` holding a JSON array).
    TextList,
    /// An enum: the native type of that name (SQLite `TEXT` + CHECK).
    Enum(&'static str),
    /// A list of an enum: `"<name>"[]` (SQLite `TEXT` holding a JSON array).
    EnumList(&'static str),
}

/// A column default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColDefault {
    /// `@default(now())`: `CURRENT_TIMESTAMP`.
    Now,
    /// A literal as SQL text (`'USER'`, `0`, `true`, `'1.0.0'`).
    Literal(&'static str),
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The column name, exactly the Prisma field name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColType,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Its default, if any.
    pub default: Option<ColDefault>,
}

/// `ON DELETE` action of a foreign key (all use `ON UPDATE CASCADE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// Required relation: `RESTRICT`.
    Restrict,
    /// Optional relation: `SET NULL`.
    SetNull,
    /// `onDelete: Cascade`.
    Cascade,
}

impl OnDelete {
    /// The action in SQL (`RESTRICT`, `SET NULL`, `CASCADE`).
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Cascade => "CASCADE",
        }
    }
}

/// A foreign key `"<table>_<column>_fkey"`.
#[derive(Debug, Clone, Copy)]
pub struct ForeignKey {
    /// The referencing column.
    pub column: &'static str,
    /// The referenced table (its `"id"`).
    pub references: &'static str,
    /// What deleting the referenced row does.
    pub on_delete: OnDelete,
}

/// One table.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// The table name (Prisma `@@map`).
    pub name: &'static str,
    /// Columns in Prisma's order.
    pub columns: &'static [Column],
    /// Primary key column (`"<table>_pkey"`), if any.
    pub primary_key: Option<&'static str>,
    /// Foreign keys.
    pub foreign_keys: &'static [ForeignKey],
}

/// The enum types, in the order Prisma creates them.
pub const ENUMS: &[(&str, &[&str])] = &[
    ("UserRole", &["ADMIN", "MANAGER", "USER", "VIEWER"]),
    (
        "CampaignType",
        &[
            "SOCIAL_MEDIA",
            "EMAIL",
            "ADS",
            "CONTENT",
            "INFLUENCER",
            "EVENT",
            "PRODUCT_LAUNCH",
        ],
    ),
    (
        "CampaignStatus",
        &["DRAFT", "ACTIVE", "PAUSED", "COMPLETED", "CANCELLED"],
    ),
    (
        "Platform",
        &[
            "FACEBOOK",
            "INSTAGRAM",
            "TIKTOK",
            "TWITTER",
            "LINKEDIN",
            "YOUTUBE",
            "EMAIL",
            "WEBSITE",
            "SHOPIFY",
            "GOOGLE_ADS",
            "META_ADS",
        ],
    ),
    (
        "AgentType",
        &["CONTENT", "AD", "OUTREACH", "TREND", "INSIGHT", "DESIGN"],
    ),
    (
        "AgentStatus",
        &["ACTIVE", "INACTIVE", "MAINTENANCE", "DEPRECATED"],
    ),
    (
        "ExecutionStatus",
        &["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"],
    ),
    (
        "AnalyticsType",
        &[
            "ENGAGEMENT",
            "REACH",
            "CONVERSION",
            "REVENUE",
            "CLICKS",
            "IMPRESSIONS",
            "SENTIMENT",
            "PERFORMANCE",
        ],
    ),
    (
        "ABTestStatus",
        &["DRAFT", "RUNNING", "COMPLETED", "STOPPED"],
    ),
    (
        "ContentType",
        &[
            "POST", "STORY", "REEL", "VIDEO", "EMAIL", "AD", "BLOG", "PRODUCT",
        ],
    ),
    (
        "ContentStatus",
        &["DRAFT", "SCHEDULED", "PUBLISHED", "ARCHIVED"],
    ),
    (
        "LeadStatus",
        &["NEW", "CONTACTED", "QUALIFIED", "CONVERTED", "LOST"],
    ),
];

const fn col(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        default: None,
    }
}

const fn opt(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        not_null: false,
        default: None,
    }
}

const fn def(name: &'static str, ty: ColType, default: ColDefault) -> Column {
    Column {
        name,
        ty,
        not_null: true,
        default: Some(default),
    }
}

const fn fk(column: &'static str, references: &'static str, on_delete: OnDelete) -> ForeignKey {
    ForeignKey {
        column,
        references,
        on_delete,
    }
}

use ColDefault::{Literal, Now};
use ColType::*;

/// Every table of the Prisma model, parents before children.
pub const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            col("id", Text),
            col("email", Text),
            opt("name", Text),
            def("role", Enum("UserRole"), Literal("'USER'")),
            opt("avatar", Text),
            opt("emailVerified", Timestamp),
            def("createdAt", Timestamp, Now),
            col("updatedAt", Timestamp),
        ],
        primary_key: Some("id"),
        foreign_keys: &[],
    },
    Table {
        name: "accounts",
        columns: &[
            col("id", Text),
            col("userId", Text),
            col("type", Text),
            col("provider", Text),
            col("providerAccountId", Text),
            opt("refresh_token", Text),
            opt("access_token", Text),
            opt("expires_at", Int),
            opt("token_type", Text),
            opt("scope", Text),
            opt("id_token", Text),
            opt("session_state", Text),
        ],
        primary_key: Some("id"),
        foreign_keys: &[fk("userId", "users", OnDelete::Cascade)],
    },
    Table {
        name: "sessions",
        columns: &[
            col("id", Text),
            col("sessionToken", Text),
            col("userId", Text),
            col("expires", Timestamp),
        ],
        primary_key: Some("id"),
        foreign_keys: &[fk("userId", "users", OnDelete::Cascade)],
    },
    Table {
        name: "verification_tokens",
        columns: &[
            col("identifier", Text),
            col("token", Text),
            col("expires", Timestamp),
        ],
        primary_key: None,
        foreign_keys: &[],
    },
    Table {
        name: "campaigns",
        columns: &[
            col("id", Text),
            col("name", Text),
            opt("description", Text),
            col("type", Enum("CampaignType")),
            def("status", Enum("CampaignStatus"), Literal("'DRAFT'")),
            opt("budget", Float),
            opt("startDate", Timestamp),
            opt("endDate", Timestamp),
            opt("targetAudience", Json),
            opt("platforms", EnumList("Platform")),
            opt("metrics", Json),
            opt("settings", Json),
            def("createdAt", Timestamp, Now),
            col("updatedAt", Timestamp),
            col("userId", Text),
            opt("userId2", Text),
        ],
        primary_key: Some("id"),
        foreign_keys: &[
            fk("userId", "users", OnDelete::Restrict),
            fk("userId2", "users", OnDelete::SetNull),
        ],
    },
    Table {
        name: "agents",
        columns: &[
            col("id", Text),
            col("name", Text),
            col("type", Enum("AgentType")),
            def("status", Enum("AgentStatus"), Literal("'ACTIVE'")),
            opt("capabilities", Json),
            opt("settings", Json),
            def("version", Text, Literal("'1.0.0'")),
            def("createdAt", Timestamp, Now),
            col("updatedAt", Timestamp),
        ],
        primary_key: Some("id"),
        foreign_keys: &[],
    },
    Table {
        name: "agent_executions",
        columns: &[
            col("id", Text),
            col("agentId", Text),
            opt("campaignId", Text),
            opt("userId", Text),
            col("task", Text),
            opt("payload", Json),
            opt("result", Json),
            def("status", Enum("ExecutionStatus"), Literal("'PENDING'")),
            opt("performance", Float),
            opt("error", Text),
            def("startedAt", Timestamp, Now),
            opt("completedAt", Timestamp),
            opt("metadata", Json),
        ],
        primary_key: Some("id"),
        foreign_keys: &[
            fk("agentId", "agents", OnDelete::Restrict),
            fk("campaignId", "campaigns", OnDelete::SetNull),
            fk("userId", "users", OnDelete::SetNull),
        ],
    },
    Table {
        name: "analytics",
        columns: &[
            col("id", Text),
            opt("campaignId", Text),
            opt("userId", Text),
            col("type", Enum("AnalyticsType")),
            col("data", Json),
            opt("period", Text),
            def("date", Timestamp, Now),
            opt("metadata", Json),
        ],
        primary_key: Some("id"),
        foreign_keys: &[
            fk("campaignId", "campaigns", OnDelete::SetNull),
            fk("userId", "users", OnDelete::SetNull),
        ],
    },
    Table {
        name: "ab_tests",
        columns: &[
            col("id", Text),
            col("campaignId", Text),
            col("name", Text),
            opt("description", Text),
            def("status", Enum("ABTestStatus"), Literal("'RUNNING'")),
            col("variants", Json),
            opt("results", Json),
            opt("winner", Text),
            opt("confidence", Float),
            def("startDate", Timestamp, Now),
            opt("endDate", Timestamp),
            opt("settings", Json),
        ],
        primary_key: Some("id"),
        foreign_keys: &[fk("campaignId", "campaigns", OnDelete::Restrict)],
    },
    Table {
        name: "contents",
        columns: &[
            col("id", Text),
            col("title", Text),
            col("type", Enum("ContentType")),
            col("platform", Enum("Platform")),
            col("content", Json),
            def("status", Enum("ContentStatus"), Literal("'DRAFT'")),
            opt("performance", Json),
            opt("metadata", Json),
            def("createdAt", Timestamp, Now),
            col("updatedAt", Timestamp),
        ],
        primary_key: Some("id"),
        foreign_keys: &[],
    },
    Table {
        name: "leads",
        columns: &[
            col("id", Text),
            col("email", Text),
            opt("name", Text),
            opt("company", Text),
            opt("position", Text),
            opt("phone", Text),
            opt("source", Text),
            def("status", Enum("LeadStatus"), Literal("'NEW'")),
            opt("score", Float),
            opt("tags", TextList),
            opt("metadata", Json),
            def("createdAt", Timestamp, Now),
            col("updatedAt", Timestamp),
        ],
        primary_key: Some("id"),
        foreign_keys: &[],
    },
    Table {
        name: "trends",
        columns: &[
            col("id", Text),
            col("keyword", Text),
            col("platform", Enum("Platform")),
            opt("category", Text),
            col("score", Float),
            opt("volume", Int),
            opt("growth", Float),
            col("data", Json),
            def("detectedAt", Timestamp, Now),
        ],
        primary_key: Some("id"),
        foreign_keys: &[],
    },
    Table {
        name: "design_templates",
        columns: &[
            col("id", Text),
            col("name", Text),
            col("category", Text),
            col("template", Json),
            opt("preview", Text),
            opt("tags", TextList),
            def("usage", Int, Literal("0")),
            opt("rating", Float),
            def("isActive", Bool, Literal("true")),
            def("createdAt", Timestamp, Now),
            col("updatedAt", Timestamp),
        ],
        primary_key: Some("id"),
        foreign_keys: &[],
    },
];

/// The unique indexes of the Prisma model (`@unique` / `@@unique`):
/// `(name, table, columns)`. They belong to the schema migration, as in
/// Prisma's own migration.
pub const UNIQUE_INDEXES: &[(&str, &str, &[&str])] = &[
    ("users_email_key", "users", &["email"]),
    (
        "accounts_provider_providerAccountId_key",
        "accounts",
        &["provider", "providerAccountId"],
    ),
    ("sessions_sessionToken_key", "sessions", &["sessionToken"]),
    (
        "verification_tokens_token_key",
        "verification_tokens",
        &["token"],
    ),
    (
        "verification_tokens_identifier_token_key",
        "verification_tokens",
        &["identifier", "token"],
    ),
];

/// Quotes an identifier (all names here are plain, but be exact).
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(crate) fn column_list(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The PostgreSQL type of `ty`, as written in DDL.
pub fn pg_type(ty: ColType) -> String {
    match ty {
        Text => "TEXT".into(),
        Int => "INTEGER".into(),
        Float => "DOUBLE PRECISION".into(),
        Bool => "BOOLEAN".into(),
        Timestamp => "TIMESTAMP(3)".into(),
        Json => "JSONB".into(),
        TextList => "TEXT[]".into(),
        Enum(name) => ident(name),
        EnumList(name) => format!("{}[]", ident(name)),
    }
}

/// The SQLite type of `ty`, as written in DDL.
pub fn sqlite_type(ty: ColType) -> &'static str {
    match ty {
        Int => "INTEGER",
        Float => "REAL",
        Bool => "BOOLEAN",
        Text | Timestamp | Json | TextList | Enum(_) | EnumList(_) => "TEXT",
    }
}

/// The values of enum `name`, in order (empty for an unknown name).
pub fn enum_values(name: &str) -> &'static [&'static str] {
    ENUMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or(&[])
}

fn quoted_values(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A default as PostgreSQL's DDL writes it.
pub fn pg_default(default: ColDefault) -> &'static str {
    match default {
        Now => "CURRENT_TIMESTAMP",
        Literal(v) => v,
    }
}

/// A default as SQLite's DDL writes it. `now()` is the same text form the
/// service writes (sortable, UTC, milliseconds); booleans are 0/1.
pub fn sqlite_default(default: ColDefault) -> &'static str {
    match default {
        Now => "(strftime('%Y-%m-%d %H:%M:%f', 'now'))",
        Literal("true") => "1",
        Literal("false") => "0",
        Literal(v) => v,
    }
}

/// A foreign key's name, Prisma's `<table>_<column>_fkey`.
pub fn fk_name(table: &str, column: &str) -> String {
    format!("{table}_{column}_fkey")
}

/// The PostgreSQL DDL of the enum types and tables, each statement guarded
/// so that it is a no-op where Prisma (or an earlier run) already created
/// the object: enum types are looked up by name in the catalogue, tables
/// use `IF NOT EXISTS`.
pub fn postgres_up_tables() -> String {
    let mut sql = String::new();
    for (name, values) in ENUMS {
        let _ = writeln!(
            sql,
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE t.typname = '{name}' AND n.nspname = current_schema()) THEN \
             CREATE TYPE {} AS ENUM ({}); END IF; END $$;",
            ident(name),
            quoted_values(values)
        );
    }
    for table in TABLES {
        let mut lines: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let mut line = format!("    {} {}", ident(c.name), pg_type(c.ty));
                if c.not_null {
                    line.push_str(" NOT NULL");
                }
                if let Some(d) = c.default {
                    let _ = write!(line, " DEFAULT {}", pg_default(d));
                }
                line
            })
            .collect();
        if let Some(pk) = table.primary_key {
            lines.push(format!(
                "    CONSTRAINT {} PRIMARY KEY ({})",
                ident(&format!("{}_pkey", table.name)),
                ident(pk)
            ));
        }
        let _ = writeln!(
            sql,
            "CREATE TABLE IF NOT EXISTS {} (\n{}\n);",
            ident(table.name),
            lines.join(",\n")
        );
    }
    sql
}

/// The PostgreSQL DDL of the keys (unique indexes, foreign keys), guarded
/// like [`postgres_up_tables`].
pub fn postgres_up_keys() -> String {
    let mut sql = String::new();
    for (name, table, columns) in UNIQUE_INDEXES {
        let _ = writeln!(
            sql,
            "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {}({});",
            ident(name),
            ident(table),
            column_list(columns)
        );
    }
    for table in TABLES {
        for fk in table.foreign_keys {
            let name = fk_name(table.name, fk.column);
            let _ = writeln!(
                sql,
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                 WHERE c.conname = '{name}' AND n.nspname = current_schema()) THEN \
                 ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}(\"id\") ON DELETE {} ON UPDATE CASCADE; \
                 END IF; END $$;",
                ident(table.name),
                ident(&name),
                ident(fk.column),
                ident(fk.references),
                fk.on_delete.sql()
            );
        }
    }
    sql
}

/// The PostgreSQL DDL that removes the schema: every table, then every
/// enum type.
pub fn postgres_down() -> String {
    let mut sql = String::new();
    for table in TABLES.iter().rev() {
        let _ = writeln!(sql, "DROP TABLE IF EXISTS {} CASCADE;", ident(table.name));
    }
    for (name, _) in ENUMS.iter().rev() {
        let _ = writeln!(sql, "DROP TYPE IF EXISTS {};", ident(name));
    }
    sql
}

/// The SQLite statements of the schema, one per element.
pub fn sqlite_up() -> Vec<String> {
    let mut out = Vec::new();
    for table in TABLES {
        let mut lines: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let mut line = format!("    {} {}", ident(c.name), sqlite_type(c.ty));
                if c.not_null {
                    line.push_str(" NOT NULL");
                }
                if let Some(d) = c.default {
                    let _ = write!(line, " DEFAULT {}", sqlite_default(d));
                }
                if let Enum(name) = c.ty {
                    let _ = write!(
                        line,
                        " CHECK ({} IN ({}))",
                        ident(c.name),
                        quoted_values(enum_values(name))
                    );
                }
                line
            })
            .collect();
        if let Some(pk) = table.primary_key {
            lines.push(format!(
                "    CONSTRAINT {} PRIMARY KEY ({})",
                ident(&format!("{}_pkey", table.name)),
                ident(pk)
            ));
        }
        for fk in table.foreign_keys {
            lines.push(format!(
                "    CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}(\"id\") ON DELETE {} ON UPDATE CASCADE",
                ident(&fk_name(table.name, fk.column)),
                ident(fk.column),
                ident(fk.references),
                fk.on_delete.sql()
            ));
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n{}\n)",
            ident(table.name),
            lines.join(",\n")
        ));
    }
    for (name, table, columns) in UNIQUE_INDEXES {
        out.push(format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {}({})",
            ident(name),
            ident(table),
            column_list(columns)
        ));
    }
    out
}

/// The SQLite statements that remove the schema, children first.
pub fn sqlite_down() -> Vec<String> {
    TABLES
        .iter()
        .rev()
        .map(|t| format!("DROP TABLE IF EXISTS {}", ident(t.name)))
        .collect()
}

/// The columns each table must have, for the adoption check.
pub fn expected_columns(table: &str) -> Vec<&'static str> {
    TABLES
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.columns.iter().map(|c| c.name).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_column_names_a_declared_enum() {
        for table in TABLES {
            for c in table.columns {
                if let Enum(name) | EnumList(name) = c.ty {
                    assert!(!enum_values(name).is_empty(), "{}.{}", table.name, c.name);
                }
            }
        }
    }

    #[test]
    fn postgres_ddl_has_prisma_names() {
        let sql = postgres_up_tables() + &postgres_up_keys();
        assert!(sql.contains("CONSTRAINT \"campaigns_pkey\" PRIMARY KEY (\"id\")"));
        assert!(sql.contains("\"platforms\" \"Platform\"[]"));
        assert!(sql.contains(
            "ADD CONSTRAINT \"accounts_userId_fkey\" FOREIGN KEY (\"userId\") REFERENCES \"users\"(\"id\") ON DELETE CASCADE ON UPDATE CASCADE"
        ));
        assert_eq!(sql.matches("CREATE TABLE IF NOT EXISTS").count(), 13);
    }
}
