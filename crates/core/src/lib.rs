//! # idbridge-core
//!
//! The neutral identity model, the five adapter traits ([`Users`], [`Groups`],
//! [`Memberships`], [`Roles`], [`Sessions`]), the [`Adapter`] trait with its flat
//! [`Capabilities`], the one [`Error`] type, the [`Secret`] type, configuration loading,
//! the adapter registry and the HTTP plumbing every REST adapter shares.
//!
//! Adapters implement the traits; callers (the engine, the CLI, embedding programs) call
//! the inherent methods of an [`AdapterHandle`], which enforces the declared capabilities
//! and the protected accounts in one place and attaches context to every error. Wrappers
//! of an adapter build on [`Forward`].
//!
//! A new platform is one crate that implements the traits for its adapter type and calls
//! [`register_adapter!`]; see `docs/writing-an-adapter.md`.
//!
//! # Example
//!
//! A configuration built in code, as a program that embeds idbridge builds it (a file's
//! keys are the same; see [`Config::load`]), and an error acted on by its kind:
//!
//! ```
//! use idbridge_core::{Config, ConfigOrigin, ErrorKind};
//! use serde_json::json;
//!
//! let config = Config::from_value(
//!     json!({
//!         "state": "state.db",
//!         "source": {"adapter": "file", "path": "people.yaml"},
//!         "targets": {"portal": {"adapter": "file", "path": "portal.yaml"}},
//!     }),
//!     ConfigOrigin::in_memory("/srv/idbridge"),
//! )?;
//! assert_eq!(config.state, std::path::Path::new("/srv/idbridge/state.db"));
//! assert_eq!(config.targets["portal"].adapter, "file");
//!
//! let refused = Config::from_value(json!({"targets": {}}), ConfigOrigin::in_memory("."));
//! assert_eq!(refused.map(|_| ()).unwrap_err().kind(), ErrorKind::Config);
//! # Ok::<(), idbridge_core::Error>(())
//! ```
//!
//! # Next
//!
//! The sync engine, which plans and applies over these systems, is `idbridge-sync`; its
//! state lives in `idbridge-store`. `docs/embedding.md` walks through a complete program.

pub mod account;
mod adapter;
mod capability;
pub mod compare;
pub mod config;
pub mod config_debug;
mod config_value;
mod error;
pub mod files;
mod forward;
mod handle;
pub mod http;
pub mod json_outline;
pub mod model;
pub mod registry;
mod secret;
pub mod snapshot;
pub mod template;
pub mod text;
mod traits;

pub use adapter::{Adapter, AdapterExt, MAX_PAGES, Protected, collect_pages, for_each_page};
pub use capability::{Capabilities, Operation};
pub use config::{AdapterConfig, Config, ConfigOrigin, SystemSection};
pub use error::{Error, ErrorKind, ErrorReport, Result};
pub use forward::Forward;
pub use handle::AdapterHandle;
pub use model::PositionedMembers;
pub use model::{
    Grant, GrantFilter, Group, GroupChanges, Membership, NewGroup, NewUser, Principal, Role, Scope,
    Session, User, UserActivity, UserChanges, UserWrite, UserWriteResult,
};
pub use model::{GroupWrite, GroupWriteResult, MemberBatchKey, MemberWrite, MemberWriteResult};
pub use secret::{MIN_SECRET_LEN, REDACTED, Secret, redact, register_secret};
pub use snapshot::Snapshot;
pub use traits::{Groups, Memberships, Page, PageRequest, Roles, Sessions, Users};

/// Re-exports for [`register_adapter!`]; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}

/// Re-exported so adapters implement the traits with the same macro version.
pub use async_trait::async_trait;
