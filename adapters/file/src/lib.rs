//! # idbridge-file
//!
//! The embedded default adapter: a directory of users, groups, roles and grants kept in
//! one YAML or JSON file, usable both as source and as target. Every write is validated
//! and saved atomically. See `docs/adapters/file.md`.

pub mod format;

pub use format::{
    DirGrant, DirGroup, DirRole, DirUser, Directory, Format, NeutralDirectory, is_valid_email,
};
