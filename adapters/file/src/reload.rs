//! Reading the directory file with the metadata it had, so that a change by someone else
//! is noticed: what was seen ([`Seen`]) is compared with the file's metadata ([`Stat`])
//! and, while the metadata cannot prove anything, with a hash of its bytes.
//!
//! Every read is bounded (`max_file_bytes`, [`DEFAULT_MAX_FILE_BYTES`]) and refuses
//! anything but a regular file, so a wrong path (`/dev/zero`, a FIFO) cannot exhaust
//! memory or hang.

use std::path::Path;
use std::time::{Duration, SystemTime};

use idbridge_core::files::{ReadError, read_regular};
use idbridge_core::{Error, Result};

use crate::format::io_error;

/// The largest directory file read unless `max_file_bytes` says otherwise: 4 GiB. A
/// directory of a million users, each in three groups with two attributes, is about
/// 230 MiB as YAML; the bound only stops a wrong path from exhausting memory.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 << 30;

/// How long after a file's last change its metadata alone cannot prove it unchanged: a
/// second write within the file system's timestamp granularity (up to two seconds on
/// some) leaves length and times as they were.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The file's metadata: what changes whenever the file is written or replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    len: u64,
    modified: Option<SystemTime>,
    /// The inode change time and the inode (Unix): a replaced file has a new inode, and
    /// the change time cannot be set back by tools that restore modification times.
    changed: Option<(i64, i64)>,
    inode: Option<(u64, u64)>,
}

impl Stat {
    pub(crate) fn of(path: &Path) -> std::io::Result<Stat> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let (changed, inode) = {
            use std::os::unix::fs::MetadataExt;
            (
                Some((meta.ctime(), meta.ctime_nsec())),
                Some((meta.dev(), meta.ino())),
            )
        };
        #[cfg(not(unix))]
        let (changed, inode) = (None, None);
        Ok(Stat {
            len: meta.len(),
            modified: meta.modified().ok(),
            changed,
            inode,
        })
    }

    /// The latest time the file was changed, as far as the metadata says.
    fn last_change(&self) -> Option<SystemTime> {
        let changed = self.changed.and_then(|(secs, nanos)| {
            let secs = u64::try_from(secs).ok()?;
            let nanos = u32::try_from(nanos).ok()?;
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        });
        match (self.modified, changed) {
            (Some(m), Some(c)) => Some(m.max(c)),
            (m, c) => m.or(c),
        }
    }
}

/// What this adapter knows of the file's content as it last read or wrote it, so that a
/// change by someone else is noticed: reads reload it, writes refuse to overwrite it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) stat: Stat,
    /// A hash of the bytes, for the changes the metadata cannot show.
    pub(crate) hash: u64,
    /// When the bytes were read (or written); taken before the read.
    pub(crate) at: SystemTime,
}

impl Seen {
    /// Whether `now` (the file's current metadata) proves the content is still the one
    /// seen, without reading it: the metadata is the same and the file had last changed
    /// well before it was read, so a later write would have moved its times.
    pub(crate) fn proven_by(&self, now: &Stat) -> bool {
        if &self.stat != now {
            return false;
        }
        match (now.last_change(), self.at.checked_sub(RACY_WINDOW)) {
            (Some(changed), Some(settled)) => changed < settled,
            _ => false,
        }
    }
}

/// A hash of the file's bytes, for the changes its metadata cannot show.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Reads the file's bytes (at most `limit`) with the metadata they belong to. A file that
/// changes while it is read is read again (a few times) so that bytes and metadata agree.
///
/// # Errors
/// [`idbridge_core::ErrorKind::Config`] for something other than a regular file, a file
/// larger than `limit` or not UTF-8; file system errors as they come.
pub(crate) fn read_file(path: &Path, limit: u64) -> Result<(String, Seen)> {
    let mut attempts = 0;
    loop {
        let at = SystemTime::now();
        let before = Stat::of(path).map_err(|e| io_error(path, "cannot read", e))?;
        let bytes = read_bounded(path, limit)?;
        let after = Stat::of(path).map_err(|e| io_error(path, "cannot read", e))?;
        attempts += 1;
        if before == after || attempts >= 3 {
            let text = String::from_utf8(bytes).map_err(|e| {
                Error::config(format!(
                    "directory file `{}`: not UTF-8 text: {e}",
                    path.display()
                ))
            })?;
            let seen = Seen {
                stat: after,
                hash: hash_bytes(text.as_bytes()),
                at,
            };
            return Ok((text, seen));
        }
    }
}

/// The file's bytes, refusing anything but a regular file of at most `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    read_regular(path, limit).map_err(|e| match e {
        ReadError::Io(e) => io_error(path, "cannot read", e),
        ReadError::TooLarge { .. } => Error::config(format!(
            "directory file `{}`: {e} (`max_file_bytes`); raise `max_file_bytes` if the \
             directory really is that large",
            path.display()
        )),
        e @ ReadError::NotRegular(_) => {
            Error::config(format!("directory file `{}`: {e}", path.display()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_changed_at(at: SystemTime) -> Stat {
        Stat {
            len: 10,
            modified: Some(at),
            changed: None,
            inode: None,
        }
    }

    #[test]
    fn metadata_proves_nothing_about_a_file_changed_just_before_it_was_read() {
        let now = SystemTime::now();
        let stat = stat_changed_at(now);
        let seen = Seen {
            stat: stat.clone(),
            hash: 1,
            at: now,
        };
        // Same length and times, but a second write within the same tick would look
        // exactly like this: the content must be compared.
        assert!(!seen.proven_by(&stat));

        let old = stat_changed_at(now - Duration::from_secs(60));
        let seen = Seen {
            stat: old.clone(),
            hash: 1,
            at: now,
        };
        assert!(seen.proven_by(&old));
        let mut longer = old.clone();
        longer.len += 1;
        assert!(!seen.proven_by(&longer));
    }
}
