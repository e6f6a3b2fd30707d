//! The handle's batch writes: each write is checked as the single-write method checks it,
//! rejected writes get their error in place, and only the accepted ones reach the adapter,
//! in one batch and in order.

use super::AdapterHandle;
use crate::model::{MemberWrite, MemberWriteResult, Principal, UserWrite, UserWriteResult};
use crate::{Error, Operation, Result};

impl AdapterHandle {
    /// Applies many user writes ([`crate::Users::write_users`]), one result per write in
    /// the same order.
    ///
    /// Checks every write first as the single-write methods do (capability, password
    /// qualifier, protected users); rejected writes get their error in place and only the
    /// accepted ones reach the adapter, in one batch.
    pub async fn write_users(&self, batch: Vec<UserWrite>) -> Vec<UserWriteResult> {
        let mut results: Vec<Option<UserWriteResult>> = Vec::with_capacity(batch.len());
        let mut accepted = Vec::new();
        let mut accepted_meta = Vec::new();
        for write in batch {
            let op = write.operation();
            let resource = write.resource().to_string();
            let check = self.gate(op).and_then(|()| match &write {
                UserWrite::Create { user } => self.check_user(user),
                UserWrite::Update { id, .. }
                | UserWrite::SetEnabled { id, .. }
                | UserWrite::Delete { id } => self.protect_user(op, id),
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
        if !accepted.is_empty() {
            let outcomes = self.inner.write_users(accepted).await;
            self.place(&mut results, accepted_meta, outcomes, "writes");
        }
        finish(results)
    }

    /// Applies many membership writes ([`crate::Memberships::write_members`]), one result
    /// per write in the same order.
    ///
    /// Checks every write as the single-write methods do (capability, nesting, protected
    /// users, privileged groups); rejected writes get their error in place and only the
    /// accepted ones reach the adapter, in one batch.
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
        if !accepted.is_empty() {
            let outcomes = self.inner.write_members(accepted).await;
            self.place(&mut results, accepted_meta, outcomes, "membership writes");
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

fn finish<T>(results: Vec<Option<Result<T>>>) -> Vec<Result<T>> {
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::protocol("batch slot left without a result"))))
        .collect()
}
