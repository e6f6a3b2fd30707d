//! The adapter: configuration, connection, capabilities and protected accounts.

use std::sync::Arc;

use idbridge_core::http::RequestCounts;
use idbridge_core::{Adapter, AdapterConfig, Capabilities, Error, Protected, Result, async_trait};
use tokio::sync::Mutex;

use crate::client::SquirroClient;
use crate::config::SquirroConfig;
use crate::wire::WireProject;

/// A connected Squirro tenant.
///
/// Build it with [`SquirroAdapter::build`] (the registry does), which exchanges the
/// refresh token once so that bad credentials fail at connect time and the connecting
/// account is known (and protected) from the start.
pub struct SquirroAdapter {
    pub(crate) client: SquirroClient,
    pub(crate) default_role: String,
    pub(crate) attribute_keys: Vec<String>,
    /// Projects read from the topic API: read again by every roles or grants listing, and
    /// by a grant or revoke that does not find a name or whose project id the server no
    /// longer knows, so that a process syncing on an interval sees each run's projects.
    pub(crate) projects: Mutex<Option<Vec<WireProject>>>,
}

impl std::fmt::Debug for SquirroAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SquirroAdapter")
            .field("client", &self.client)
            .field("default_role", &self.default_role)
            .finish()
    }
}

impl SquirroAdapter {
    /// What a Squirro tenant offers through its user API.
    ///
    /// Users have no enabled flag (`users_set_enabled = false`: the sync engine falls back
    /// to the deletion policy); groups hold only users (`members_nested = false`); there
    /// is no session listing (`sessions_list = false`); revoking a user's sessions revokes
    /// every grant the grant listing shows.
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            users_create: true,
            users_create_password: true,
            users_update: true,
            users_login_is_email: true,
            users_set_enabled: false,
            users_delete: true,
            users_activity: false,
            groups_list: true,
            groups_get: true,
            groups_create: true,
            groups_update: true,
            groups_delete: true,
            members_list: true,
            members_add: true,
            members_remove: true,
            members_list_all: true,
            members_nested: false,
            roles_list: true,
            grants_list: true,
            grants_grant: true,
            grants_revoke: true,
            grants_global: true,
            grants_project: true,
            grants_to_groups: true,
            grants_global_floor: Some("reader"),
            sessions_list: false,
            sessions_revoke: true,
            sessions_revoke_user: true,
            ..Capabilities::default()
        }
    }

    /// Builds a client from the configuration without contacting the server.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the offending key.
    pub fn from_config(cfg: &AdapterConfig) -> Result<Self> {
        let config = SquirroConfig::from_adapter_config(cfg)?;
        let client = SquirroClient::new(&config).map_err(|e| cfg.error("", e.message()))?;
        Ok(SquirroAdapter {
            client,
            default_role: config.default_role,
            attribute_keys: config.attribute_keys,
            projects: Mutex::new(None),
        })
    }

    /// Connects: parses the configuration, exchanges the refresh token and checks that a
    /// tenant is known.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for the configuration;
    /// [`idbridge_core::ErrorKind::Unauthenticated`] when the refresh token is refused;
    /// [`idbridge_core::ErrorKind::Unavailable`] when the server cannot be reached.
    pub async fn connect(cfg: &AdapterConfig) -> Result<Self> {
        let adapter = Self::from_config(cfg)?;
        adapter.client.login().await?;
        adapter
            .client
            .tenant()
            .map_err(|e| cfg.error("tenant", e.message()))?;
        Ok(adapter)
    }

    /// The registry's constructor.
    ///
    /// # Errors
    /// As [`SquirroAdapter::connect`].
    pub async fn build(cfg: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        Ok(Arc::new(Self::connect(&cfg).await?))
    }

    /// The HTTP client (for adapter-specific calls).
    pub fn client(&self) -> &SquirroClient {
        &self.client
    }

    /// The connecting user's id, as the token exchange reported it.
    pub fn connecting_user(&self) -> Option<String> {
        self.client.identity().user_id
    }

    pub(crate) fn refuse_connecting_user(&self, user: &str, what: &str) -> Result<()> {
        if self.connecting_user().as_deref() == Some(user) {
            return Err(Error::permission_denied(format!(
                "user `{user}` is the connecting account; idbridge never {what} it"
            ))
            .with_resource(user));
        }
        Ok(())
    }
}

#[async_trait]
impl Adapter for SquirroAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Self::declared_capabilities()
    }

    /// The connecting account.
    fn protected(&self) -> Protected {
        let mut p = Protected::default();
        if let Some(id) = self.connecting_user() {
            p.user_ids.insert(id);
        }
        p
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.client.counts())
    }
}
