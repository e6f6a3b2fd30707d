//! Look-alike names: values that would be unsafe to write to a target (control, zero-width
//! or bidirectional characters) and values of different source records that a target
//! would take for one (equal once Unicode-normalised and case-folded, [`norm_key`]).
//!
//! Used for logins, e-mail addresses and group names alike, so that each is refused and
//! reported the same way: by record, with the code points that tell the values apart.

use std::borrow::Cow;
use std::collections::BTreeMap;

use std::hash::BuildHasher;

use idbridge_core::text::{Escaped, escape, is_unsafe};

use crate::util::norm_key;

/// What [`check`] found among the values of one field.
#[derive(Debug, Default)]
pub(super) struct Checked {
    /// Records whose value holds an unsafe character, with the reason to show.
    pub unsafe_values: Vec<(usize, String)>,
    /// Records whose values collide (in record order, first record first), with the reason
    /// to show; one entry per colliding key.
    pub collisions: Vec<(Vec<usize>, String)>,
}

/// Checks the values of one field (`label`: "login", "e-mail address", ...) of records
/// called `records` ("source users", ...); `None` values are not checked. A record with an
/// unsafe value is not compared with the others.
///
/// Runs on every plan for every target over every source user, so it avoids a hash map of
/// a million keys: it sorts the keys' 64-bit hashes (one pass over contiguous memory) and
/// compares the keys themselves only where two hashes are equal.
pub(super) fn check(values: &[Option<&str>], records: &str, label: &str) -> Checked {
    let mut out = Checked::default();
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut hashed: Vec<(u64, usize)> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        if let Some(reason) = unsafe_reason(label, v) {
            out.unsafe_values.push((i, reason));
            continue;
        }
        hashed.push((hasher.hash_one(norm_key(v).as_ref()), i));
    }
    hashed.sort_unstable();
    // Per colliding key, its first record (in record order) and the others.
    let mut collisions: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for run in hashed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
    {
        // Equal hashes: group by the keys themselves, records in order within a key.
        let mut keyed: Vec<(Cow<'_, str>, usize)> = run
            .iter()
            .map(|&(_, i)| (norm_key(values[i].unwrap_or("")), i))
            .collect();
        keyed.sort_unstable();
        for same in keyed
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|same| same.len() > 1)
        {
            collisions.insert(same[0].1, same[1..].iter().map(|&(_, i)| i).collect());
        }
    }
    for (i, others) in collisions {
        let mut sources = vec![i];
        sources.extend(others);
        let shown: Vec<String> = sources
            .iter()
            .map(|&j| with_code_points(values[j].unwrap_or("")))
            .collect();
        let reason = format!(
            "these {records} have the same {label} `{}` once Unicode-normalised and \
             case-folded: {}; none is applied until the source tells them apart",
            escape(values[i].unwrap_or("")),
            shown.join(", ")
        );
        out.collisions.push((sources, reason));
    }
    out
}

/// Why `value` (of a field called `label`) is never written to a target, if it holds an
/// unsafe character: the first such character, by code point, and the value escaped.
pub(super) fn unsafe_reason(label: &str, value: &str) -> Option<String> {
    let c = value.chars().find(|c| is_unsafe(*c))?;
    Some(format!(
        "{label} `{}` contains U+{:04X}, a control, invisible or bidirectional character \
         that makes one {label} look like another; it is not written to the target",
        Escaped(value),
        u32::from(c)
    ))
}

/// `value` quoted and escaped, followed by its non-ASCII code points (which is where
/// look-alikes differ).
fn with_code_points(value: &str) -> String {
    let points: Vec<String> = value
        .chars()
        .filter(|c| !c.is_ascii())
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    if points.is_empty() {
        format!("`{}`", escape(value))
    } else {
        format!("`{}` ({})", escape(value), points.join(" "))
    }
}
