//! # idbridge-dataiku
//!
//! The `dataiku` adapter: users, groups, memberships, global and project permissions of a
//! Dataiku DSS instance through its public REST API, and (feature `emulator`) a stateful
//! in-memory DSS that the official `dataiku-api-client` works against.
//!
#![doc = include_str!("../README.md")]

mod adapter;
mod bulk;
mod client;
pub mod config;
pub mod error;
mod groups;
mod licence;
mod memberships;
mod permissions;
pub mod roles;
mod sessions;
mod shared;
mod users;
pub mod wire;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use adapter::{ADMINISTRATORS_GROUP, DataikuAdapter, KeyedLocks};
pub use client::{ApiPath, DssClient};
pub use config::{AttributesField, BulkMode, DataikuConfig};

idbridge_core::register_adapter! {
    name: "dataiku",
    description: "Dataiku DSS (public API: users, groups, memberships, global and project permissions, bulk user writes)",
    capabilities: DataikuAdapter::declared_capabilities,
    example_config: config::EXAMPLE_CONFIG,
    secret_keys: &["api_key"],
    build: DataikuAdapter::build,
    check_config: DataikuConfig::from_adapter_config,
    emulator: {
        description: "Dataiku DSS public API (users, groups, bulk user writes, authorization matrix, project permissions)",
        start: crate::emulator::start,
        contract: &crate::emulator::CONTRACT,
    },
}
