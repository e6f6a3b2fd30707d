//! # idbridge-scim-server
//!
//! idbridge's SCIM 2.0 service provider (RFC 7643/7644): identity providers such as Okta
//! and Microsoft Entra ID provision users and groups into idbridge, which keeps them in its
//! state database (the SCIM inbox of `idbridge-store`) for the fan-out to the targets.
//!
//! - Endpoints under a base path (default `/scim/v2`): `/ServiceProviderConfig`,
//!   `/ResourceTypes`, `/Schemas`, `/Users`, `/Groups` (list with filter, sorting, paging
//!   and projection; read, create, replace, patch, delete), `POST /.search` (at the root
//!   and per type) and `/Bulk`.
//! - Every request needs one of the configured bearer tokens (401 otherwise, whatever
//!   the path); bodies above the limit get 413.
//! - A write is durable in the state database before it is answered 2xx.
//! - Each resource has a version (`meta.version`, the `ETag` header, a weak tag); a write
//!   with an `If-Match` naming another version gets 412.
//! - What identity providers really send is accepted (the protocol library lists it):
//!   Okta's placeholder password on create (never stored nor returned), Entra's
//!   capitalised `op`, booleans as strings, member removal by a value array, path-less
//!   replaces with dotted keys. Attributes no schema defines are ignored.
//! - `userName` is unique without regard to case (409 `uniqueness`); a group's members must
//!   exist (400 `invalidValue`); deleting a user or group removes it from every group, in
//!   the same durable write.
//!
//! # Limits
//! Request bodies above `max_body_bytes` (default 1 MiB, also `/Bulk`'s advertised
//! `maxPayloadSize`) get 413, as does a `/Bulk` request of more than `max_bulk_operations`
//! (default 1000); a list answers at most `max_results` resources (default 1000). The
//! inbox is held in memory (tied to the store's change sequence, so writes by another
//! handle on the same state are seen at once), so memory grows with the number of users
//! and groups provisioned.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> idbridge_core::Result<()> {
//! use idbridge_core::Secret;
//! use idbridge_scim_server::{ServeConfig, serve};
//!
//! let store = idbridge_store::Store::open(std::path::Path::new("state.db"))?;
//! let config = ServeConfig::new(vec![Secret::configured("a-long-random-token")]);
//! let listener = tokio::net::TcpListener::bind(config.listen)
//!     .await
//!     .map_err(|e| idbridge_core::Error::unavailable(e.to_string()))?;
//! serve(config, store, listener, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```

mod auth;
mod bulk;
mod cache;
mod config;
mod discovery;
mod error;
mod http;
mod list;
mod proto;
mod resources;
mod server;
mod state;

pub use config::{
    DEFAULT_BASE_PATH, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BULK_OPERATIONS, DEFAULT_MAX_RESULTS,
    ServeConfig, TlsFiles,
};
pub use error::{ApiError, ApiResult};
pub use server::serve;
pub use state::ServerState;

/// The media type of every answer (requests may also use `application/json`).
pub const MEDIA_TYPE: &str = idbridge_scim_protocol::wire::MEDIA_TYPE;

/// The SCIM endpoint as an axum router: every route under the configured base path,
/// behind bearer-token authentication and the body limit. [`serve`] runs it; a program
/// may also mount it in a server of its own.
pub fn router(state: ServerState) -> axum::Router {
    http::router(state)
}
