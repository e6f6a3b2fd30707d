//! The handle's batch writes: each write is checked as the single-write method checks it,
//! rejected writes get their error in place, and only the accepted ones reach the adapter,
//! in one batch and in order.

use super::AdapterHandle;
use crate::model::{
    GroupWrite, GroupWriteResult, MemberBatchKey, MemberWrite, MemberWriteResult, Principal,
    UserWrite, UserWriteResult,
};
use crate::{Error, Operation, Result};

impl AdapterHandle {
    /// Applies many user writes ([`crate::Users::write_users`]), one result per write in
    /// the same order.
    ///
    /// Checks every write first as the single-write methods do (capability, password
    /// qualifier, immutable logins, protected users); rejected writes get their error in
    /// place and only the accepted ones reach the adapter, in batches of at most
    /// [`crate::Capabilities::users_batch_max`] (one batch when it is not declared).
    pub async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let mut results: Vec<Option<UserWriteResult>> = Vec::with_capacity(batch.len());
        let mut accepted = Vec::new();
        let mut accepted_meta = Vec::new();
        for write in batch {
            let op = write.operation();
            let resource = write.resource().to_string();
            let check = self.gate(op).and_then(|()| match &write {
                UserWrite::Create { user } => self.check_user(user),
                UserWrite::Update { id, changes } => self
                    .protect_user(op, id)
                    .and_then(|()| self.check_user_changes(id, changes)),
                UserWrite::SetEnabled { id, .. } | UserWrite::Delete { id } => {
                    self.protect_user(op, id)
                }
            });
            match check {
                Ok(()) => {
                    accepted_meta.push((results.len(), op, resource));
                    results.push(None);
                    accepted.push(write);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        for (writes, meta) in chunks(accepted, accepted_meta, self.caps.users_batch_max) {
            let outcomes = self.inner.write_users(writes).await;
            self.place(&mut results, meta, outcomes, "writes");
        }
        finish(results)
    }

    /// Applies many group writes ([`crate::Groups::write_groups`]), one result per write
    /// in the same order.
    ///
    /// Checks every write first as the single-write methods do (capability, description
    /// qualifier, protected groups); rejected writes get their error in place and only the
    /// accepted ones reach the adapter, in batches of at most
    /// [`crate::Capabilities::groups_batch_max`] (one batch when it is not declared).
    pub async fn write_groups(&self, batch: Vec<GroupWrite>) -> Vec<GroupWriteResult> {
        let mut results: Vec<Option<GroupWriteResult>> = Vec::with_capacity(batch.len());
        let mut accepted = Vec::new();
        let mut accepted_meta = Vec::new();
        for write in batch {
            let op = write.operation();
            let resource = write.resource().to_string();
            let check = match &write {
                GroupWrite::Create { group } => {
                    self.gate(op).and_then(|()| self.check_new_group(group))
                }
                GroupWrite::Update { id, changes } => self
                    .protect_group(op, id)
                    .and_then(|()| self.gate(op))
                    .and_then(|()| self.check_group_changes(id, changes)),
                GroupWrite::Delete { id } => {
                    self.protect_group(op, id).and_then(|()| self.gate(op))
                }
            };
            match check {
                Ok(()) => {
                    accepted_meta.push((results.len(), op, resource));
                    results.push(None);
                    accepted.push(write);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        for (writes, meta) in chunks(accepted, accepted_meta, self.caps.groups_batch_max) {
            let outcomes = self.inner.write_groups(writes).await;
            self.place(&mut results, meta, outcomes, "group writes");
        }
        finish(results)
    }

    /// Which writes one request of the adapter's [`AdapterHandle::write_members`] carries
    /// together ([`crate::Memberships::member_batch_key`]). Always
    /// [`MemberBatchKey::Alone`] where the adapter declares no
    /// [`crate::Capabilities::members_batch_max`] above one, as then it takes writes one
    /// by one.
    pub fn member_batch_key(&self, write: &MemberWrite) -> MemberBatchKey {
        match self.caps.members_batch_max {
            Some(max) if max > 1 => self.inner.member_batch_key(write),
            _ => MemberBatchKey::Alone,
        }
    }

    /// Applies many membership writes ([`crate::Memberships::write_members`]), one result
    /// per write in the same order.
    ///
    /// Checks every write as the single-write methods do (capability, nesting, protected
    /// users, privileged groups); rejected writes get their error in place and only the
    /// accepted ones reach the adapter, in batches of at most
    /// [`crate::Capabilities::members_batch_max`] (one batch when it is not declared).
    pub async fn write_members(&self, batch: Vec<MemberWrite>) -> Vec<MemberWriteResult> {
        let mut results: Vec<Option<MemberWriteResult>> = Vec::with_capacity(batch.len());
        let mut accepted = Vec::new();
        let mut accepted_meta = Vec::new();
        for write in batch {
            let op = write.operation();
            let group = write.group().to_string();
            let check = self.gate(op).and_then(|()| match &write {
                MemberWrite::Add { member, .. } => self
                    .check_member(op, &group, member)
                    .and_then(|()| self.protect_privileged(op, &group)),
                MemberWrite::Remove {
                    member: Principal::User(id),
                    ..
                } => self.protect_user(op, id),
                MemberWrite::Remove { .. } => Ok(()),
            });
            match check {
                Ok(()) => {
                    accepted_meta.push((results.len(), op, group));
                    results.push(None);
                    accepted.push(write);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        for (writes, meta) in chunks(accepted, accepted_meta, self.caps.members_batch_max) {
            let outcomes = self.inner.write_members(writes).await;
            self.place(&mut results, meta, outcomes, "membership writes");
        }
        finish(results)
    }

    /// Puts the adapter's outcomes into the slots of the accepted writes, with context.
    fn place<T>(
        &self,
        results: &mut [Option<Result<T>>],
        accepted: Vec<(usize, Operation, String)>,
        outcomes: Vec<Result<T>>,
        what: &str,
    ) {
        let expected = accepted.len();
        let mut outcomes = outcomes.into_iter();
        for (slot, op, resource) in accepted {
            let outcome = outcomes.next().unwrap_or_else(|| {
                Err(Error::protocol(format!(
                    "the adapter returned fewer results than the {expected} {what} it was given"
                )))
            });
            results[slot] = Some(outcome.map_err(|e| self.context(op, Some(&resource), e)));
        }
    }
}

/// The accepted writes (with their slots) in batches of at most `max` (all in one where
/// the adapter declares no maximum): a batch never exceeds what the platform takes.
fn chunks<W, M>(writes: Vec<W>, meta: Vec<M>, max: Option<usize>) -> Vec<(Vec<W>, Vec<M>)> {
    let size = max.unwrap_or(usize::MAX).max(1);
    let mut out: Vec<(Vec<W>, Vec<M>)> = Vec::new();
    for (w, m) in writes.into_iter().zip(meta) {
        match out.last_mut() {
            Some((ws, ms)) if ws.len() < size => {
                ws.push(w);
                ms.push(m);
            }
            _ => out.push((vec![w], vec![m])),
        }
    }
    out
}

fn finish<T>(results: Vec<Option<Result<T>>>) -> Vec<Result<T>> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::protocol("batch slot left without a result"))))
        .collect()
}
