//! An adapter wrapper for tests: counts writes, injects failures, and simulates a crash.

use idbridge_core::{
    Adapter, Capabilities, Error, Forward, Grant, GrantFilter, Group, GroupChanges, GroupWrite,
    GroupWriteResult, MemberWrite, MemberWriteResult, Membership, NewGroup, NewUser, Page,
    PageRequest, Principal, Result, Role, Session, User, UserChanges, UserWrite, UserWriteResult,
    async_trait,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Wraps an adapter. Every write that reaches the wrapped adapter is counted; a crash
/// point makes the N-th write happen and then never return (as if the process died right
/// after the target accepted it); failures can be injected for reads and for chosen
/// logins or group names.
pub struct Recorder {
    inner: Arc<dyn Adapter>,
    writes: AtomicUsize,
    crash_after: Mutex<Option<usize>>,
    crashed: Notify,
    has_crashed: AtomicBool,
    fail_reads: AtomicBool,
    fail_names: Mutex<HashSet<String>>,
    no_batches: bool,
    caps_override: Mutex<Option<Capabilities>>,
}

impl Recorder {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Adapter>) -> Arc<Recorder> {
        Arc::new(Recorder {
            inner,
            writes: AtomicUsize::new(0),
            crash_after: Mutex::new(None),
            crashed: Notify::new(),
            has_crashed: AtomicBool::new(false),
            fail_reads: AtomicBool::new(false),
            fail_names: Mutex::new(HashSet::new()),
            no_batches: false,
            caps_override: Mutex::new(None),
        })
    }

    /// Wraps `inner` and hides its batch capability (every write goes alone).
    pub fn unbatched(inner: Arc<dyn Adapter>) -> Arc<Recorder> {
        Arc::new(Recorder {
            inner,
            writes: AtomicUsize::new(0),
            crash_after: Mutex::new(None),
            crashed: Notify::new(),
            has_crashed: AtomicBool::new(false),
            fail_reads: AtomicBool::new(false),
            fail_names: Mutex::new(HashSet::new()),
            no_batches: true,
            caps_override: Mutex::new(None),
        })
    }

    /// Changes the declared capabilities (before the handle is built).
    pub fn adjust_capabilities(&self, f: impl FnOnce(&mut Capabilities)) {
        let mut caps = Forward::capabilities(self);
        f(&mut caps);
        *self.caps_override.lock().expect("lock") = Some(caps);
    }

    /// Writes that reached the wrapped adapter so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// After `n` more writes reach the adapter, writes stop returning.
    pub fn crash_after(&self, n: usize) {
        let base = self.writes();
        *self.crash_after.lock().expect("lock") = Some(base + n);
        self.has_crashed.store(false, Ordering::SeqCst);
    }

    /// Clears the crash point (the "restarted process" writes normally).
    pub fn recover(&self) {
        *self.crash_after.lock().expect("lock") = None;
    }

    /// Waits until the crash point is reached.
    pub async fn crashed(&self) {
        loop {
            let notified = self.crashed.notified();
            if self.has_crashed.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// Makes every listing fail (or succeed again).
    pub fn fail_reads(&self, on: bool) {
        self.fail_reads.store(on, Ordering::SeqCst);
    }

    /// Makes creating the user with this login (or the group with this name) fail.
    pub fn fail_name(&self, name: &str) {
        self.fail_names
            .lock()
            .expect("lock")
            .insert(name.to_string());
    }

    /// Removes every injected name failure.
    pub fn clear_failures(&self) {
        self.fail_names.lock().expect("lock").clear();
    }

    fn check_read(&self) -> Result<()> {
        if self.fail_reads.load(Ordering::SeqCst) {
            return Err(Error::unavailable("injected read failure").with_retryable(false));
        }
        Ok(())
    }

    fn check_name(&self, name: &str) -> Result<()> {
        if self.fail_names.lock().expect("lock").contains(name) {
            return Err(
                Error::unavailable(format!("injected failure for `{name}`")).with_retryable(false)
            );
        }
        Ok(())
    }

    /// Counts one write after it happened; at the crash point, never returns.
    async fn after_write(&self) {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        let limit = *self.crash_after.lock().expect("lock");
        if limit.is_some_and(|l| n >= l) {
            self.has_crashed.store(true, Ordering::SeqCst);
            self.crashed.notify_waiters();
            std::future::pending::<()>().await;
        }
    }

    async fn write<T>(&self, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let out = fut.await;
        self.after_write().await;
        out
    }
}

// Built on `Forward`: what the recorder does not observe reaches the wrapped adapter.
#[async_trait]
impl Forward for Recorder {
    fn forward_to(&self) -> &dyn Adapter {
        self.inner.as_ref()
    }
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        self.check_read()?;
        self.inner.list_users(page).await
    }
    async fn get_user(&self, id: &str) -> Result<User> {
        self.check_read()?;
        self.inner.get_user(id).await
    }
    async fn create_user(&self, user: &NewUser) -> Result<User> {
        self.check_name(&user.login)?;
        self.write(self.inner.create_user(user)).await
    }
    async fn update_user(&self, id: &str, changes: &UserChanges) -> Result<User> {
        self.write(self.inner.update_user(id, changes)).await
    }
    async fn set_user_enabled(&self, id: &str, enabled: bool) -> Result<User> {
        self.write(self.inner.set_user_enabled(id, enabled)).await
    }
    async fn delete_user(&self, id: &str) -> Result<()> {
        self.write(self.inner.delete_user(id)).await
    }
    async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let mut failed = Vec::new();
        let mut pass = Vec::new();
        for (i, w) in batch.into_iter().enumerate() {
            match &w {
                UserWrite::Create { user } if self.check_name(&user.login).is_err() => {
                    failed.push((i, self.check_name(&user.login)));
                }
                _ => pass.push((i, w)),
            }
        }
        let (idx, writes): (Vec<usize>, Vec<UserWrite>) = pass.into_iter().unzip();
        let n = writes.len();
        let results = self.inner.write_users(writes).await;
        for _ in 0..n {
            self.after_write().await;
        }
        let mut out: Vec<(usize, UserWriteResult)> = idx.into_iter().zip(results).collect();
        out.extend(failed.into_iter().map(|(i, r)| (i, r.map(|()| None))));
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    }
    async fn list_groups(&self, page: PageRequest) -> Result<Page<Group>> {
        self.check_read()?;
        self.inner.list_groups(page).await
    }
    async fn create_group(&self, group: &NewGroup) -> Result<Group> {
        self.check_name(&group.name)?;
        self.write(self.inner.create_group(group)).await
    }
    async fn update_group(&self, id: &str, changes: &GroupChanges) -> Result<Group> {
        self.write(self.inner.update_group(id, changes)).await
    }
    async fn delete_group(&self, id: &str) -> Result<()> {
        self.write(self.inner.delete_group(id)).await
    }
    async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        let mut failed = Vec::new();
        let mut pass = Vec::new();
        for (i, w) in batch.into_iter().enumerate() {
            match &w {
                GroupWrite::Create { group } if self.check_name(&group.name).is_err() => {
                    failed.push((i, self.check_name(&group.name)));
                }
                _ => pass.push((i, w)),
            }
        }
        let (idx, writes): (Vec<usize>, Vec<GroupWrite>) = pass.into_iter().unzip();
        let n = writes.len();
        let results = self.inner.write_groups(writes).await;
        for _ in 0..n {
            self.after_write().await;
        }
        let mut out: Vec<(usize, GroupWriteResult)> = idx.into_iter().zip(results).collect();
        out.extend(failed.into_iter().map(|(i, r)| (i, r.map(|()| None))));
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    }
    async fn list_members(&self, group: &str, page: PageRequest) -> Result<Page<Principal>> {
        self.check_read()?;
        self.inner.list_members(group, page).await
    }
    async fn add_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.write(self.inner.add_member(group, member)).await
    }
    async fn remove_member(&self, group: &str, member: &Principal) -> Result<()> {
        self.write(self.inner.remove_member(group, member)).await
    }
    async fn list_all_members(&self) -> Result<Vec<Membership>> {
        self.check_read()?;
        self.inner.list_all_members().await
    }
    async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let n = batch.len();
        let results = self.inner.write_members(batch).await;
        for _ in 0..n {
            self.after_write().await;
        }
        results
    }
    async fn list_roles(&self, page: PageRequest) -> Result<Page<Role>> {
        self.check_read()?;
        self.inner.list_roles(page).await
    }
    async fn list_grants(&self, filter: &GrantFilter, page: PageRequest) -> Result<Page<Grant>> {
        self.check_read()?;
        self.inner.list_grants(filter, page).await
    }
    async fn grant(&self, grant: &Grant) -> Result<()> {
        self.write(self.inner.grant(grant)).await
    }
    async fn revoke(&self, grant: &Grant) -> Result<()> {
        self.write(self.inner.revoke(grant)).await
    }
    async fn list_sessions(&self, user: Option<&str>, page: PageRequest) -> Result<Page<Session>> {
        self.check_read()?;
        self.inner.list_sessions(user, page).await
    }
    async fn revoke_session(&self, id: &str) -> Result<()> {
        self.write(self.inner.revoke_session(id)).await
    }
    async fn revoke_user_sessions(&self, user: &str) -> Result<u64> {
        self.write(self.inner.revoke_user_sessions(user)).await
    }
    fn capabilities(&self) -> Capabilities {
        if let Some(caps) = *self.caps_override.lock().expect("lock") {
            return caps;
        }
        let mut caps = self.inner.capabilities();
        // Members are read by id, through `list_members`, where read failures are injected.
        caps.members_by_position = false;
        if self.no_batches {
            caps.users_batch_max = None;
            caps.groups_batch_max = None;
            caps.members_batch_max = None;
        }
        caps
    }
}
