//! Changing packed users in place: what a `file` target's writes do, so that a target
//! holds its users packed while it is written, as a source does while it is read.
//!
//! The text and the group lists only grow: a changed field is appended and the row points
//! at it, a changed group list is appended whole. A row is small and `Copy`, so the undo
//! record of a change is the row as it was (`crate::draft`), which still points at the old
//! text. What no row points at any more is dead; [`PackedUsers::compact`], once nothing can
//! be undone, rebuilds the buffers when the dead part outgrows the live one.

use std::collections::BTreeMap;

use super::{ABSENT, PackedUsers, Row, Span, too_large};
use crate::format::DirUser;

impl PackedUsers {
    /// Makes the lookup of group names by name (dropped by `finish` for reading) ready
    /// for writes; a no-op once it is.
    pub(crate) fn make_writable(&mut self) {
        if self.numbers.len() < self.names.len() {
            self.numbers = self
                .names
                .iter()
                .enumerate()
                .map(|(n, name)| (name.clone(), n as u32))
                .collect();
        }
    }

    /// The number of group name `name`, adding it to the names when new.
    ///
    /// # Errors
    /// A message when there are more than 4 billion names.
    pub(crate) fn group_number(&mut self, name: &str) -> Result<u32, String> {
        self.number(name)
    }

    /// The numbers of the group names user `i` lists, in order.
    pub(crate) fn group_numbers(&self, i: usize) -> &[u32] {
        let (start, len) = self
            .rows
            .get(i)
            .map_or((0, 0), |r| (r.groups_start as usize, r.groups_len as usize));
        self.groups.get(start..start + len).unwrap_or_default()
    }

    /// The id a row points at.
    pub(crate) fn id_of(&self, row: &Row) -> &str {
        self.get(row.id)
    }

    /// The login a row points at.
    pub(crate) fn login_of(&self, row: &Row) -> &str {
        self.get(row.login)
    }

    /// Puts back row `row` as user `i`'s.
    pub(crate) fn set_row(&mut self, i: usize, row: Row) {
        if let Some(r) = self.rows.get_mut(i) {
            *r = row;
        }
    }

    /// Removes the last user's row.
    pub(crate) fn pop_row(&mut self) -> Option<Row> {
        self.rows.pop()
    }

    /// Puts back a removed row at position `i`, moving the later ones down.
    pub(crate) fn insert_row(&mut self, i: usize, row: Row) {
        let i = i.min(self.rows.len());
        self.rows.insert(i, row);
    }

    /// Removes user `i`, moving the later ones up; returns its row.
    pub(crate) fn remove_row(&mut self, i: usize) -> Option<Row> {
        (i < self.rows.len()).then(|| self.rows.remove(i))
    }

    /// Gives user `i` the group names numbered `numbers`; returns the row as it was.
    ///
    /// # Errors
    /// A message when the lists pass what 32-bit positions address.
    pub(crate) fn set_group_numbers(&mut self, i: usize, numbers: &[u32]) -> Result<Row, String> {
        let was = self
            .rows
            .get(i)
            .copied()
            .ok_or_else(|| format!("no user {i}"))?;
        let (start, len) = self.append_groups(numbers, &was)?;
        if let Some(r) = self.rows.get_mut(i) {
            r.groups_start = start;
            r.groups_len = len;
        }
        Ok(was)
    }

    /// Appends the group list `numbers`, replacing `was`'s (now dead); returns where it
    /// lies.
    fn append_groups(&mut self, numbers: &[u32], was: &Row) -> Result<(u32, u32), String> {
        let start = u32::try_from(self.groups.len()).map_err(|_| too_large())?;
        let len = u32::try_from(numbers.len()).map_err(|_| too_large())?;
        start.checked_add(len).ok_or_else(too_large)?;
        self.groups.extend_from_slice(numbers);
        self.dead += was.groups_len as usize * 4;
        self.dead_groups += was.groups_len as usize;
        Ok((start, len))
    }

    /// Makes user `i` the record `u`, appending only the fields that changed; returns the
    /// row as it was.
    ///
    /// # Errors
    /// A message when the text or the lists pass 4 GiB.
    pub(crate) fn replace(&mut self, i: usize, u: &DirUser) -> Result<Row, String> {
        let was = self
            .rows
            .get(i)
            .copied()
            .ok_or_else(|| format!("no user {i}"))?;
        let mut row = was;
        row.id = self.keep_or_push(was.id, Some(&u.id))?;
        row.login = self.keep_or_push(was.login, Some(&u.login))?;
        row.email = self.keep_or_push(was.email, u.email.as_deref())?;
        row.display_name = self.keep_or_push(was.display_name, u.display_name.as_deref())?;
        row.enabled = u.enabled;
        let numbers = u
            .groups
            .iter()
            .map(|g| self.number(g))
            .collect::<Result<Vec<u32>, String>>()?;
        if numbers.as_slice() != self.group_numbers(i) {
            (row.groups_start, row.groups_len) = self.append_groups(&numbers, &was)?;
        }
        if *self.attributes_of(&was) != u.attributes {
            row.attributes = self.push_attributes(u.attributes.clone())?;
        }
        if let Some(r) = self.rows.get_mut(i) {
            *r = row;
        }
        Ok(was)
    }

    /// `span` when it already holds `value`, else `value` appended.
    fn keep_or_push(&mut self, span: Span, value: Option<&str>) -> Result<Span, String> {
        if self.get_opt(span) == value {
            return Ok(span);
        }
        if span.len != ABSENT {
            self.dead += span.len as usize;
        }
        self.push_opt(value)
    }

    fn attributes_of(&self, r: &Row) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        if r.attributes == ABSENT {
            return &EMPTY;
        }
        self.attributes.get(r.attributes as usize).unwrap_or(&EMPTY)
    }

    /// Rebuilds the buffers from the rows when more than half of them is dead (see the
    /// module documentation). Only while no row kept for an undo points into them.
    pub(crate) fn compact(&mut self) {
        let live = self.text.len() + self.groups.len() * 4;
        if self.dead * 2 <= live {
            // Each membership change appends its user's whole list, so the lists die
            // faster than the text: they alone are rebuilt, a pass over the rows, once a
            // third of them is dead (a first sync's memberships would otherwise leave
            // three lists' worth of entries for each one live).
            if self.dead_groups * 3 > self.groups.len() {
                self.compact_groups();
            }
            return;
        }
        let mut fresh = PackedUsers::new();
        for i in 0..self.len() {
            let Some(u) = self.dir_user(i) else { return };
            // The same records in fewer bytes fit where they fitted; were they not to,
            // the buffers stay as they are.
            if fresh.push(u).is_err() {
                return;
            }
        }
        *self = fresh;
    }

    /// Rebuilds `groups` from the rows, leaving out what no row points at.
    fn compact_groups(&mut self) {
        let list = |r: &Row| r.groups_start as usize..(r.groups_start + r.groups_len) as usize;
        if self.rows.iter().any(|r| self.groups.get(list(r)).is_none()) {
            return;
        }
        let mut fresh =
            Vec::with_capacity(self.groups.len() - self.dead_groups.min(self.groups.len()));
        for row in &mut self.rows {
            let range = list(row);
            // Fewer entries than before, so the positions still fit in 32 bits.
            row.groups_start = fresh.len() as u32;
            fresh.extend_from_slice(&self.groups[range]);
        }
        self.groups = fresh;
        self.dead = self.dead.saturating_sub(self.dead_groups * 4);
        self.dead_groups = 0;
    }
}

#[cfg(test)]
mod tests;
