//! The `file` adapter: a [`Directory`] file as a platform.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use idbridge_core::{
    Adapter, AdapterConfig, Capabilities, Error, Grant, GrantFilter, Group, GroupChanges,
    GroupWrite, GroupWriteResult, Groups, MemberBatchKey, MemberWrite, MemberWriteResult,
    Memberships, NewGroup, NewUser, Page, PageRequest, PositionedMembers, Principal, Result, Role,
    Roles, Sessions, User, UserChanges, UserWrite, UserWriteResult, Users, async_trait,
};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::commit::{Committer, State};
use crate::draft::Draft;
use crate::format::{DirGroup, DirRole, Directory, Format, io_error};
use crate::held::Held;
use crate::listing::{Derived, Member, page_by, page_of};
use crate::ops::{self, group_not_found, user_not_found};
use crate::reload::{DEFAULT_MAX_FILE_BYTES, Seen, Stat, hash_file, read_parsed};

/// The page size used when the caller does not ask for one.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest user, group or membership batch the adapter declares
/// ([`Capabilities::users_batch_max`], [`Capabilities::groups_batch_max`],
/// [`Capabilities::members_batch_max`]). A batch is
/// saved with one rewrite of the file, and batches and single writes that arrive while a
/// rewrite is under way share the next one.
pub const BATCH_MAX: usize = 10_000;

/// The adapter's configuration keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// The directory file; relative to the configuration file's directory.
    path: PathBuf,
    /// Create an empty directory file when it is missing. Default `false`.
    #[serde(default)]
    create: bool,
    /// Refuse a file that does not end with the `complete` trailer. Default `true`.
    #[serde(default = "yes")]
    require_complete: bool,
    /// The largest file read, in bytes. Default [`DEFAULT_MAX_FILE_BYTES`] (4 GiB).
    #[serde(default = "default_max_file_bytes")]
    max_file_bytes: u64,
}

fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}

/// How [`FileAdapter::open_options`] opens a directory file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create a missing file (and its parent directories) holding an empty directory.
    /// Default false.
    pub create: bool,
    /// Refuse a file that does not end with the `complete` trailer. Default true.
    pub require_complete: bool,
    /// The largest file read, in bytes. Default [`DEFAULT_MAX_FILE_BYTES`].
    pub max_file_bytes: u64,
    /// Create and write nothing: a missing file that `create` would create reads as an
    /// empty directory, and every write is refused
    /// ([`idbridge_core::ErrorKind::PermissionDenied`]). Default false.
    pub read_only: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: false,
            require_complete: true,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            read_only: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// What [`FileAdapter::refresh`] found.
enum Fresh {
    /// The content is the one already held.
    Same(Option<Seen>),
    /// The file holds a different document.
    Changed(Box<Held>, Seen),
}

/// A directory kept in one YAML or JSON file, as source and as target.
///
/// The document is held in memory behind a lock and is re-read whenever the file changed:
/// every listing (its first page) and every `get` first checks the file's metadata and,
/// while its last change is too recent for the metadata to prove anything, its content;
/// a changed file is parsed and validated again, so a long-running `sync --interval` sees
/// every edit. A file that no longer reads (cut off, invalid) fails that read and keeps
/// the document as it was.
///
/// Every write works on a copy, validates it and saves it atomically
/// ([`Directory::save_atomic`]) before the copy replaces the in-memory state, so a failed
/// write changes neither the file nor what later reads see. Writes that arrive while the
/// file is being rewritten share the next rewrite (group commit): each call returns once
/// the rewrite carrying its change is durable, and a failed rewrite fails every write it
/// carried. If the file was changed by
/// someone else since it was last read or saved, writes fail with
/// [`idbridge_core::ErrorKind::Conflict`] instead of overwriting those changes (the next
/// read loads them).
///
/// With `require_complete` (the default) a file must end with the
/// [`crate::Complete`] trailer; every save writes it.
pub struct FileAdapter {
    path: PathBuf,
    require_complete: bool,
    max_file_bytes: u64,
    read_only: bool,
    pub(crate) state: Arc<Mutex<State>>,
    /// Queues writes and rewrites the file for them, a burst at a time.
    pub(crate) committer: Arc<Committer>,
    /// Records converted or visited by listings, so far (see `listing_work`).
    work: AtomicU64,
}

impl std::fmt::Debug for FileAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileAdapter")
            .field("path", &self.path)
            .field("require_complete", &self.require_complete)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl FileAdapter {
    /// The capabilities every instance declares.
    pub fn declared_capabilities() -> Capabilities {
        Capabilities {
            users_list: true,
            users_get: true,
            users_create: true,
            users_update: true,
            users_set_enabled: true,
            users_delete: true,
            users_batch_max: Some(BATCH_MAX),
            groups_batch_max: Some(BATCH_MAX),
            members_batch_max: Some(BATCH_MAX),
            groups_list: true,
            groups_get: true,
            groups_create: true,
            groups_update: true,
            groups_description: true,
            groups_delete: true,
            members_list: true,
            members_add: true,
            members_remove: true,
            members_by_position: true,
            members_nested: true,
            roles_list: true,
            grants_list: true,
            grants_grant: true,
            grants_revoke: true,
            grants_global: true,
            grants_project: true,
            grants_to_groups: true,
            grants_global_to_groups: true,
            ..Capabilities::default()
        }
    }

    /// Builds the adapter from its configuration section (keys `path`, `create`,
    /// `require_complete`, `max_file_bytes`).
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::Config`] for unknown or missing keys, an unknown
    /// extension, a missing file without `create = true`, a path that is not a regular
    /// file, a file larger than `max_file_bytes`, or a file that does not parse, validate
    /// or (with `require_complete`) prove itself complete; file system errors when the
    /// file cannot be created.
    pub async fn build(config: AdapterConfig) -> Result<Arc<dyn Adapter>> {
        let parsed: FileConfig = config.parse()?;
        let path = config.resolve_path(&parsed.path);
        if Format::from_path(&path).is_none() {
            return Err(config.error(
                "path",
                format!(
                    "`{}`: the file name must end in .yaml, .yml or .json",
                    path.display()
                ),
            ));
        }
        if !parsed.create && !path.exists() {
            return Err(config.error(
                "path",
                format!(
                    "directory file `{}` does not exist (set `create = true` to start an empty one)",
                    path.display()
                ),
            ));
        }
        let options = OpenOptions {
            create: parsed.create,
            require_complete: parsed.require_complete,
            max_file_bytes: parsed.max_file_bytes,
            read_only: config.read_only,
        };
        let adapter =
            tokio::task::spawn_blocking(move || FileAdapter::open_options(&path, &options))
                .await
                .map_err(|e| {
                    Error::unavailable(format!("opening the directory file failed: {e}"))
                })??;
        Ok(Arc::new(adapter))
    }

    /// Opens a directory file requiring the `complete` trailer; with `create`, a missing
    /// file (and its parent directories) is created holding an empty directory.
    ///
    /// # Errors
    /// As [`FileAdapter::build`].
    pub fn open(path: &Path, create: bool) -> Result<FileAdapter> {
        FileAdapter::open_with(path, create, true)
    }

    /// [`FileAdapter::open`], choosing whether the file must end with the `complete`
    /// trailer.
    ///
    /// # Errors
    /// As [`FileAdapter::build`].
    pub fn open_with(path: &Path, create: bool, require_complete: bool) -> Result<FileAdapter> {
        FileAdapter::open_options(
            path,
            &OpenOptions {
                create,
                require_complete,
                ..OpenOptions::default()
            },
        )
    }

    /// Opens a directory file as `options` say.
    ///
    /// # Errors
    /// As [`FileAdapter::build`], and [`idbridge_core::ErrorKind::Config`] for a path that
    /// is not a regular file or a file larger than `max_file_bytes`.
    pub fn open_options(path: &Path, options: &OpenOptions) -> Result<FileAdapter> {
        let adapter = |held, seen| FileAdapter {
            path: path.to_path_buf(),
            require_complete: options.require_complete,
            max_file_bytes: options.max_file_bytes,
            read_only: options.read_only,
            state: Arc::new(Mutex::new(State::new(held, seen))),
            committer: Arc::new(Committer::new(
                path.to_path_buf(),
                options.max_file_bytes,
                options.read_only,
            )),
            work: AtomicU64::new(0),
        };
        if !path.exists() {
            if !options.create {
                return Err(Error::config(format!(
                    "directory file `{}` does not exist",
                    path.display()
                )));
            }
            if options.read_only {
                // What the first real run would start from, without creating it.
                return Ok(adapter(Held::empty(), None));
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| io_error(path, "cannot create its directory", e))?;
            }
            Directory::new().save_atomic(path)?;
            tracing::info!(path = %path.display(), "created an empty directory file");
        }
        let (parsed, seen) = read_parsed(path, options.max_file_bytes, options.require_complete)?;
        Ok(adapter(Held::parsed(parsed), Some(seen)))
    }

    /// The file this adapter reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times this adapter has rewritten the file since it was opened. One
    /// rewrite carries every write that arrived while the one before was under way, so a
    /// burst of writes costs far fewer rewrites than writes.
    pub fn rewrites(&self) -> u64 {
        self.committer.rewrites()
    }

    /// Makes every later save fail at the step `fault` fails.
    #[cfg(test)]
    pub(crate) fn set_fault(&self, fault: Option<crate::commit::Fault>) {
        self.committer.set_fault(fault);
    }

    /// A copy of the document as last read or written (without looking at the file).
    pub async fn snapshot(&self) -> Directory {
        self.state.lock().await.held.to_directory()
    }

    /// Serves `f` from the document, first reloading it if the file changed.
    ///
    /// # Errors
    /// A file that cannot be read, parsed, validated or proven complete.
    async fn read<T>(&self, f: impl FnOnce(&Held) -> T) -> Result<T> {
        let mut state = self.state.lock().await;
        self.refresh(&mut state).await?;
        Ok(f(&state.held))
    }

    /// Serves `f` from the document as held: for the pages after a listing's first, so
    /// that one listing reads one version of the file (read again only if the adapter
    /// was closed meanwhile).
    async fn read_held<T>(&self, f: impl FnOnce(&Held) -> T) -> Result<T> {
        let mut state = self.state.lock().await;
        if state.closed {
            self.refresh(&mut state).await?;
        }
        Ok(f(&state.held))
    }

    /// Serves the first page of a listing fresh, later pages from the same version.
    async fn list<T>(&self, page: &PageRequest, f: impl FnOnce(&Held) -> T) -> Result<T> {
        if page.cursor.is_none() {
            self.read(f).await
        } else {
            self.read_held(f).await
        }
    }

    /// Serves `f` from the document and what listings compute over it ([`Derived`]), the
    /// first page of a listing fresh and later pages from the same version, computing
    /// [`Derived`] again only when the document changed.
    async fn list_derived<T>(
        &self,
        page: &PageRequest,
        f: impl FnOnce(&Held, &Derived) -> T,
    ) -> Result<T> {
        let mut guard = self.state.lock().await;
        if page.cursor.is_none() || guard.closed {
            self.refresh(&mut guard).await?;
        }
        Ok(self.with_derived(&mut guard, f))
    }

    /// Serves `f` from the document as held and what listings compute over it, computed
    /// again only when the document changed.
    fn with_derived<T>(&self, state: &mut State, f: impl FnOnce(&Held, &Derived) -> T) -> T {
        let version = state.seen.as_ref().map(|s| s.hash);
        let derived = match state.derived.take() {
            Some(d) if d.is_for(version) => d,
            _ => Derived::of(&state.held, version, &self.work),
        };
        let out = f(&state.held, &derived);
        state.derived = Some(derived);
        out
    }

    /// How many records listings have converted or visited since the adapter was opened:
    /// the work of listing, which grows with the records listed (not with their square).
    #[cfg(test)]
    pub(crate) fn listing_work(&self) -> u64 {
        self.work.load(Ordering::Relaxed)
    }

    /// Reloads the document when the file no longer holds what was last read or written.
    async fn refresh(&self, state: &mut State) -> Result<()> {
        let path = self.path.clone();
        let known = state.seen.clone();
        let require = self.require_complete;
        let limit = self.max_file_bytes;
        let fresh = tokio::task::spawn_blocking(move || -> Result<Fresh> {
            if known.is_none() && !path.exists() {
                // Still to be created (read-only): the empty directory stands.
                return Ok(Fresh::Same(None));
            }
            let now = Stat::of(&path).map_err(|e| io_error(&path, "cannot read", e))?;
            if known.as_ref().is_some_and(|k| k.proven_by(&now)) {
                return Ok(Fresh::Same(None));
            }
            // Hashing first (without keeping the bytes) spares the parse when only the
            // metadata moved.
            if let Some(k) = &known {
                let seen = hash_file(&path, limit)?;
                if seen.hash == k.hash {
                    return Ok(Fresh::Same(Some(seen)));
                }
            }
            let (parsed, seen) = read_parsed(&path, limit, require)?;
            Ok(Fresh::Changed(Box::new(Held::parsed(parsed)), seen))
        })
        .await
        .map_err(|e| Error::unavailable(format!("reading the directory file failed: {e}")))??;
        match fresh {
            Fresh::Same(None) => {}
            Fresh::Same(Some(seen)) => state.seen = Some(seen),
            Fresh::Changed(held, seen) => {
                tracing::debug!(path = %self.path.display(), "the directory file changed; reloaded it");
                state.replace(*held, seen);
            }
        }
        Ok(())
    }

    /// Applies `f` with the writes queued meanwhile (see [`Committer::submit`]) and
    /// returns its result once the rewrite carrying it is durable.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Draft) -> Result<T> + Send + 'static,
    {
        self.submit(vec![f])
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::protocol("a directory write went unanswered")))
    }

    /// Queues `writes` with the committer ([`Committer::submit`]), the file read again
    /// first if the adapter was closed.
    async fn submit<T, F>(&self, writes: Vec<F>) -> Vec<Result<T>>
    where
        T: Send + 'static,
        F: FnMut(&mut Draft) -> Result<T> + Send + 'static,
    {
        let reopened = {
            let mut state = self.state.lock().await;
            if state.closed {
                self.refresh(&mut state).await
            } else {
                Ok(())
            }
        };
        if let Err(e) = reopened {
            return writes.iter().map(|_| Err(e.clone())).collect();
        }
        self.committer.submit(&self.state, writes).await
    }
}

#[async_trait]
impl Users for FileAdapter {
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.list(&page, |h| {
            page_by(h.user_count(), &page, DEFAULT_PAGE_SIZE, &self.work, |i| {
                h.user(i)
            })
        })
        .await?
    }

    async fn get_user(&self, id: &str) -> Result<User> {
        self.read(|h| h.find_user(id))
            .await?
            .ok_or_else(|| user_not_found(id))
    }

    /// Creates a user with a fresh `u-<uuid>` id. An initial password is not stored: the
    /// file holds no secrets.
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        let user = user.clone();
        self.write(move |d| ops::create_user(d, &user)).await
    }

    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        let (id, changes) = (id.to_string(), changes.clone());
        self.write(move |d| ops::update_user(d, &id, &changes))
            .await
    }

    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        let id = id.to_string();
        self.write(move |d| ops::set_enabled(d, &id, enabled)).await
    }

    async fn delete_user(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |d| ops::delete_user(d, &id)).await
    }

    /// Applies the whole batch, in order, with one rewrite (shared with the writes that
    /// arrive meanwhile). Each write succeeds or fails on its own; if the rewrite fails,
    /// every write that had succeeded reports that error (nothing was written).
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let writes = batch
            .into_iter()
            .map(|w| move |d: &mut Draft| ops::apply(d, &w))
            .collect();
        self.submit(writes).await
    }
}

#[async_trait]
impl Groups for FileAdapter {
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.list(&page, |h| {
            page_of(
                &h.rest().groups,
                &page,
                DEFAULT_PAGE_SIZE,
                &self.work,
                DirGroup::to_group,
            )
        })
        .await?
    }

    async fn get_group(&self, id: &str) -> Result<Group> {
        self.read(|h| h.rest().group(id).map(DirGroup::to_group))
            .await?
            .ok_or_else(|| group_not_found(id))
    }

    /// Creates a group with a fresh `g-<uuid>` id.
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        let group = group.clone();
        self.write(move |d| ops::create_group(d, &group)).await
    }

    /// Renaming updates every reference to the group (memberships, nesting, grants).
    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        let (id, changes) = (id.to_string(), changes.clone());
        self.write(move |d| ops::update_group(d, &id, &changes))
            .await
    }

    /// Deleting removes the group's memberships and grants too.
    async fn delete_group(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.write(move |d| ops::delete_group(d, &id)).await
    }

    /// Applies the whole batch, in order, with one rewrite (shared with the writes that
    /// arrive meanwhile). Each write succeeds or fails on its own (a duplicate name, a
    /// missing id); if the rewrite fails, every write that had succeeded reports that
    /// error (nothing was written).
    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        let writes = batch
            .into_iter()
            .map(|w| move |d: &mut Draft| ops::apply_group(d, &w))
            .collect();
        self.submit(writes).await
    }
}

#[async_trait]
impl Memberships for FileAdapter {
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.list_derived(&page, |h, derived| {
            let members = derived.members_of_group(h.rest(), group)?;
            page_by(members.len(), &page, DEFAULT_PAGE_SIZE, &self.work, |i| {
                members.get(i).map(|m| m.principal(h))
            })
        })
        .await?
    }

    /// The version of the document as held; a reload, and a write that changes the
    /// document, make a new one. The first page of a listing reloads a changed file, so a
    /// caller takes the version before it and after the last page.
    async fn listing_version(&self) -> Result<u64> {
        Ok(self.state.lock().await.version)
    }

    /// The members of `group` in the document of `version`, the users as positions in
    /// the document's users (the order `list_users` gives them in), without reloading the
    /// file: `None` once the document held is another.
    async fn members_by_position(
        &self,
        group: &str,
        version: u64,
    ) -> Result<Option<PositionedMembers>> {
        let mut state = self.state.lock().await;
        if state.version != version {
            return Ok(None);
        }
        self.with_derived(&mut state, |h, derived| {
            let members = derived.members_of_group(h.rest(), group)?;
            self.work.fetch_add(members.len() as u64, Ordering::Relaxed);
            let others = members.groups.iter();
            Ok(Some(PositionedMembers {
                users: members.users.clone(),
                others: others.map(|&at| Member::Group(at).principal(h)).collect(),
            }))
        })
    }

    /// Adds a user or a group; a group that would make a nesting cycle is refused with
    /// [`idbridge_core::ErrorKind::InvalidInput`].
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        let (group, member) = (group.to_string(), member.clone());
        self.write(move |d| ops::add_member(d, &group, &member))
            .await
    }

    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        let (group, member) = (group.to_string(), member.clone());
        self.write(move |d| ops::remove_member(d, &group, &member))
            .await
    }

    /// One rewrite carries any membership writes, whatever their groups and members.
    fn member_batch_key(&self, _write: &MemberWrite) -> MemberBatchKey {
        MemberBatchKey::Any
    }

    /// Applies the whole batch, in order, with one rewrite (shared with the writes that
    /// arrive meanwhile). Each write succeeds or fails on its own (a missing group or
    /// member, a nesting cycle); if the rewrite fails, every write that had succeeded
    /// reports that error (nothing was written).
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let writes = batch
            .into_iter()
            .map(|w| {
                move |d: &mut Draft| match &w {
                    MemberWrite::Add { group, member } => ops::add_member(d, group, member),
                    MemberWrite::Remove { group, member } => ops::remove_member(d, group, member),
                }
            })
            .collect();
        self.submit(writes).await
    }
}

#[async_trait]
impl Roles for FileAdapter {
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        self.list(&page, |h| {
            page_of(
                &h.rest().roles,
                &page,
                DEFAULT_PAGE_SIZE,
                &self.work,
                DirRole::to_role,
            )
        })
        .await?
    }

    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        self.list_derived(&page, |_, derived| {
            if *filter == GrantFilter::default() {
                return page_of(
                    &derived.grants,
                    &page,
                    DEFAULT_PAGE_SIZE,
                    &self.work,
                    Grant::clone,
                );
            }
            // A filtered listing is usually short (one principal's or one role's grants);
            // it is filtered again for each page.
            let all: Vec<&Grant> = derived
                .grants
                .iter()
                .filter(|g| filter.matches(g))
                .collect();
            self.work
                .fetch_add(derived.grants.len() as u64, Ordering::Relaxed);
            page_of(&all, &page, DEFAULT_PAGE_SIZE, &self.work, |g| (*g).clone())
        })
        .await?
    }

    /// A project role can only be granted in its own project
    /// ([`idbridge_core::ErrorKind::InvalidInput`] otherwise); a global role in any scope.
    async fn grant(&self, grant: &Grant) -> Result<()> {
        let grant = grant.clone();
        self.write(move |d| ops::grant(d, &grant)).await
    }

    async fn revoke(&self, grant: &Grant) -> Result<()> {
        let grant = grant.clone();
        self.write(move |d| ops::revoke(d, &grant)).await
    }
}

/// Files hold no sessions; every method keeps its default (`Unimplemented`), and none is declared, so the handle answers `Unsupported`.
impl Sessions for FileAdapter {}

#[async_trait]
impl Adapter for FileAdapter {
    fn kind(&self) -> &'static str {
        crate::ADAPTER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        FileAdapter::declared_capabilities()
    }

    /// Lets go of the document held in memory (a directory of a million users holds
    /// hundreds of megabytes): the next read or write reads the file again, as a first
    /// one does. A rewrite queued before and still waiting fails with a conflict, writing
    /// nothing.
    async fn close(&self) -> Result<()> {
        self.state.lock().await.close();
        tracing::debug!(path = %self.path.display(), "let go of the directory; the next read or write reads the file again");
        Ok(())
    }

    /// Checks that the file is still there and readable as a valid directory (complete,
    /// when `require_complete`). Read-only, a file that `create = true` would create and
    /// that is still missing passes: the first run starts it empty.
    async fn check(&self) -> Result<()> {
        if self.state.lock().await.seen.is_none() && !self.path.exists() {
            return Ok(());
        }
        let path = self.path.clone();
        let require = self.require_complete;
        let limit = self.max_file_bytes;
        tokio::task::spawn_blocking(move || read_parsed(&path, limit, require).map(|_| ()))
            .await
            .map_err(|e| Error::unavailable(format!("checking the directory file failed: {e}")))?
    }
}
