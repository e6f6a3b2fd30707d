//! The adapter: configuration, connection, discovery of what the server supports, and
//! capabilities.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use idbridge_core::http::RequestCounts;
use idbridge_core::{
    Adapter, AdapterConfig, Capabilities, ErrorKind, PageRequest, Result, async_trait,
};
use tokio::sync::OnceCell;

use crate::client::ScimClient;
use crate::config::{DEFAULT_MEMBERS_PER_PATCH, ScimConfig};
use crate::discovery::Discovery;
use crate::wire::ServiceProviderConfig;

/// What the server said it supports (`/ServiceProviderConfig`, RFC 7643 §5), read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// PATCH (else updates replace the whole resource with PUT).
    pub patch: bool,
    /// `filter=` (else lookups list everything).
    pub filter: bool,
    /// The most results one answer holds, when the server caps it.
    pub max_results: Option<usize>,
    /// Versions: writes send `If-Match`.
    pub etag: bool,
    /// `/Bulk`, with its limits.
    pub bulk: Option<(u64, u64)>,
    /// Sorting.
    pub sort: bool,
}

impl Features {
    /// What a server's configuration document says.
    pub fn from_config(c: &ServiceProviderConfig) -> Self {
        Features {
            patch: c.patch.supported,
            filter: c.filter.supported,
            max_results: c
                .filter
                .max_results
                .and_then(|m| usize::try_from(m).ok())
                .filter(|m| *m > 0),
            etag: c.etag.supported,
            bulk: c.bulk.supported.then(|| {
                (
                    c.bulk.max_operations.unwrap_or(0),
                    c.bulk.max_payload_size.unwrap_or(0),
                )
            }),
            sort: c.sort.supported,
        }
    }

    /// A server without a configuration document: nothing beyond the mandatory
    /// operations is assumed.
    pub const MINIMAL: Features = Features {
        patch: false,
        filter: false,
        max_results: None,
        etag: false,
        bulk: None,
        sort: false,
    };

    /// One line for `idbridge check` and logs.
    pub fn summary(&self) -> String {
        format!(
            "patch={} filter={} maxResults={} etag={} bulk={} sort={}",
            self.patch,
            self.filter,
            self.max_results
                .map_or("none".to_string(), |m| m.to_string()),
            self.etag,
            self.bulk.map_or("no".to_string(), |(ops, bytes)| format!(
                "maxOperations {ops}, maxPayloadSize {bytes}"
            )),
            self.sort
        )
    }
}

/// A connected SCIM service provider.
pub struct ScimAdapter {
    pub(crate) client: ScimClient,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) page_size: usize,
    pub(crate) members_per_patch: usize,
    discovery: OnceCell<Discovery>,
    /// Cleared when the server refuses `excludedAttributes=members` on a group listing.
    pub(crate) exclude_members: AtomicBool,
    /// `bulk` of the configuration.
    bulk: bool,
    /// `bulk_max_operations` of the configuration.
    bulk_max_operations: Option<usize>,
    /// Set when the server answers `/Bulk` with 404, 405 or 501 although it advertises it.
    bulk_refused: AtomicBool,
}

impl std::fmt::Debug for ScimAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimAdapter")
            .field("client", &self.client)
            .field("features", &self.discovery.get().map(|d| d.features))
            .finish()
    }
}

impl ScimAdapter {
    /// What any SCIM 2.0 service provider offers (RFC 7644 §3): users with `active`,
    /// groups with nested members of type `Group`, membership changes many per PATCH (or
    /// per whole-group replace where PATCH is not supported). SCIM groups have no
    /// description, and SCIM has no roles, grants or sessions.
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            users_create: true,
            users_create_password: true,
            users_update: true,
            users_set_enabled: true,
            users_delete: true,
            groups_list: true,
            groups_get: true,
            groups_create: true,
            groups_update: true,
            groups_delete: true,
            members_list: true,
            members_add: true,
            members_remove: true,
            members_list_all: true,
            members_nested: true,
            members_batch_max: Some(DEFAULT_MEMBERS_PER_PATCH),
            ..Capabilities::default()
        }
    }

    /// Builds the adapter from its configuration without contacting the server.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] naming the offending key.
    pub fn from_config(cfg: &AdapterConfig) -> Result<Self> {
        let config = ScimConfig::from_adapter_config(cfg)?;
        let client = ScimClient::new(&config).map_err(|e| cfg.error("", e.message()))?;
        Ok(ScimAdapter {
            client,
            attributes: config.attribute_paths,
            page_size: config.page_size,
            members_per_patch: config.members_per_patch,
            discovery: OnceCell::new(),
            exclude_members: AtomicBool::new(true),
            bulk: config.bulk,
            bulk_max_operations: config.bulk_max_operations,
            bulk_refused: AtomicBool::new(false),
        })
    }

    /// Connects: parses the configuration, authenticates and reads what the server
    /// supports.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for the configuration;
    /// [`idbridge_core::ErrorKind::Unauthenticated`] when the credentials are refused;
    /// [`idbridge_core::ErrorKind::Unavailable`] when the server cannot be reached.
    pub async fn connect(cfg: &AdapterConfig) -> Result<Self> {
        let adapter = Self::from_config(cfg)?;
        adapter.client.login().await?;
        adapter.features().await?;
        Ok(adapter)
    }

    /// The registry's constructor.
    ///
    /// # Errors
    /// As [`ScimAdapter::connect`].
    pub async fn build(cfg: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        Ok(Arc::new(Self::connect(&cfg).await?))
    }

    /// The HTTP client.
    pub fn client(&self) -> &ScimClient {
        &self.client
    }

    /// What the server supports, read from `/ServiceProviderConfig` on first use. A
    /// server that has no such document (404, 501) is taken to support nothing optional.
    ///
    /// # Errors
    /// As [`ScimAdapter::discovery`].
    pub async fn features(&self) -> Result<Features> {
        self.discovery().await.map(|d| d.features)
    }

    /// What discovery found (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`),
    /// read on first use.
    ///
    /// # Errors
    /// Whatever reading failed with other than a missing document.
    pub async fn discovery(&self) -> Result<&Discovery> {
        self.discovery
            .get_or_try_init(|| async {
                let found = Discovery::read(&self.client).await?;
                tracing::info!(adapter = crate::ADAPTER_NAME, features = %found.features.summary(), "SCIM service provider configuration");
                Ok(found)
            })
            .await
    }

    /// The page size to ask for: the caller's wish, else the configured size, within the
    /// server's `maxResults`.
    pub(crate) async fn count(&self, page: &PageRequest) -> Result<usize> {
        let wanted = page.size.unwrap_or(self.page_size).max(1);
        Ok(match self.features().await?.max_results {
            Some(max) => wanted.min(max),
            None => wanted,
        })
    }

    /// The operations and bytes one bulk request may hold, when batches go to `/Bulk`:
    /// the server advertises it with both limits, and configuration allows it.
    ///
    /// # Errors
    /// As [`ScimAdapter::discovery`].
    pub(crate) async fn bulk_limits(&self) -> Result<Option<(usize, usize)>> {
        let features = self.features().await?;
        Ok(self.limits_of(&features))
    }

    fn limits_of(&self, features: &Features) -> Option<(usize, usize)> {
        if !self.bulk || self.bulk_refused.load(Ordering::Relaxed) {
            return None;
        }
        let (ops, bytes) = features.bulk?;
        let ops = usize::try_from(ops).ok()?;
        let ops = self.bulk_max_operations.map_or(ops, |m| m.min(ops));
        let bytes = usize::try_from(bytes).ok()?;
        // Both limits are required (RFC 7643 §5); a server leaving one out is not trusted
        // with batches.
        (ops > 1 && bytes > 0).then_some((ops, bytes))
    }

    /// Stops sending batches to `/Bulk` (the server refused it).
    pub(crate) fn bulk_refused(&self) {
        self.bulk_refused.store(true, Ordering::Relaxed);
    }

    pub(crate) fn exclude_members(&self) -> bool {
        self.exclude_members.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Adapter for ScimAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    /// As declared, with the configured members per PATCH, and batches of user writes up
    /// to the bulk limit where discovery (done when connecting) found `/Bulk`.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            members_batch_max: Some(self.members_per_patch),
            users_batch_max: self
                .discovery
                .get()
                .and_then(|d| self.limits_of(&d.features))
                .map(|(ops, _)| ops),
            ..Self::declared_capabilities()
        }
    }

    /// Reads the server's discovery documents (logged at `info`, with what it supports)
    /// and one user; fails naming every configured attribute path that the server's
    /// `/Schemas` does not have.
    async fn check(&self) -> Result<()> {
        let found = self.discovery().await?;
        let unknown = found.unknown_paths(&self.attributes);
        if !unknown.is_empty() {
            let list: Vec<String> = unknown
                .iter()
                .map(|(name, path)| format!("attribute_paths.{name} = `{path}`"))
                .collect();
            return Err(idbridge_core::Error::new(
                ErrorKind::Config,
                format!(
                    "the SCIM service provider's /Schemas has no such user attribute: {}",
                    list.join(", ")
                ),
            ));
        }
        crate::users::list(self, PageRequest::with_size(1)).await?;
        Ok(())
    }

    /// What discovery found, once read: the features of `/ServiceProviderConfig`, the
    /// resource types, whether groups and the Enterprise extension are there, and the
    /// user schema's attributes.
    fn facts(&self) -> Vec<(String, String)> {
        self.discovery
            .get()
            .map(Discovery::facts)
            .unwrap_or_default()
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.client.counts())
    }
}
