//! The adapter: connection, capabilities, protected accounts, and the per-record locks
//! that make read-modify-write updates safe under concurrency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use idbridge_core::http::RequestCounts;
use idbridge_core::{
    Adapter, AdapterConfig, Capabilities, Error, ErrorKind, Protected, Result, async_trait,
};
use reqwest::Method;
use tokio::sync::OwnedMutexGuard;

use crate::bulk::BulkSupport;
use crate::client::{ApiPath, DssClient};
use crate::config::DataikuConfig;
use crate::shared::SharedRead;
use crate::wire::{AuthInfo, Doc};

/// The built-in group of DSS administrators; never modified.
pub const ADMINISTRATORS_GROUP: &str = "administrators";

/// Async locks by key (`user:<login>`, `group:<name>`, `project:<key>`), so that two
/// read-modify-write updates of one document in this process never interleave and lose
/// each other's change.
#[derive(Debug, Default)]
pub struct KeyedLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// How many confirming reads [`DataikuAdapter::read_for_update`] makes at most.
const STABLE_READ_ATTEMPTS: usize = 3;

/// Above this many entries, entries nobody holds or waits for are dropped.
const LOCKS_PRUNE_AT: usize = 1024;

impl KeyedLocks {
    /// Waits for and takes the lock of `key`.
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() > LOCKS_PRUNE_AT {
                // Only the map holds an entry with one reference: no holder, no waiter.
                map.retain(|_, v| Arc::strong_count(v) > 1);
            }
            map.entry(key.to_string()).or_default().clone()
        };
        m.lock_owned().await
    }

    /// Takes the locks of several keys, in sorted order so that two callers never wait on
    /// each other.
    pub async fn lock_all(&self, keys: &[String]) -> Vec<OwnedMutexGuard<()>> {
        let mut keys: Vec<&String> = keys.iter().collect();
        keys.sort();
        keys.dedup();
        let mut guards = Vec::with_capacity(keys.len());
        for k in keys {
            guards.push(self.lock(k).await);
        }
        guards
    }
}

/// The lock key of a user document.
pub fn user_key(login: &str) -> String {
    format!("user:{login}")
}

/// The lock key of a group definition.
pub fn group_key(name: &str) -> String {
    format!("group:{name}")
}

/// The lock key of a project's permissions document.
pub fn project_key(key: &str) -> String {
    format!("project:{key}")
}

/// A connected Dataiku DSS.
#[derive(Debug)]
pub struct DataikuAdapter {
    pub(crate) client: DssClient,
    pub(crate) cfg: DataikuConfig,
    /// Whether the bulk user endpoints are used (learnt from the first bulk request).
    pub(crate) bulk: BulkSupport,
    /// Who the API key acts as, as the server reported it.
    pub(crate) identity: Option<String>,
    protected: Protected,
    pub(crate) locks: KeyedLocks,
    /// The user listing with settings, shared by concurrent bulk writes' checks.
    pub(crate) shared_user_docs: SharedRead<Vec<Doc>>,
    /// The user listing without settings, shared by concurrent membership batches.
    pub(crate) shared_user_list: SharedRead<Vec<Doc>>,
    /// The group listing, shared by concurrent group creates and membership batches.
    pub(crate) shared_group_list: SharedRead<Vec<Doc>>,
}

impl DataikuAdapter {
    /// What the adapter declares before connecting (the bulk batch size is only declared
    /// once a connection shows the server has the bulk endpoints).
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            users_create: true,
            users_create_password: true,
            users_update: true,
            users_login_is_email: false,
            users_login_immutable: true,
            users_set_enabled: true,
            users_delete: true,
            users_activity: true,
            users_batch_max: None,
            groups_list: true,
            groups_get: true,
            groups_create: true,
            groups_update: true,
            groups_description: true,
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
            // A group holds a global role by carrying the role group's flags.
            grants_global_to_groups: true,
            sessions_list: false,
            sessions_revoke: false,
            sessions_revoke_user: false,
            ..Capabilities::default()
        }
    }

    /// Connects: asks the server who the key acts as (to protect that user). Nothing is
    /// written: whether the server has the bulk user endpoints is learnt from the first
    /// bulk write (see the `bulk` module).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an invalid section; [`ErrorKind::Unauthenticated`] for a
    /// key the server rejects; [`ErrorKind::Unavailable`] when the server cannot be reached.
    pub async fn build(config: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        Ok(Arc::new(Self::connect(config).await?))
    }

    /// As [`DataikuAdapter::build`], returning the concrete type.
    ///
    /// # Errors
    /// As [`DataikuAdapter::build`].
    pub async fn connect(config: AdapterConfig) -> Result<Self> {
        let cfg = DataikuConfig::from_adapter_config(&config)?;
        let client = DssClient::new(&cfg)?;
        let identity = match client
            .get_json::<AuthInfo>(
                ApiPath::new(&["auth", "info"]),
                &[("withSecrets", "false")],
                "auth info",
            )
            .await
        {
            Ok(info) => info.auth_identifier.filter(|s| !s.is_empty()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Unauthenticated | ErrorKind::Unavailable
                ) =>
            {
                return Err(e);
            }
            Err(e) if e.http_status() == Some(404) && base_url_is_wrong(&client).await => {
                return Err(Error::config(format!(
                    "404 at {}: is base_url the DSS address (the one the browser opens, without {})? base_url is `{}`",
                    idbridge_core::http::display_url(client.url(ApiPath::new(&["auth", "info"])).as_str()),
                    cfg.api_path,
                    idbridge_core::http::display_url(&cfg.base_url)
                ))
                .with_http_status(404));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell which user the DSS API key acts as; only admin_login is protected");
                None
            }
        };
        // Learnt from the first bulk write, never from a probe of its own (see `bulk`).
        let bulk = BulkSupport::new(cfg.bulk);
        let mut protected = Protected::default();
        protected.user_ids.extend(identity.iter().cloned());
        protected.user_ids.extend(cfg.admin_login.iter().cloned());
        protected.group_ids.insert(ADMINISTRATORS_GROUP.to_string());
        // Membership of `administrators` is the instance's admin right.
        protected
            .privileged_group_ids
            .insert(ADMINISTRATORS_GROUP.to_string());
        tracing::debug!(bulk = bulk.usable(), identity = ?identity, "connected to DSS");
        Ok(DataikuAdapter {
            client,
            cfg,
            bulk,
            identity,
            protected,
            locks: KeyedLocks::default(),
            shared_user_docs: SharedRead::default(),
            shared_user_list: SharedRead::default(),
            shared_group_list: SharedRead::default(),
        })
    }

    /// Whether this connection uses the bulk user endpoints: true unless `bulk = "off"` or
    /// a bulk request has shown them missing (404/405).
    pub fn uses_bulk(&self) -> bool {
        self.bulk.usable()
    }

    /// The user the API key acts as, as reported by `GET /auth/info`.
    pub fn identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// The settings key holding user attributes.
    pub(crate) fn attributes_key(&self) -> &'static str {
        self.cfg.attributes_field.key()
    }

    /// Reads a document for a read-modify-write. With `verify_reads` (the default) it reads
    /// until two consecutive answers agree, so that a mangled answer (a field dropped or
    /// retyped on the way) is never written back as the new document.
    ///
    /// # Errors
    /// As the read; [`ErrorKind::Protocol`] when no two consecutive reads agree.
    pub(crate) async fn read_for_update(&self, path: ApiPath<'_>, what: &str) -> Result<Doc> {
        let mut previous: Doc = self.client.get_json(path, &[], what).await?;
        if !self.cfg.verify_reads {
            return Ok(previous);
        }
        for _ in 0..STABLE_READ_ATTEMPTS {
            let next: Doc = self.client.get_json(path, &[], what).await?;
            if next == previous {
                return Ok(next);
            }
            previous = next;
        }
        Err(Error::protocol(format!(
            "the {what} read differently {STABLE_READ_ATTEMPTS} times in a row; not changing it"
        )))
    }

    /// Refuses to change a protected user through a grant (a grant changes group
    /// membership, which the handle's own checks do not see).
    pub(crate) fn refuse_protected_user(&self, login: &str) -> Result<()> {
        if self.protected.user(login) {
            return Err(Error::permission_denied(format!(
                "user `{login}` is protected (the connecting account) and is never modified"
            ))
            .with_resource(login));
        }
        Ok(())
    }

    /// Refuses to change a protected group's permission flags.
    pub(crate) fn refuse_protected_group(&self, name: &str) -> Result<()> {
        if self.protected.group(name) {
            return Err(Error::permission_denied(format!(
                "group `{name}` is protected (a built-in) and is never modified"
            ))
            .with_resource(name));
        }
        Ok(())
    }
}

/// Whether the public API is missing at the configured address altogether: the user list,
/// which every DSS version serves, answers 404 too.
async fn base_url_is_wrong(client: &DssClient) -> bool {
    matches!(
        client
            .call(Method::GET, ApiPath::dir(&["admin", "users"]), &[], None, None)
            .await,
        Err(e) if e.http_status() == Some(404)
    )
}

#[async_trait]
impl Adapter for DataikuAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            users_batch_max: self.bulk.usable().then_some(self.cfg.bulk_max),
            // One request per user's changes, or one bulk edit for many users
            // (`Memberships::member_batch_key`).
            members_batch_max: Some(self.cfg.members_bulk_max),
            ..Self::declared_capabilities()
        }
    }

    /// The key's own user (when the server names it), `admin_login`, and `administrators`.
    fn protected(&self) -> Protected {
        self.protected.clone()
    }

    /// Lists groups: cheap, and it needs administrator rights as everything else does.
    async fn check(&self) -> Result<()> {
        self.client
            .call(
                Method::GET,
                ApiPath::dir(&["admin", "groups"]),
                &[],
                None,
                None,
            )
            .await
            .map(drop)
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.client.counts())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keyed_locks_serialize_one_key_only() {
        let locks = Arc::new(KeyedLocks::default());
        let a = locks.lock("user:a").await;
        // Another key is free while `a` is held.
        let b = locks.lock("user:b").await;
        drop(b);
        let l2 = locks.clone();
        let waiter = tokio::spawn(async move {
            let _g = l2.lock("user:a").await;
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(a);
        waiter.await.expect("waiter ends once the lock is free");
    }
}
