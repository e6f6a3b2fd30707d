//! Reading the source and the targets into one snapshot, and the stage timings the
//! end-to-end benchmark reads.

use super::*;
use crate::events::SystemRole;
use crate::task::{on_blocking_task, on_own_task};

impl Engine {
    /// Reads the source and every target concurrently, then the members of the target
    /// groups the plan needs.
    ///
    /// A target that cannot be read is listed in [`Snapshot::unavailable`] with the reason
    /// (as are the targets that could not be connected to), and the others are read on.
    ///
    /// # Errors
    /// A source that fails to read or reads empty (never taken as "everyone left"), a
    /// state file that cannot be read.
    pub async fn read(&self) -> Result<Snapshot> {
        let started = std::time::Instant::now();
        let source = async {
            tracing::info!(system = %self.source.name(), "source: reading");
            let source_name = || self.source.name().to_string();
            self.events.emit(|| RunEvent::ReadStarted {
                system: source_name(),
                role: SystemRole::Source,
            });
            let handle = self.source.clone();
            let s = on_own_task(async move { read_source(&handle).await });
            let s = s.await.map_err(|e| {
                self.events.emit(|| RunEvent::ReadFailed {
                    system: source_name(),
                    role: SystemRole::Source,
                    error: e.clone(),
                });
                Error::new(
                    e.kind(),
                    format!("reading the source failed, so nothing was changed: {e}"),
                )
            })?;
            if s.users.is_empty() {
                return Err(Error::invalid_input(format!(
                    "the source `{}` returned no users; refusing to plan, because an empty \
                     source is far more likely a failed export than everyone leaving",
                    self.source.name()
                )));
            }
            tracing::info!(system = %self.source.name(), users = s.users.len(), "source: read");
            self.events.emit(|| RunEvent::ReadFinished {
                system: source_name(),
                role: SystemRole::Source,
                users: s.users.len(),
                groups: s.groups.as_ref().map_or(0, Vec::len),
            });
            timing("source_read", self.source.name(), started);
            Ok(s)
        };
        // Effective concepts need the source's shape (does it have groups, roles); the
        // source's capabilities tell that before it is read.
        let src_caps = self.source.capabilities();
        let shape = SourceState {
            groups: src_caps.groups_list.then(Vec::new),
            members_listed: src_caps.groups_list && src_caps.members_list,
            roles: (src_caps.roles_list && src_caps.grants_list).then(Vec::new),
            ..Default::default()
        };
        // The outer error is the state file's (the run stops); the inner one is the
        // target's own (it is skipped, the others go on).
        let targets = futures::future::try_join_all(self.targets.iter().map(|t| {
            let shape = &shape;
            async move {
                let mut notes = Vec::new();
                let caps = t.handle.capabilities();
                let effective = Effective::compute(&t.settings, &caps, shape, &mut notes);
                let group_links = self.store.links(t.name(), LinkKind::Group)?;
                tracing::info!(target = %t.name(), "reading");
                self.events.emit(|| RunEvent::ReadStarted {
                    system: t.name().to_string(),
                    role: SystemRole::Target,
                });
                // A million links take seconds to load: loaded beside the target's read.
                let (store, name) = (self.store.clone(), t.name().to_string());
                let user_links =
                    on_blocking_task(move || LinkTable::read(&store, &name, LinkKind::User));
                let handle = t.handle.clone();
                let state = on_own_task(async move {
                    let before = listing_version(&handle).await;
                    let state = read_target(&handle, &effective).await?;
                    Ok((state, listed_version(&handle, before).await))
                });
                let (user_links, state) = futures::join!(user_links, state);
                let user_links = user_links?;
                let (state, listed) = match state {
                    Ok(read) => read,
                    Err(e) => return Ok(Err(e)),
                };
                tracing::info!(target = %t.name(), users = state.users.len(), "read");
                self.events.emit(|| RunEvent::ReadFinished {
                    system: t.name().to_string(),
                    role: SystemRole::Target,
                    users: state.users.len(),
                    groups: state.groups.len(),
                });
                timing("target_read", t.name(), started);
                let snap = TargetSnapshot {
                    name: t.name().to_string(),
                    effective,
                    notes,
                    state,
                    user_links,
                    group_links,
                };
                Ok::<_, Error>(Ok((snap, listed)))
            }
        }));
        let (source, read) = futures::try_join!(source, targets)?;
        let mut unavailable = self.unavailable();
        let mut readable: Vec<(&Target, TargetSnapshot)> = Vec::new();
        let mut listed = Vec::new();
        for (t, r) in self.targets.iter().zip(read) {
            match r {
                Ok((snap, version)) => {
                    readable.push((t, snap));
                    listed.push(version);
                }
                Err(e) => unavailable.push(self.unreadable(t, &e)),
            }
        }
        let members_started = std::time::Instant::now();
        let index = SourceIndex::new(&source);
        let no_creates = hashbrown::HashSet::new();
        let needs: Vec<Vec<String>> = readable
            .iter()
            .map(|(t, snap)| {
                let protected = t.handle.protected();
                let input = TargetInput {
                    name: t.name(),
                    adapter: t.handle.kind(),
                    caps: t.handle.capabilities(),
                    protected,
                    settings: &t.settings,
                    state: &snap.state,
                    user_links: &snap.user_links,
                    group_links: &snap.group_links,
                    own_creates: &no_creates,
                };
                groups_needing_members(&index, &input, &snap.effective)
            })
            .collect();
        // The index borrows the source, which the snapshot is about to own.
        drop(index);
        // Each target's members on a task of its own, which holds the target's users
        // (members are resolved against them) until it gives them back.
        let reads = readable.iter_mut().zip(needs).zip(listed);
        let members = futures::future::join_all(reads.map(|(((t, snap), groups), listed)| {
            let (handle, concurrency) = (t.handle.clone(), t.settings.concurrency);
            let users = std::mem::take(&mut snap.state.users);
            on_own_task(async move {
                let members = read_member_table(&handle, groups, concurrency, &users, listed).await;
                Ok((users, members))
            })
        }))
        .await;
        let mut targets = Vec::with_capacity(readable.len());
        for ((t, mut snap), m) in readable.into_iter().zip(members) {
            match m.and_then(|(users, members)| Ok((users, members?))) {
                Ok((users, members)) => {
                    snap.state.users = users;
                    snap.state.members = members;
                    targets.push(snap);
                }
                Err(e) => unavailable.push(self.unreadable(t, &e)),
            }
        }
        timing("members_read", "", members_started);
        timing("read", "", started);
        Ok(Snapshot {
            source,
            targets,
            unavailable,
        })
    }

    /// Reports a target whose read failed; it is skipped and the others go on.
    pub(super) fn unreadable(&self, t: &Target, e: &Error) -> UnavailableTarget {
        tracing::warn!(target = %t.name(), error = %e, "cannot read; this target is skipped");
        self.events.emit(|| RunEvent::ReadFailed {
            system: t.name().to_string(),
            role: SystemRole::Target,
            error: e.clone(),
        });
        UnavailableTarget {
            name: t.name().to_string(),
            adapter: t.handle.kind().to_string(),
            reason: format!("cannot read: {e}"),
        }
    }

    /// Per target, the normalised logins that recent runs which did not succeed journaled a
    /// create of: accounts idbridge itself created (or may have) without recording the
    /// link, which a later run links again without counting it as an adoption.
    pub(super) fn own_creates(
        &self,
    ) -> Result<hashbrown::HashMap<String, hashbrown::HashSet<String>>> {
        /// How many recent runs are looked at.
        const RECENT_RUNS: usize = 50;
        let mut out: hashbrown::HashMap<String, hashbrown::HashSet<String>> =
            hashbrown::HashMap::new();
        for run in self.store.runs(RECENT_RUNS)? {
            if run.outcome == RunOutcome::Succeeded {
                continue;
            }
            for e in self.store.journal(Some(run.id))? {
                if e.operation == "create_user" {
                    out.entry(e.target).or_default().insert(norm(&e.resource));
                }
            }
        }
        Ok(out)
    }
}

/// One stage's elapsed time, logged under the `idbridge::timing` target (off unless
/// `RUST_LOG` asks for it), which `idbridge-bench e2e` reads to split a command's time.
pub(super) fn timing(stage: &str, system: &str, since: std::time::Instant) {
    let ms = since.elapsed().as_secs_f64() * 1e3;
    tracing::info!(target: "idbridge::timing", stage, system, ms, "stage done");
}
