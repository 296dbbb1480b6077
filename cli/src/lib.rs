//! The `neonhub-db` command's subcommands, as a library so that the
//! integration tests can drive them.

pub mod bench;
pub mod check;
pub mod compare;
pub mod explain;
pub mod html;
pub mod indexes;
pub mod migrate;
pub mod seed;
pub mod stats;
