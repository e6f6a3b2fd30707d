//! Diff of the groups: create, update or link each synced source group's target group;
//! what becomes of a target group whose source group is gone follows the deletion policy.

use std::sync::Arc;

use hashbrown::HashMap;

use idbridge_core::{GroupChanges, NewGroup};
use idbridge_store::Link;

use crate::plan::{Action, CreateGroup, DeleteGroup, GroupRef, LinkGroup, Ref, UpdateGroup};
use crate::settings::DeletionPolicy;
use crate::util::norm;

use super::Planner;
use super::correlate::match_groups;
use super::map::group_fingerprint;

impl<'i> Planner<'_, 'i> {
    pub(super) fn diff_groups(&mut self) {
        let (src, input) = (self.src, self.input);
        let gm = match_groups(src, input);
        self.plan.conflicts.extend(gm.conflicts.iter().cloned());
        self.plan.managed_groups += gm.orphans.len();
        let groups = src.groups;
        let tgroups = &input.state.groups;
        let links: HashMap<&str, &Link> = self
            .input
            .group_links
            .iter()
            .map(|l| (l.source_id.as_str(), l))
            .collect();
        self.groups.refs = vec![None; groups.len()];
        let mut cannot_create = 0usize;
        let mut unkept_descriptions = 0usize;
        for (i, g) in groups.iter().enumerate() {
            let Some(name) = gm.name[i].clone() else {
                continue;
            };
            if gm.conflicted[i] {
                continue;
            }
            if !self.caps.groups_description
                && g.description
                    .as_deref()
                    .is_some_and(|d| !d.trim().is_empty())
            {
                unkept_descriptions += 1;
            }
            let description = g
                .description
                .clone()
                .filter(|_| self.caps.groups_description);
            let fp = group_fingerprint(&name, description.as_deref());
            match gm.claim[i] {
                Some(t) => {
                    let cur = &tgroups[t];
                    self.groups.refs[i] = Some(Arc::new(GroupRef {
                        at: Ref::Id(Arc::from(cur.id.as_str())),
                        name: Arc::from(cur.name.as_str()),
                    }));
                    if self.group_protected(cur) {
                        self.plan.notes.push(format!(
                            "group `{}` is protected: its name, description and members are left as they are",
                            cur.name
                        ));
                        continue;
                    }
                    self.groups.active.insert(cur.id.as_str());
                    self.plan.managed_groups += 1;
                    let link = links.get(g.id.as_str()).copied();
                    let fp_same =
                        link.is_some_and(|l| l.fingerprint == fp && l.target_id == cur.id);
                    let mut ch = GroupChanges::default();
                    if norm(&name) != norm(&cur.name) {
                        ch.name = Some(name.clone());
                    }
                    if let Some(d) = &description {
                        let differs = Some(d.trim()) != cur.description.as_deref().map(str::trim);
                        let unkept = fp_same && cur.description.is_none();
                        if differs && !unkept {
                            ch.description = Some(Some(d.clone()));
                        }
                    }
                    if !ch.is_empty() && self.caps.groups_update {
                        self.plan.push(
                            Action::UpdateGroup(Box::new(UpdateGroup {
                                source_id: g.id.clone(),
                                id: cur.id.clone(),
                                before: cur.clone(),
                                changes: ch,
                                fingerprint: fp,
                            })),
                            vec![],
                        );
                    } else if !link.is_some_and(|l| l.target_id == cur.id && l.fingerprint == fp) {
                        if !ch.is_empty() {
                            self.plan.notes.push(format!(
                                "group `{}` differs from the source but the target cannot update groups",
                                cur.name
                            ));
                        }
                        self.plan.push(
                            Action::LinkGroup(Box::new(LinkGroup {
                                source_id: g.id.clone(),
                                id: cur.id.clone(),
                                name: cur.name.clone(),
                                fingerprint: fp,
                            })),
                            vec![],
                        );
                    }
                }
                None => {
                    if !self.caps.groups_create {
                        cannot_create += 1;
                        continue;
                    }
                    let op = self.plan.push(
                        Action::CreateGroup(Box::new(CreateGroup {
                            source_id: g.id.clone(),
                            group: NewGroup {
                                name: name.clone(),
                                description,
                            },
                            fingerprint: fp,
                        })),
                        vec![],
                    );
                    self.groups.refs[i] = Some(Arc::new(GroupRef {
                        at: Ref::Created(op),
                        name: Arc::from(name.as_str()),
                    }));
                }
            }
        }
        if cannot_create > 0 {
            self.plan.notes.push(format!(
                "{cannot_create} source group(s) have no counterpart and the target cannot create groups"
            ));
        }
        if unkept_descriptions > 0 {
            self.plan.notes.push(format!(
                "{unkept_descriptions} group description(s) are not synced: the platform has no group descriptions"
            ));
        }
        self.groups.matched = Some(gm);
    }

    pub(super) fn orphan_groups(&mut self) {
        let Some(gm) = self.groups.matched.take() else {
            return;
        };
        let tgroups = &self.input.state.groups;
        for (t, source_id) in &gm.orphans {
            let cur = &tgroups[*t];
            if self.group_protected(cur) {
                continue;
            }
            match self.s.deletion {
                DeletionPolicy::Delete if self.caps.groups_delete => {
                    self.plan.push(
                        Action::DeleteGroup(Box::new(DeleteGroup {
                            source_id: Some(source_id.clone()),
                            id: cur.id.clone(),
                            before: cur.clone(),
                        })),
                        vec![],
                    );
                }
                DeletionPolicy::Ignore => {}
                DeletionPolicy::Delete => self.plan.notes.push(format!(
                    "group `{}` is no longer in the source; it is kept because the target cannot delete groups \
                     (its managed members are removed)",
                    cur.name
                )),
                DeletionPolicy::Disable => self.plan.notes.push(format!(
                    "group `{}` is no longer in the source; it is kept (its managed members are removed; \
                     deletion = \"delete\" deletes it)",
                    cur.name
                )),
            }
        }
        self.groups.matched = Some(gm);
    }
}
