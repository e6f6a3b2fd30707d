//! The engine: a source, targets with their settings, and a state file; read, plan, guard,
//! validate and apply.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use idbridge_core::{AdapterHandle, Config, Error, ErrorKind, Result, registry};
use idbridge_store::{LinkKind, RunLock, RunOutcome, Store};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::apply::{ApplyContext, Stop, TargetReport, apply_target};
use crate::events::{Emitter, EventFn, RunEvent};
use crate::guard::{self, Allowances, GuardViolation};
use crate::holds::HoldIndex;
use crate::journal::JournalWriter;
use crate::plan::{Plan, TargetPlan};
use crate::planner::{SourceIndex, TargetInput, groups_needing_members, plan_target};
use crate::settings::{CorrelationKey, TargetSettings};
use crate::state::{
    Effective, SourceState, TargetState, listed_version, listing_version, read_member_table,
    read_source, read_target,
};
use crate::table::LinkTable;
use crate::task::AbortOnDrop;
use crate::util::norm;

#[cfg(test)]
mod close_tests;
mod offboard;
mod read;
mod saved;

use read::timing;

pub use saved::{LiveCounts, SavedPlanCheck};

/// One configured target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The connected adapter.
    pub handle: AdapterHandle,
    /// The engine settings of the target.
    pub settings: TargetSettings,
}

impl Target {
    /// The target's name.
    pub fn name(&self) -> &str {
        self.handle.name()
    }
}

/// One target's part of a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct TargetSnapshot {
    /// The target's name.
    pub name: String,
    /// What is synced to it.
    pub effective: Effective,
    /// Notes on what cannot be synced.
    pub notes: Vec<String>,
    /// Its current state.
    pub state: TargetState,
    /// Stored user links.
    pub user_links: LinkTable,
    /// Stored group links.
    pub group_links: Vec<idbridge_store::Link>,
}

/// Everything read for one plan.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The source.
    pub source: SourceState,
    /// The targets that could be read, in engine order.
    pub targets: Vec<TargetSnapshot>,
    /// The targets that could not be connected to or read, with the reason.
    pub unavailable: Vec<UnavailableTarget>,
}

/// A configured target that could not be connected to or read. The engine reports it and
/// goes on with the others; nothing is changed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnavailableTarget {
    /// The target's name.
    pub name: String,
    /// Its adapter kind.
    pub adapter: String,
    /// Why: the error's text (which never holds a secret, see [`idbridge_core::Error`]).
    pub reason: String,
}

/// A target whose connection failed, kept so that a later run can try again.
#[derive(Debug, Clone)]
struct Disconnected {
    status: UnavailableTarget,
    section: idbridge_core::SystemSection,
    settings: TargetSettings,
}

/// Options of an apply.
#[derive(Clone, Default)]
pub struct ApplyOptions {
    /// `--allow-deletions N`: lets up to `N` disables and deletes through the guard.
    pub allow_deletions: Option<usize>,
    /// `--allow-removals N`: lets up to `N` membership removals and role revocations
    /// through the guard.
    pub allow_removals: Option<usize>,
    /// `--allow-adoptions N`: lets up to `N` adoptions of existing accounts through the
    /// guard.
    pub allow_adoptions: Option<usize>,
    /// Skip the deletion guard (for `offboard`, which names its one account).
    pub skip_guard: bool,
    /// A stop request shared with a signal handler.
    pub stop: Stop,
    /// Observes this apply's events (each operation's outcome, each target's report, the
    /// run's end), besides the engine's own observer ([`Engine::set_events`]).
    pub events: Option<EventFn>,
    /// Targets found unreachable or unreadable since the plan was made (by
    /// [`Engine::check_saved`]): reported unavailable and not touched.
    pub unavailable: Vec<UnavailableTarget>,
    /// The digest recorded with the run as the plan it applied; default the plan's own
    /// [`Plan::digest`]. A saved plan is recorded under its file's digest, even when
    /// stale operations were dropped from it (see [`SavedPlanCheck::drop_source_stale`]).
    pub plan_digest: Option<String>,
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("allow_deletions", &self.allow_deletions)
            .field("allow_removals", &self.allow_removals)
            .field("allow_adoptions", &self.allow_adoptions)
            .field("skip_guard", &self.skip_guard)
            .finish()
    }
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The run's id in the state file.
    pub run: i64,
    /// How it ended.
    pub outcome: RunOutcome,
    /// Per target.
    pub targets: Vec<TargetReport>,
}

impl RunReport {
    /// Whether every target converged.
    pub fn converged(&self) -> bool {
        self.outcome == RunOutcome::Succeeded
    }
}

/// The sync engine.
#[derive(Debug, Clone)]
pub struct Engine {
    source: AdapterHandle,
    targets: Vec<Target>,
    store: Store,
    /// Targets whose connection failed, and the configuration to try them again with.
    disconnected: Vec<Disconnected>,
    config: Option<std::sync::Arc<Config>>,
    /// The observer of every run's events.
    events: Emitter,
    /// Whether [`Engine::close_source`] closed the source (shared by the engine's clones).
    source_closed: Arc<AtomicBool>,
}

impl Engine {
    /// An engine over already-connected systems (for tests, the demo and embedding).
    pub fn new(source: AdapterHandle, targets: Vec<Target>, store: Store) -> Engine {
        Engine {
            source,
            targets,
            store,
            disconnected: Vec::new(),
            config: None,
            events: Emitter::default(),
            source_closed: Default::default(),
        }
    }

    /// Connects to the source and the targets of a configuration (only `only`, if given)
    /// and opens its state file.
    ///
    /// A target that cannot be connected to does not stop the others: it is kept as
    /// unavailable (see [`Engine::unavailable`]), planned as such, and tried again by
    /// [`Engine::reconnect`]. When the source cannot be connected to, every system already
    /// logged in to is logged out of again before the error is returned.
    ///
    /// # Errors
    /// Configuration errors (naming file and key path, for the source or any target), a
    /// source that cannot be connected to, a state file that cannot be opened, or an
    /// unknown `only` target.
    pub async fn connect(config: &Config, only: Option<&str>) -> Result<Engine> {
        if let Some(name) = only {
            if !config.targets.contains_key(name) {
                let known: Vec<&str> = config.targets.keys().map(String::as_str).collect();
                return Err(config.origin.error(
                    "",
                    format!(
                        "no target named `{name}`; configured targets: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        if config.targets.is_empty() {
            return Err(config.origin.error("targets", "no targets are configured"));
        }
        let mut prepared = Vec::new();
        for (name, section) in &config.targets {
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let mut section = section.clone();
            let settings = TargetSettings::take_from(config, &mut section)?;
            prepared.push((section, settings));
        }
        let store = open_store(&config.state)?;
        let started = std::time::Instant::now();
        let source = async {
            tracing::info!(system = %config.source.name, adapter = %config.source.adapter, "source: connecting");
            let built = registry::build_system(config, &config.source).await;
            timing("source_connect", &config.source.name, started);
            built
        };
        let targets = futures::future::join_all(
            prepared
                .into_iter()
                .map(|(section, settings)| connect_target(config, section, settings)),
        );
        let (source, targets) = futures::join!(source, targets);
        timing("connect", "", started);
        let mut connected = Vec::new();
        let mut disconnected = Vec::new();
        let mut fatal = None;
        for t in targets {
            match t {
                Ok(t) => connected.push(t),
                // A configuration mistake is no outage: it stops the command, as it would
                // with a single target.
                Err((_, e)) if e.kind() == ErrorKind::Config => {
                    fatal.get_or_insert(e);
                }
                Err((d, _)) => disconnected.push(*d),
            }
        }
        let source = match (source, fatal) {
            (Ok(source), None) => source,
            // Log out of everything that did log in: no session is left open.
            (Ok(source), Some(e)) => {
                close_all(std::iter::once(&source).chain(connected.iter().map(|t| &t.handle)))
                    .await;
                return Err(e);
            }
            (Err(e), _) => {
                close_all(connected.iter().map(|t| &t.handle)).await;
                return Err(e);
            }
        };
        let mut engine = Engine::new(source, connected, store);
        engine.disconnected = disconnected;
        engine.config = Some(std::sync::Arc::new(config.clone()));
        Ok(engine)
    }

    /// Tries again to connect to the targets whose connection failed (for runs on an
    /// interval, so that a target back up is synced again without a restart). A target
    /// that connects joins the others; one that fails again keeps its new reason.
    pub async fn reconnect(&mut self) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let pending = std::mem::take(&mut self.disconnected);
        let results = futures::future::join_all(
            pending
                .into_iter()
                .map(|d| connect_target(&config, d.section, d.settings)),
        )
        .await;
        for r in results {
            match r {
                Ok(t) => self.targets.push(t),
                Err((d, _)) => self.disconnected.push(*d),
            }
        }
    }

    /// Sets (or, with `None`, removes) the observer of the engine's events: every read,
    /// plan and apply it runs from now on reports to it (see [`crate::events`]).
    pub fn set_events(&mut self, events: Option<EventFn>) {
        self.events = Emitter::new([&events]);
    }

    /// The targets that could not be connected to, with the reason.
    pub fn unavailable(&self) -> Vec<UnavailableTarget> {
        self.disconnected.iter().map(|d| d.status.clone()).collect()
    }

    /// The source.
    pub fn source(&self) -> &AdapterHandle {
        &self.source
    }

    /// The targets.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The state file.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes the exclusive run lock; see [`Store::lock`].
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] naming the running process when another run holds it.
    pub fn lock(&self, command: &str) -> Result<RunLock> {
        self.store.lock(command)
    }

    /// Logs out of every system (best effort), the source unless
    /// [`Engine::close_source`] closed it already.
    pub async fn close(&self) {
        let source = (!self.source_closed.load(Ordering::Relaxed)).then_some(&self.source);
        close_all(
            source
                .into_iter()
                .chain(self.targets.iter().map(|t| &t.handle)),
        )
        .await;
    }

    /// Closes the source ([`idbridge_core::Adapter::close`], best effort) once this run
    /// reads it no more: an apply, after its plan is made or checked, has only targets to
    /// write. The source logs out, and a `file` source lets go of the directory it parsed
    /// (hundreds of megabytes at a million users) before the writes need the memory.
    /// Whether the source can be read afterwards is up to its adapter (a `file` source
    /// reads its file again); [`Engine::close`] does not close it a second time.
    pub async fn close_source(&self) {
        if !self.source_closed.swap(true, Ordering::Relaxed) {
            close_all(std::iter::once(&self.source)).await;
        }
    }

    /// Plans every target from a snapshot and the offboarding holds in the state file.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a role mapping naming an unknown role or group; a state
    /// file whose holds cannot be read.
    pub fn plan_snapshot(&self, snapshot: &Snapshot) -> Result<Plan> {
        let started = std::time::Instant::now();
        let mut plan = Plan::new();
        self.plan_each_target(snapshot, None, |tp| {
            plan.targets.push(tp);
            Ok(())
        })?;
        for u in &snapshot.unavailable {
            plan.targets.push(TargetPlan::unavailable(
                &u.name,
                &u.adapter,
                u.reason.clone(),
            ));
        }
        timing("plan", "", started);
        Ok(plan)
    }

    /// Plans each target of `snapshot` in configuration order and hands its plan to
    /// `each`, so that a caller that only looks at one target's plan at a time holds only
    /// one (a target plan of a million users is hundreds of MiB). The account creations
    /// planned the same as one of `held` (a plan the caller holds anyway) share its
    /// memory.
    ///
    /// # Errors
    /// As [`Engine::plan_snapshot`], and the first error of `each`.
    pub(crate) fn plan_each_target(
        &self,
        snapshot: &Snapshot,
        held: Option<&Plan>,
        mut each: impl FnMut(TargetPlan) -> Result<()>,
    ) -> Result<()> {
        let holds = HoldIndex::new(self.store.holds()?);
        let own_creates = self.own_creates()?;
        let no_creates = hashbrown::HashSet::new();
        let index = SourceIndex::new(&snapshot.source).with_holds(&holds);
        if let Some(held) = held {
            index.share_creates(held);
        }
        for t in &self.targets {
            let Some(snap) = snapshot.targets.iter().find(|s| s.name == t.name()) else {
                continue;
            };
            let input = TargetInput {
                name: t.name(),
                adapter: t.handle.kind(),
                caps: t.handle.capabilities(),
                protected: t.handle.protected(),
                settings: &t.settings,
                state: &snap.state,
                user_links: &snap.user_links,
                group_links: &snap.group_links,
                own_creates: own_creates.get(t.name()).unwrap_or(&no_creates),
            };
            let mut tp = plan_target(&index, &input, &snap.effective)?;
            let mut notes = snap.notes.clone();
            notes.append(&mut tp.notes);
            tp.notes = notes;
            tracing::info!(target = %tp.target, operations = tp.ops.len(), "planned");
            self.events.emit(|| RunEvent::Planned {
                target: tp.target.clone(),
                operations: tp.ops.len(),
            });
            each(tp)?;
        }
        Ok(())
    }

    /// Reads and plans.
    ///
    /// # Errors
    /// As [`Engine::read`] and [`Engine::plan_snapshot`].
    pub async fn plan(&self) -> Result<Plan> {
        let snapshot = self.read().await?;
        self.plan_snapshot(&snapshot)
    }

    /// The targets whose plan the guards refuse, with `--allow-deletions` the only override
    /// (see [`Engine::guard_with`]).
    pub fn guard(&self, plan: &Plan, allow_deletions: Option<usize>) -> Vec<GuardViolation> {
        self.guard_with(plan, &Allowances::deletions(allow_deletions))
    }

    /// The targets whose plan the guards refuse (deletions, membership removals, role
    /// revocations, adoptions; see [`guard::check_all`]), with the one-run overrides.
    pub fn guard_with(&self, plan: &Plan, allow: &Allowances) -> Vec<GuardViolation> {
        plan.targets
            .iter()
            .filter_map(|tp| {
                let t = self.targets.iter().find(|t| t.name() == tp.target)?;
                guard::check_all(tp, &t.settings, allow)
            })
            .collect()
    }

    /// Applies a plan while holding the run lock: guards each target, applies the targets
    /// concurrently (each with its own bounded concurrency), journals every result, and
    /// records the run.
    ///
    /// The targets are applied on tasks of their own, which hold a copy of `plan`; a
    /// caller done with its plan passes it to [`Engine::apply_shared`] instead, which
    /// copies nothing (a first sync of a million users into three targets is about a
    /// gigabyte of operations).
    ///
    /// # Errors
    /// Only when the run cannot be recorded in the state file; failures of operations are
    /// in the report.
    pub async fn apply(
        &self,
        plan: &Plan,
        lock: &RunLock,
        options: &ApplyOptions,
    ) -> Result<RunReport> {
        self.apply_shared(Arc::new(plan.clone()), lock, options)
            .await
    }

    /// [`Engine::apply`], the targets' tasks sharing `plan` rather than each holding a
    /// copy of its target's operations.
    ///
    /// # Errors
    /// As [`Engine::apply`].
    pub async fn apply_shared(
        &self,
        plan: Arc<Plan>,
        lock: &RunLock,
        options: &ApplyOptions,
    ) -> Result<RunReport> {
        let command = lock.holder().command.clone();
        let digest = options.plan_digest.clone().unwrap_or_else(|| plan.digest());
        let run = self.store.begin_run_with_plan(&command, Some(&digest))?;
        let down = self.unavailable();
        let journal = JournalWriter::start(self.store.clone())?;
        let events = self.events.with(&options.events);
        let violations = if options.skip_guard {
            Vec::new()
        } else {
            self.guard_with(
                &plan,
                &Allowances {
                    deletions: options.allow_deletions,
                    removals: options.allow_removals,
                    adoptions: options.allow_adoptions,
                },
            )
        };
        // Each target is applied on a task of its own, so that the work one target's
        // answers cost (parsing a large listing, say) never holds up the others.
        let run_span = tracing::info_span!("run", run, command = %command);
        let mut tasks = Vec::with_capacity(plan.targets.len());
        for (k, tp) in plan.targets.iter().enumerate() {
            let unavailable = tp.unavailable.clone().or_else(|| {
                down.iter()
                    .chain(&options.unavailable)
                    .find(|u| u.name == tp.target)
                    .map(|u| u.reason.clone())
            });
            if let Some(why) = unavailable {
                tracing::warn!(target = %tp.target, reason = %why, "unavailable; nothing is changed there");
                tasks.push(Err(TargetReport::unavailable(tp, why)));
                continue;
            }
            let Some(t) = self.targets.iter().find(|t| t.name() == tp.target) else {
                tasks.push(Err(TargetReport::refused(
                    tp,
                    format!("target `{}` is not configured", tp.target),
                )));
                continue;
            };
            if let Some(v) = violations.iter().find(|v| v.target == tp.target) {
                tracing::warn!(target = %tp.target, reason = %v.message, "refused by the deletion guard");
                tasks.push(Err(TargetReport::refused(tp, v.message.clone())));
                continue;
            }
            tracing::info!(target = %tp.target, operations = tp.ops.len(), "applying");
            events.emit(|| RunEvent::ApplyStarted {
                target: tp.target.clone(),
                operations: tp.ops.len(),
            });
            let span = tracing::info_span!(parent: &run_span, "target", target = %tp.target, ops = tp.ops.len());
            let handle = t.handle.clone();
            let concurrency = t.settings.concurrency;
            let adopt_existing_login = t.settings.correlate.contains(&CorrelationKey::Login);
            let journal = journal.clone();
            let stop = options.stop.clone();
            let events = events.clone();
            let shared = plan.clone();
            let task = tokio::spawn(
                async move {
                    // `k` numbers a target of this plan.
                    let owned = &shared.targets[k];
                    let ctx = ApplyContext {
                        handle: &handle,
                        concurrency,
                        journal: &journal,
                        run,
                        stop: &stop,
                        events: &events,
                        adopt_existing_login,
                    };
                    apply_target(&ctx, owned).await
                }
                .instrument(span),
            );
            tasks.push(Ok(AbortOnDrop(task)));
        }
        let mut reports = Vec::with_capacity(tasks.len());
        for (task, tp) in tasks.into_iter().zip(&plan.targets) {
            reports.push(match task {
                Err(refused) => refused,
                Ok(mut task) => match (&mut task.0).await {
                    Ok(report) => report,
                    // A panic is a bug; the run still records what the other targets did,
                    // and the journal what this one did before it stopped.
                    Err(e) => {
                        let mut r = TargetReport::refused(tp, String::new());
                        r.refused = None;
                        r.fatal = Some(format!(
                            "the apply stopped unexpectedly ({e}); see the journal for what was done"
                        ));
                        r
                    }
                },
            });
            if let Some(r) = reports.last() {
                events.emit(|| RunEvent::TargetFinished {
                    report: Box::new(r.clone()),
                });
            }
        }
        for r in &reports {
            if r.unavailable.is_some() || r.refused.is_some() {
                continue;
            }
            if r.converged() {
                tracing::info!(target = %r.target, ok = r.ok, "done");
            } else {
                tracing::warn!(target = %r.target, ok = r.ok, failed = r.failed, skipped = r.skipped, not_started = r.not_started, "not done");
            }
        }
        let outcome = if reports.iter().all(TargetReport::converged) {
            RunOutcome::Succeeded
        } else if options.stop.is_stopped()
            && reports.iter().all(|r| {
                r.failed == 0 && r.refused.is_none() && r.fatal.is_none() && r.unavailable.is_none()
            })
        {
            RunOutcome::Stopped
        } else {
            RunOutcome::Failed
        };
        let counts = serde_json::json!(
            reports
                .iter()
                .map(|r| (
                    r.target.clone(),
                    serde_json::json!({
                        "planned": r.planned,
                        "ok": r.ok,
                        "failed": r.failed,
                        "skipped": r.skipped,
                        "not_started": r.not_started,
                        "refused": r.refused.is_some(),
                        "unavailable": r.unavailable,
                        "done": r.done,
                    })
                ))
                .collect::<serde_json::Map<_, _>>()
        );
        drop(journal);
        self.store.finish_run(run, outcome, &counts)?;
        events.emit(|| RunEvent::RunFinished { run, outcome });
        Ok(RunReport {
            run,
            outcome,
            targets: reports,
        })
    }

    /// Records a run that failed before it could apply anything (the source could not be
    /// read, say), so that the journal shows it with its error next to the runs that did
    /// apply. Nothing was changed in any target.
    ///
    /// # Errors
    /// When the state file cannot be written.
    pub fn record_failed_run(&self, lock: &RunLock, error: &Error) -> Result<i64> {
        let run = self.store.begin_run(&lock.holder().command)?;
        let counts = serde_json::json!({
            "source": { "error": error.to_string() },
        });
        self.store.finish_run(run, RunOutcome::Failed, &counts)?;
        Ok(run)
    }
}

/// Connects one target; on failure, what is needed to report it and try again.
async fn connect_target(
    config: &Config,
    section: idbridge_core::SystemSection,
    settings: TargetSettings,
) -> std::result::Result<Target, (Box<Disconnected>, Error)> {
    tracing::info!(target = %section.name, adapter = %section.adapter, "connecting");
    let started = std::time::Instant::now();
    match registry::build_system(config, &section).await {
        Ok(handle) => {
            tracing::info!(target = %section.name, "connected");
            timing("target_connect", &section.name, started);
            Ok(Target { handle, settings })
        }
        Err(e) => {
            // A configuration error stops the command (see `Engine::connect`), so it is
            // not announced as a skipped target.
            if e.kind() != ErrorKind::Config {
                tracing::warn!(target = %section.name, error = %e, "cannot connect; this target is skipped");
            }
            let status = UnavailableTarget {
                name: section.name.clone(),
                adapter: section.adapter.clone(),
                reason: format!("cannot connect: {e}"),
            };
            Err((
                Box::new(Disconnected {
                    status,
                    section,
                    settings,
                }),
                e,
            ))
        }
    }
}

/// Logs out of each system (best effort: a failure is logged, and the others are still
/// logged out of).
async fn close_all<'a>(handles: impl Iterator<Item = &'a AdapterHandle>) {
    for h in handles {
        if let Err(e) = h.close().await {
            tracing::warn!(system = h.name(), error = %e, "closing the connection failed");
        }
    }
}

/// Opens the state file, with a clear error when its directory is missing.
///
/// # Errors
/// As [`check_state_path`]; whatever [`Store::open`] returns.
pub fn open_store(path: &Path) -> Result<Store> {
    check_state_path(path)?;
    Store::open(path)
}

/// Checks, without creating anything, that a state file can be opened at `path`: its
/// directory exists, and what is there (if anything) is a file.
///
/// # Errors
/// [`ErrorKind::Config`] naming the path when the directory does not exist or the path is
/// not a file.
pub fn check_state_path(path: &Path) -> Result<()> {
    if idbridge_core::config::is_postgres_state(path) {
        return Ok(()); // A database URL: the server is reached when the store opens.
    }
    if path.exists() && !path.is_file() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "the state file `{}` is not a file (set `state` in the configuration)",
                path.display()
            ),
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "the directory of the state file `{}` does not exist (set `state` in the configuration)",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}
