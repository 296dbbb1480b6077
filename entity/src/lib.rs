//! SeaORM entities for NeonHub, mirroring `neonhub-schema.prisma` table for
//! table and column for column, so that one PostgreSQL database serves both
//! the Prisma client and this crate.
//!
//! Rust names are snake_case; database names are Prisma's (tables from
//! `@@map`, columns exactly the field names: `"userId"`, `"createdAt"`).
//! The Rust types are the same on PostgreSQL and SQLite: see [`types`] for
//! timestamps and scalar lists, [`enums`] for the enums.
//!
//! This crate holds data shape and relations only: no behaviour, no I/O.

pub mod ab_test;
pub mod account;
pub mod agent;
pub mod agent_execution;
pub mod analytics;
pub mod campaign;
pub mod content;
pub mod design_template;
pub mod enums;
pub mod json;
pub mod lead;
pub mod prelude;
pub mod session;
pub mod trend;
pub mod types;
pub mod user;
pub mod verification_token;

pub use json::Json;
pub use types::{DbList, PlatformList, StringList, Timestamp};
