//! Support for idbridge's end-to-end tests: a [`World`] holding a source directory file, a
//! state file, and targets (directory files or vendor emulators) wrapped in a
//! [`Recorder`] that counts writes and can inject failures or a crash.

pub mod recorder;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idbridge_core::{
    AdapterHandle, Error, NewUser, Principal, Result, User, UserChanges, registry,
};
use idbridge_file::FileAdapter;
use idbridge_store::Store;
use idbridge_sync::{ApplyOptions, Engine, Plan, RunReport, Target, TargetSettings};
use idbridge_testkit::emulator::{EmulatorOptions, RunningEmulator, start_emulator};
use serde_json::Value;

pub use recorder::Recorder;

/// The example directory shipped with idbridge.
pub fn example_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/directory.yaml")
}

/// Keeps every shipped adapter and emulator crate linked, so that their registrations are
/// visible to the registries.
pub fn link_vendors() {
    idbridge_platforms::link_all();
}

/// Every registered emulator's vendor, sorted: the vendors the "for every vendor" suites
/// run against. A new adapter with an emulator joins them by being linked.
pub fn emulated_vendors() -> Vec<&'static str> {
    idbridge_platforms::emulators()
        .iter()
        .map(|d| d.vendor)
        .collect()
}

/// The declared capabilities of the adapter registered as `vendor`.
///
/// # Panics
/// When no adapter of that name is registered.
pub fn capabilities(vendor: &str) -> idbridge_core::Capabilities {
    link_vendors();
    (registry::find(vendor)
        .expect("a registered adapter")
        .capabilities)()
}

/// Engine settings under which the suites' leavers converge on `vendor`: accounts of a
/// platform that cannot disable them are deleted, others disabled (the default).
///
/// # Panics
/// When no adapter of that name is registered.
pub fn leaver_settings(vendor: &str) -> Value {
    if capabilities(vendor).users_set_enabled {
        serde_json::json!({})
    } else {
        serde_json::json!({"deletion": "delete"})
    }
}

/// What the emulator of `vendor` declares: its credentials and request classes, and what
/// the cross-vendor suites need to know about the platform.
///
/// # Panics
/// When no emulator of that name is registered.
pub fn contract(vendor: &str) -> &'static idbridge_testkit::emulator::EmulatorContract {
    idbridge_platforms::emulators()
        .into_iter()
        .find(|d| d.vendor == vendor)
        .unwrap_or_else(|| panic!("an emulator for `{vendor}` is registered"))
        .contract
}

/// One target of a [`World`].
pub struct WorldTarget {
    /// The target's name.
    pub name: String,
    /// The wrapper every call goes through.
    pub recorder: Arc<Recorder>,
    /// The checked handle over the wrapper.
    pub handle: AdapterHandle,
    /// The engine settings.
    pub settings: TargetSettings,
    /// The emulator, for emulator targets.
    pub emulator: Option<RunningEmulator>,
    /// The directory file and whether writes are batched, for file targets.
    pub file: Option<(PathBuf, bool)>,
}

impl WorldTarget {
    /// Write requests the emulator served (not faulted), logins and token exchanges
    /// excluded (the emulator classifies them); 0 for file targets.
    pub fn served_writes(&self) -> usize {
        self.emulator
            .as_ref()
            .map_or(0, |e| e.server.log().served_writes().len())
    }
}

/// A source, a state file and targets, in a temporary directory.
pub struct World {
    /// The temporary directory (kept alive with the world).
    pub dir: tempfile::TempDir,
    /// The source directory file.
    pub source_path: PathBuf,
    /// The source's wrapper (for injected read failures).
    pub source_recorder: Arc<Recorder>,
    /// The source handle.
    pub source: AdapterHandle,
    /// The state file.
    pub state: PathBuf,
    /// The targets.
    pub targets: Vec<WorldTarget>,
}

impl World {
    /// A world whose source is a copy of the example directory.
    ///
    /// # Panics
    /// When the temporary directory or the files cannot be created (a broken test
    /// environment).
    pub fn new() -> World {
        link_vendors();
        let dir = tempfile::tempdir().expect("tempdir");
        let source_path = dir.path().join("source.yaml");
        std::fs::copy(example_directory(), &source_path).expect("copy the example directory");
        let adapter = FileAdapter::open(&source_path, false).expect("open the source");
        let source_recorder = Recorder::new(Arc::new(adapter));
        let source = AdapterHandle::new("source", source_recorder.clone());
        let state = dir.path().join("state.db");
        World {
            dir,
            source_path,
            source_recorder,
            source,
            state,
            targets: Vec::new(),
        }
    }

    /// Adds a directory-file target (empty at first) with engine settings `settings`.
    ///
    /// # Panics
    /// On invalid settings or an unwritable temporary directory.
    pub fn add_file_target(&mut self, name: &str, settings: Value) -> &WorldTarget {
        let path = self.dir.path().join(format!("{name}.yaml"));
        let adapter = FileAdapter::open(&path, true).expect("create the target file");
        self.push(name, Recorder::unbatched(Arc::new(adapter)), settings, None);
        self.set_file(name, path, false)
    }

    /// Adds a directory-file target whose user writes go in batches.
    ///
    /// # Panics
    /// As [`World::add_file_target`].
    pub fn add_batched_file_target(&mut self, name: &str, settings: Value) -> &WorldTarget {
        let path = self.dir.path().join(format!("{name}.yaml"));
        let adapter = FileAdapter::open(&path, true).expect("create the target file");
        self.push(name, Recorder::new(Arc::new(adapter)), settings, None);
        self.set_file(name, path, true)
    }

    fn set_file(&mut self, name: &str, path: PathBuf, batched: bool) -> &WorldTarget {
        let t = self
            .targets
            .iter_mut()
            .find(|t| t.name == name)
            .expect("just added");
        t.file = Some((path, batched));
        t
    }

    /// Re-opens every file target (and the source) from disk, as a restarted process
    /// would after a crash; the wrappers start afresh (no crash point, no failures).
    ///
    /// # Panics
    /// When a file cannot be opened.
    pub fn restart(&mut self) {
        let adapter = FileAdapter::open(&self.source_path, false).expect("reopen the source");
        self.source_recorder = Recorder::new(Arc::new(adapter));
        self.source = AdapterHandle::new("source", self.source_recorder.clone());
        for t in &mut self.targets {
            let Some((path, batched)) = &t.file else {
                continue;
            };
            let adapter = FileAdapter::open(path, false).expect("reopen the target");
            let adapter: Arc<dyn idbridge_core::Adapter> = Arc::new(adapter);
            t.recorder = if *batched {
                Recorder::new(adapter)
            } else {
                Recorder::unbatched(adapter)
            };
            t.handle = AdapterHandle::new(t.name.clone(), t.recorder.clone());
        }
    }

    /// Starts the `vendor` emulator and adds a target connected to it.
    ///
    /// # Errors
    /// When the emulator does not start or the adapter cannot connect.
    pub async fn add_emulator_target(
        &mut self,
        vendor: &str,
        name: &str,
        settings: Value,
        options: EmulatorOptions,
    ) -> Result<&WorldTarget> {
        let emulator = start_emulator(vendor, options).await?;
        let handle = registry::build_adapter(vendor, emulator.adapter_config(name)).await?;
        let recorder = Recorder::unbatched(handle.inner().clone());
        Ok(self.push(name, recorder, settings, Some(emulator)))
    }

    fn push(
        &mut self,
        name: &str,
        recorder: Arc<Recorder>,
        settings: Value,
        emulator: Option<RunningEmulator>,
    ) -> &WorldTarget {
        let settings = TargetSettings::from_json(name, settings).expect("valid settings");
        let handle = AdapterHandle::new(name, recorder.clone());
        self.targets.push(WorldTarget {
            name: name.to_string(),
            recorder,
            handle,
            settings,
            emulator,
            file: None,
        });
        self.targets.last().expect("just pushed")
    }

    /// Changes what target `name` declares (and rebuilds its handle).
    ///
    /// # Panics
    /// When there is no such target.
    pub fn declare(&mut self, name: &str, f: impl FnOnce(&mut idbridge_core::Capabilities)) {
        let t = self
            .targets
            .iter_mut()
            .find(|t| t.name == name)
            .expect("a target of that name");
        t.recorder.adjust_capabilities(f);
        t.handle = AdapterHandle::new(t.name.clone(), t.recorder.clone());
    }

    /// The target called `name`.
    ///
    /// # Panics
    /// When there is none.
    pub fn target(&self, name: &str) -> &WorldTarget {
        self.targets
            .iter()
            .find(|t| t.name == name)
            .expect("a target of that name")
    }

    /// A fresh engine over the world, as a new process would build it.
    ///
    /// # Panics
    /// When the state file cannot be opened.
    pub fn engine(&self) -> Engine {
        let store = Store::open(&self.state).expect("state file");
        let targets = self
            .targets
            .iter()
            .map(|t| Target {
                handle: t.handle.clone(),
                settings: t.settings.clone(),
            })
            .collect();
        Engine::new(self.source.clone(), targets, store)
    }

    /// One full run: lock, plan, apply (guards on).
    ///
    /// # Errors
    /// Planning errors and a held lock.
    pub async fn sync(&self) -> Result<(Plan, RunReport)> {
        self.sync_with(&ApplyOptions::default()).await
    }

    /// One full run with options.
    ///
    /// # Errors
    /// As [`World::sync`].
    pub async fn sync_with(&self, options: &ApplyOptions) -> Result<(Plan, RunReport)> {
        let engine = self.engine();
        let lock = engine.lock("sync")?;
        let plan = engine.plan().await?;
        let report = engine.apply(&plan, &lock, options).await?;
        Ok((plan, report))
    }

    /// Writes made by all targets' adapters so far (through the wrappers).
    pub fn total_writes(&self) -> usize {
        self.targets.iter().map(|t| t.recorder.writes()).sum()
    }

    /// The source user with this login.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::NotFound`] when there is none.
    pub async fn source_user(&self, login: &str) -> Result<User> {
        self.source
            .all_users()
            .await?
            .into_iter()
            .find(|u| u.login == login)
            .ok_or_else(|| Error::not_found(format!("no source user `{login}`")))
    }

    /// Renames a source user (and changes its display name).
    ///
    /// # Errors
    /// When the source refuses.
    pub async fn rename_source_user(
        &self,
        login: &str,
        new_login: &str,
        display: &str,
    ) -> Result<()> {
        let u = self.source_user(login).await?;
        let changes = UserChanges {
            login: Some(new_login.to_string()),
            display_name: Some(Some(display.to_string())),
            ..Default::default()
        };
        self.source.update_user(&u.id, &changes).await.map(|_| ())
    }

    /// Removes a source user (a leaver).
    ///
    /// # Errors
    /// When the source refuses.
    pub async fn remove_source_user(&self, login: &str) -> Result<User> {
        let u = self.source_user(login).await?;
        self.source.delete_user(&u.id).await?;
        Ok(u)
    }

    /// Adds a source user (a joiner) to the named groups.
    ///
    /// # Errors
    /// When the source refuses.
    pub async fn add_source_user(&self, user: NewUser, groups: &[&str]) -> Result<User> {
        let created = self.source.create_user(&user).await?;
        let all = self.source.all_groups().await?;
        for name in groups {
            let g = all
                .iter()
                .find(|g| g.name == *name)
                .ok_or_else(|| Error::not_found(format!("no source group `{name}`")))?;
            self.source
                .add_member(&g.id, &Principal::User(created.id.clone()))
                .await?;
        }
        Ok(created)
    }

    /// Reads a target's users.
    ///
    /// # Errors
    /// Read errors.
    pub async fn target_users(&self, name: &str) -> Result<Vec<User>> {
        self.target(name).handle.all_users().await
    }

    /// A target's members of the group named `group`, as logins (users) and names (groups).
    ///
    /// # Errors
    /// Read errors, or no such group.
    pub async fn target_group_members(&self, name: &str, group: &str) -> Result<Vec<String>> {
        let h = &self.target(name).handle;
        let groups = h.all_groups().await?;
        let g = groups
            .iter()
            .find(|g| g.name == group)
            .ok_or_else(|| Error::not_found(format!("no group `{group}` in `{name}`")))?;
        let users = h.all_users().await?;
        let members = h.all_members(&g.id).await?;
        let mut out: Vec<String> = members
            .iter()
            .map(|m| match m {
                Principal::User(id) => users
                    .iter()
                    .find(|u| &u.id == id)
                    .map_or(id.clone(), |u| u.login.clone()),
                Principal::Group(id) => groups
                    .iter()
                    .find(|g| &g.id == id)
                    .map_or(id.clone(), |g| g.name.clone()),
            })
            .collect();
        out.sort();
        Ok(out)
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}
