//! The adapter: configuration, the logged-in client, capabilities and protected accounts.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use idbridge_core::http::RequestCounts;
use idbridge_core::{Adapter, AdapterConfig, Capabilities, Error, PageRequest, Protected, Result};
use tokio::sync::Mutex;

use crate::client::{Call, Client};
use crate::config::StrategyConfig;
use crate::wire::{self, ProjectJson, UserInfo};

/// A connected Strategy One server.
pub struct StrategyAdapter {
    pub(crate) client: Arc<Client>,
    pub(crate) cfg: StrategyConfig,
    /// The connecting account (never modified).
    pub(crate) me: UserInfo,
    /// The projects as last read, `None` until the next use reads them. A process that
    /// syncs on an interval keeps one adapter, so this is dropped when a roles listing or a
    /// project-scoped grants listing starts (each run reads roles before it writes grants)
    /// and re-read when a name is not in it: every run sees the projects as they are.
    pub(crate) projects: Mutex<Option<Vec<ProjectJson>>>,
    /// Logins resolved to user ids while listing sessions; emptied when a listing starts,
    /// so that a login deleted and created again is never taken for its old user.
    pub(crate) user_ids_by_login: Mutex<HashMap<String, String>>,
    /// Set when the server has no bulk-disconnect endpoint (before 11.3.1).
    pub(crate) no_bulk_disconnect: AtomicBool,
    /// The Intelligence Server version (`11.5.0700`), when the server reported it.
    pub(crate) version: Option<String>,
    /// The generic e-mail device's id, read at the first e-mail write.
    pub(crate) email_device: tokio::sync::OnceCell<String>,
}

/// The first server version with `PATCH /api/securityRoles/{id}/members`.
pub(crate) const ROLE_MEMBERS_ENDPOINT_SINCE: &str = "11.6.0400";

/// Compares dotted versions numerically (`11.5.0700` < `11.6.0400`).
pub(crate) fn version_at_least(version: &str, min: &str) -> bool {
    let parse = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|p| {
                p.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parse(version) >= parse(min)
}

impl std::fmt::Debug for StrategyAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyAdapter")
            .field("client", &self.client)
            .field("project", &self.cfg.project)
            .finish()
    }
}

/// Ends the session a failed connect opened (the caller never gets an adapter to close)
/// and returns the connect's error.
async fn logged_out(client: &Client, e: idbridge_core::Error) -> idbridge_core::Error {
    if let Err(out) = client.logout().await {
        tracing::warn!(error = %out, "logging out after a failed connect failed");
    }
    e
}

impl StrategyAdapter {
    /// What the adapter offers on every Strategy One server this adapter supports.
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
            groups_description: true,
            groups_delete: true,
            members_list: true,
            members_add: true,
            members_remove: true,
            members_nested: true,
            members_batch_max: Some(crate::memberships::MEMBERS_PER_REQUEST),
            roles_list: true,
            grants_list: true,
            grants_grant: true,
            grants_revoke: true,
            // Security roles are always held in a project; there is no server-wide grant.
            grants_global: false,
            grants_project: true,
            grants_to_groups: true,
            sessions_list: true,
            sessions_revoke: true,
            sessions_revoke_user: true,
            ..Capabilities::default()
        }
    }

    /// Parses the configuration, logs in and reads who the connecting account is.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for invalid keys;
    /// [`idbridge_core::ErrorKind::Unauthenticated`] when the login fails; whatever else
    /// the server answers.
    pub async fn connect(config: AdapterConfig) -> Result<StrategyAdapter> {
        let cfg = StrategyConfig::from_adapter_config(&config)?;
        let client = Client::new(&cfg)?;
        client.login().await?;
        let me: UserInfo = match client
            .json(&Call::get("/api/sessions/userInfo"), "session user")
            .await
        {
            Ok(me) => me,
            Err(e) => return Err(logged_out(&client, e).await),
        };
        let version = server_version(&client).await;
        let adapter = StrategyAdapter {
            client,
            cfg,
            me,
            projects: Mutex::new(None),
            user_ids_by_login: Mutex::new(HashMap::new()),
            no_bulk_disconnect: AtomicBool::new(false),
            version,
            email_device: tokio::sync::OnceCell::new(),
        };
        if let Some(project) = adapter.cfg.project.clone() {
            // Fail at connect time, naming the key, rather than at the first grant.
            if let Err(e) = adapter.resolve_project(&project).await {
                let e = if e.kind() == idbridge_core::ErrorKind::NotFound {
                    config.error("project", e.message())
                } else {
                    e
                };
                return Err(logged_out(&adapter.client, e).await);
            }
        }
        Ok(adapter)
    }

    /// The registry's constructor.
    ///
    /// # Errors
    /// As [`StrategyAdapter::connect`].
    pub async fn build(config: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        Ok(Arc::new(StrategyAdapter::connect(config).await?))
    }

    /// The Intelligence Server version the server reported at connect time.
    pub fn server_version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The connecting account's user id.
    pub fn connected_user_id(&self) -> &str {
        &self.me.id
    }

    pub(crate) fn page_size(&self, req: &PageRequest) -> usize {
        req.size.unwrap_or(self.client.page_size()).max(1)
    }

    /// Every project the server knows, as last read (read now when not yet read or
    /// dropped by [`StrategyAdapter::forget_projects`]).
    pub(crate) async fn all_projects(&self) -> Result<Vec<ProjectJson>> {
        let mut cache = self.projects.lock().await;
        if let Some(p) = cache.as_ref() {
            return Ok(p.clone());
        }
        let projects = self.read_projects().await?;
        *cache = Some(projects.clone());
        Ok(projects)
    }

    /// Drops the projects read so far: the next use reads them again.
    pub(crate) async fn forget_projects(&self) {
        *self.projects.lock().await = None;
    }

    /// Reads the projects: `GET /api/projects` (the projects the caller may use), falling
    /// back to the monitor listing `GET /api/monitors/projects` when the first is refused.
    async fn read_projects(&self) -> Result<Vec<ProjectJson>> {
        match self
            .client
            .list::<ProjectJson>(&Call::get("/api/projects"), "projects")
            .await
        {
            Ok(p) => Ok(p),
            Err(e)
                if matches!(
                    e.kind(),
                    idbridge_core::ErrorKind::PermissionDenied
                        | idbridge_core::ErrorKind::Unsupported
                ) =>
            {
                self.client
                    .all::<ProjectJson>(
                        Call::get("/api/monitors/projects"),
                        Some("projects"),
                        "monitored projects",
                    )
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// Resolves a project given by id or by name (names compare case-insensitively, as
    /// Strategy keeps them unique that way) to `(id, name)`. A project missing from the
    /// projects read so far is looked for again in a fresh read (it may be new or renamed).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::NotFound`] listing the known project names.
    pub(crate) async fn resolve_project(&self, project: &str) -> Result<(String, String)> {
        let wanted = project.trim();
        let mut projects = self.all_projects().await?;
        if find_project(&projects, wanted).is_none() {
            self.forget_projects().await;
            projects = self.all_projects().await?;
        }
        match find_project(&projects, wanted) {
            // The name is the grants' scope: a project without one is not named after its id.
            Some(p) => match p.name.clone().filter(|n| !n.trim().is_empty()) {
                Some(name) => Ok((p.id.clone(), name)),
                None => Err(Error::unusable_field(
                    "Strategy",
                    "GET /api/projects",
                    &format!("project `{}`", p.id),
                    "name",
                    "is missing",
                )),
            },
            None => {
                let names: Vec<&str> = projects.iter().filter_map(|p| p.name.as_deref()).collect();
                Err(Error::not_found(format!(
                    "no project `{wanted}` on the server; projects: {}",
                    if names.is_empty() {
                        "(none visible to the connecting account)".to_string()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        }
    }
}

/// The project with id `wanted`, else the one named exactly `wanted`, else the one whose
/// name matches it case-insensitively.
fn find_project<'a>(projects: &'a [ProjectJson], wanted: &str) -> Option<&'a ProjectJson> {
    projects
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(wanted))
        .or_else(|| projects.iter().find(|p| p.name.as_deref() == Some(wanted)))
        .or_else(|| {
            projects.iter().find(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
        })
}

/// The Intelligence Server version from `GET /api/status` (first 9 characters, as the
/// official SDK keeps it), or `None` when the server does not say.
async fn server_version(client: &Client) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Status {
        #[serde(default, rename = "iServerVersion")]
        iserver_version: Option<String>,
    }
    match client
        .json::<Status>(&Call::get("/api/status"), "server status")
        .await
    {
        Ok(s) => s.iserver_version.map(|v| v.chars().take(9).collect()),
        Err(e) => {
            tracing::debug!(adapter = crate::ADAPTER_NAME, error = %e, "server version unknown");
            None
        }
    }
}

#[idbridge_core::async_trait]
impl Adapter for StrategyAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Self::declared_capabilities()
    }

    /// The Administrator user, the connecting account, Everyone and the other system
    /// groups, by their well-known ids.
    fn protected(&self) -> Protected {
        let mut p = Protected::default();
        p.user_ids.insert(wire::ADMINISTRATOR_USER_ID.to_string());
        if !self.me.id.is_empty() {
            p.user_ids.insert(self.me.id.clone());
        }
        for g in wire::SYSTEM_GROUP_IDS {
            p.group_ids.insert(g.to_string());
        }
        for g in wire::PRIVILEGED_GROUP_IDS {
            p.privileged_group_ids.insert(g.to_string());
        }
        p
    }

    /// Reads the session (`GET /api/sessions`), which needs a valid token and cookies.
    async fn check(&self) -> Result<()> {
        self.client.ok(&Call::get("/api/sessions")).await
    }

    async fn close(&self) -> Result<()> {
        self.client.logout().await
    }

    fn request_counts(&self) -> Option<RequestCounts> {
        Some(self.client.counts())
    }
}
