//! The adapter: capabilities, the read snapshots listings are paged from, and the traits.
//!
//! An LDAP paged search's cookie belongs to one connection, so it cannot be a listing's
//! cursor. A listing's first page therefore reads the whole directory once (users, groups
//! and members, page by page) into a snapshot, and the later pages, the group listing and
//! the member listings are cut from that snapshot. First-page requests that arrive while a
//! read is running share its result, so a sync that lists users and groups at once reads
//! the directory once, and its memberships agree with its users and groups.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idbridge_core::http::RetryPolicy;
use idbridge_core::{
    Adapter, AdapterConfig, Capabilities, Error, Group, Groups, Membership, Memberships, Page,
    PageRequest, Principal, Result, Roles, Sessions, User, Users,
};
use tokio::sync::Mutex;

use crate::ad;
use crate::config::{IdFormat, LdapConfig};
use crate::connection::Connection;
use crate::directory::{self, Directory};
use crate::retry;

/// Records per listing page unless the caller asks for another size.
pub const DEFAULT_LIST_PAGE: usize = 1000;

/// How long member listings reuse the snapshot of the last full read before reading again.
pub const SNAPSHOT_REUSE: Duration = Duration::from_secs(300);

/// Snapshots kept for listings still paging through them.
const KEPT_SNAPSHOTS: usize = 4;

struct Snapshot {
    generation: u64,
    /// The request counter when the read finished: first-page requests numbered below it
    /// arrived while it ran and may use it.
    finished_at: u64,
    read_at: Instant,
    directory: Arc<Directory>,
}

/// The `ldap` adapter: a read-only source.
pub struct LdapAdapter {
    config: LdapConfig,
    requests: AtomicU64,
    snapshots: Mutex<VecDeque<Snapshot>>,
    retry: RetryPolicy,
    reads: AtomicU64,
}

impl LdapAdapter {
    /// What the adapter implements: reads only.
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            groups_list: true,
            groups_get: true,
            members_list: true,
            members_list_all: true,
            members_nested: true,
            ..Capabilities::default()
        }
    }

    /// Builds the adapter from its configuration section. Nothing is sent until the first
    /// read.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for an invalid section (see
    /// [`LdapConfig::from_adapter_config`]).
    pub async fn build(config: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        Ok(Arc::new(Self::new(LdapConfig::from_adapter_config(
            &config,
        )?)))
    }

    /// An adapter over a validated configuration.
    pub fn new(config: LdapConfig) -> Self {
        let retry = RetryPolicy {
            max_attempts: config.retry_attempts,
            budget: config.retry_budget,
            ..RetryPolicy::default()
        };
        LdapAdapter {
            config,
            requests: AtomicU64::new(0),
            snapshots: Mutex::new(VecDeque::new()),
            retry,
            reads: AtomicU64::new(0),
        }
    }

    /// Reads the whole directory now, on a connection of its own.
    ///
    /// # Errors
    /// As [`directory::read`] and [`Connection::open`].
    pub async fn read_directory(&self) -> Result<Directory> {
        retry::with_retries(&self.retry, "reading the directory", || async {
            let mut conn = Connection::open(&self.config).await?;
            let read = directory::read(&self.config, &mut conn).await;
            conn.close().await;
            read
        })
        .await
    }

    /// How many full reads of the directory listings have made so far (for tests and
    /// benchmarks).
    pub fn full_reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// A snapshot for a listing's first page: one that finished after this request
    /// arrived, or a new read.
    async fn fresh(&self) -> Result<(u64, Arc<Directory>)> {
        let ticket = self.requests.fetch_add(1, Ordering::SeqCst);
        let mut kept = self.snapshots.lock().await;
        if let Some(s) = kept.back() {
            if s.finished_at > ticket {
                return Ok((s.generation, s.directory.clone()));
            }
        }
        let directory = Arc::new(self.read_directory().await?);
        self.reads.fetch_add(1, Ordering::Relaxed);
        let generation = kept.back().map_or(1, |s| s.generation + 1);
        kept.push_back(Snapshot {
            generation,
            finished_at: self.requests.fetch_add(1, Ordering::SeqCst) + 1,
            read_at: Instant::now(),
            directory: directory.clone(),
        });
        while kept.len() > KEPT_SNAPSHOTS {
            kept.pop_front();
        }
        Ok((generation, directory))
    }

    /// The latest snapshot if it is recent, else a new read (for member listings).
    async fn recent(&self) -> Result<Arc<Directory>> {
        {
            let kept = self.snapshots.lock().await;
            if let Some(s) = kept.back() {
                if s.read_at.elapsed() < SNAPSHOT_REUSE {
                    return Ok(s.directory.clone());
                }
            }
        }
        self.fresh().await.map(|(_, d)| d)
    }

    /// One page of a listing of `pick(snapshot)`: the first page from a fresh snapshot,
    /// the next ones from the snapshot the cursor names (`<generation>:<offset>`).
    async fn page<T: Clone>(
        &self,
        req: &PageRequest,
        pick: impl Fn(&Directory) -> &[T],
    ) -> Result<Page<T>> {
        let (generation, directory, offset) = match req.snapshot_cursor::<u64>()? {
            None => {
                let (g, d) = self.fresh().await?;
                (g, d, 0)
            }
            Some((g, offset)) => {
                let kept = self.snapshots.lock().await;
                let Some(s) = kept.iter().find(|s| s.generation == g) else {
                    return Err(Error::conflict(format!(
                        "page cursor `{}` belongs to a directory read no longer kept; \
                         start the listing again",
                        req.cursor.as_deref().unwrap_or_default()
                    )));
                };
                (g, s.directory.clone(), offset)
            }
        };
        Ok(Page::slice_snapshot(
            pick(&directory),
            generation,
            offset,
            req,
            DEFAULT_LIST_PAGE,
        ))
    }

    /// Reads one entry by stable id under `bases` with `filter`; `None` when there is none.
    async fn find_by_id(
        &self,
        id: &str,
        bases: &[String],
        filter: &str,
        attrs: &[String],
    ) -> Result<Option<ldap3::SearchEntry>> {
        if id.trim().is_empty() {
            return Ok(None);
        }
        let value = match self.config.id_format {
            IdFormat::Text => ldap3::ldap_escape(id).into_owned(),
            // Not a GUID: no entry can have it.
            IdFormat::Guid => match ad::guid_bytes(id) {
                Some(bytes) => ad::binary_filter_value(&bytes),
                None => return Ok(None),
            },
        };
        let filter = format!("(&{filter}({}={value}))", self.config.id_attribute);
        retry::with_retries(&self.retry, "reading one entry", || {
            self.find_by_id_once(&filter, bases, attrs)
        })
        .await
    }

    async fn find_by_id_once(
        &self,
        filter: &str,
        bases: &[String],
        attrs: &[String],
    ) -> Result<Option<ldap3::SearchEntry>> {
        let mut conn = Connection::open(&self.config).await?;
        let mut result = Ok(None);
        for base in bases {
            match conn.search(base, filter, attrs).await {
                Ok(found) => {
                    if let Some(entry) = found.entries.into_iter().next() {
                        result = Ok(Some(entry));
                        break;
                    }
                }
                // A value the id attribute's syntax cannot hold matches nothing.
                Err(e) if e.vendor_code() == Some("21") => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        conn.close().await;
        result
    }
}

#[async_trait]
impl Adapter for LdapAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        Self::declared_capabilities()
    }

    /// Binds and asks for one user under the first user base: it proves the server, the
    /// TLS set-up, the credentials and the base, without a full read. Not retried: a check
    /// reports what it finds.
    async fn check(&self) -> Result<()> {
        let c = &self.config;
        let mut conn = Connection::open(c).await?;
        let found = conn
            .any(&c.user_base_dns[0], &c.user_filter, &c.id_attribute)
            .await;
        conn.close().await;
        if !found? {
            return Err(Error::protocol(format!(
                "{} shows no user under `{}` matching {}",
                c.url, c.user_base_dns[0], c.user_filter
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Users for LdapAdapter {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.page(&page, |d| &d.users).await
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        let c = &self.config;
        let entry = self
            .find_by_id(id, &c.user_base_dns, &c.user_filter, &c.user_attributes())
            .await?
            .ok_or_else(|| Error::not_found(format!("no user with {} `{id}`", c.id_attribute)))?;
        let mut user = directory::user_from_entry(c, &entry).map_err(Error::protocol)?;
        if let Some(filter) = directory::disabled_users_filter(c) {
            let attrs = [c.id_attribute.clone()];
            if self
                .find_by_id(id, &c.user_base_dns, &filter, &attrs)
                .await?
                .is_some()
            {
                user.enabled = false;
            }
        }
        Ok(user)
    }
}

#[async_trait]
impl Groups for LdapAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.page(&page, |d| &d.groups).await
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        let c = &self.config;
        let entry = self
            .find_by_id(
                id,
                &c.group_base_dns,
                &c.group_filter,
                &c.group_attributes(),
            )
            .await?
            .ok_or_else(|| Error::not_found(format!("no group with {} `{id}`", c.id_attribute)))?;
        directory::group_from_entry(c, &entry).map_err(Error::protocol)
    }
}

#[async_trait]
impl Memberships for LdapAdapter {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        let directory = self.recent().await?;
        if !directory.groups.iter().any(|g| g.id == group) {
            return Err(Error::not_found(format!(
                "no group with {} `{group}`",
                self.config.id_attribute
            )));
        }
        Page::slice(directory.members_of(group), &page, DEFAULT_LIST_PAGE)
    }

    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        Ok(self.recent().await?.members.clone())
    }
}

impl Roles for LdapAdapter {}
impl Sessions for LdapAdapter {}
