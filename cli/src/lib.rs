//! The `neonhub-db` command's subcommands, as a library so that the
//! integration tests can drive them.

pub mod migrate;
pub mod seed;
