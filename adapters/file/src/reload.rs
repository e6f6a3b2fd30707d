//! Reading the directory file with the metadata it had, so that a change by someone else
//! is noticed: what was seen ([`Seen`]) is compared with the file's metadata ([`Stat`])
//! and, while the metadata cannot prove anything, with a hash of its bytes.
//!
//! Every read is bounded (`max_file_bytes`, [`DEFAULT_MAX_FILE_BYTES`]) and refuses
//! anything but a regular file, so a wrong path (`/dev/zero`, a FIFO) cannot exhaust
//! memory or hang.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::{Duration, SystemTime};

use idbridge_core::files::{ReadError, kind_of, read_regular};
use idbridge_core::{Error, Result};

use crate::format::{Directory, Format, Parsed, io_error};

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

/// A hash of the file's bytes, for the changes its metadata cannot show: the same
/// whether the bytes are hashed at once or as they are read ([`Hashing`]).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(bytes);
    h.finish()
}

/// A reader that hashes (as [`hash_bytes`]) and counts the bytes passing through it.
struct Hashing<R> {
    inner: R,
    hasher: DefaultHasher,
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.hasher.write(got);
        self.read += got.len() as u64;
        Ok(n)
    }
}

/// Opens the file for a streamed read, refusing anything but a regular file of at most
/// `limit` bytes (as [`read_regular`] does); the reader stops one byte past the bound.
fn open_bounded(path: &Path, limit: u64) -> Result<Hashing<std::io::Take<std::fs::File>>> {
    let refuse = |e: ReadError| read_error(path, e);
    let meta = std::fs::metadata(path).map_err(|e| refuse(ReadError::Io(e)))?;
    if !meta.is_file() {
        return Err(refuse(ReadError::NotRegular(kind_of(meta.file_type()))));
    }
    if meta.len() > limit {
        return Err(refuse(ReadError::TooLarge { limit }));
    }
    let file = std::fs::File::open(path).map_err(|e| refuse(ReadError::Io(e)))?;
    // The path may have been replaced between the two looks.
    let opened = file.metadata().map_err(|e| refuse(ReadError::Io(e)))?;
    if !opened.is_file() {
        return Err(refuse(ReadError::NotRegular(kind_of(opened.file_type()))));
    }
    Ok(Hashing {
        inner: file.take(limit.saturating_add(1)),
        hasher: DefaultHasher::new(),
        read: 0,
    })
}

/// What the file holds now, without keeping its bytes: its metadata and the hash of its
/// bytes (at most `limit`).
///
/// # Errors
/// As [`read_file`].
pub(crate) fn hash_file(path: &Path, limit: u64) -> Result<Seen> {
    let at = SystemTime::now();
    let mut reader = open_bounded(path, limit)?;
    std::io::copy(&mut reader, &mut std::io::sink())
        .map_err(|e| io_error(path, "cannot read", e))?;
    if reader.read > limit {
        return Err(read_error(path, ReadError::TooLarge { limit }));
    }
    let stat = Stat::of(path).map_err(|e| io_error(path, "cannot read", e))?;
    Ok(Seen {
        stat,
        hash: reader.hasher.finish(),
        at,
    })
}

/// Reads, parses and validates the directory file (at most `limit` bytes) with the
/// metadata it had, its users packed. A JSON file is parsed as it is read, a record at a
/// time, so its text is never held whole (a YAML file is: its parser needs the text). A
/// file that changes while it is read is read again (a few times).
///
/// # Errors
/// As [`read_file`], and the file's parse, trailer and validation errors
/// ([`Directory::packed_from_file_text`]).
pub(crate) fn read_parsed(
    path: &Path,
    limit: u64,
    require_complete: bool,
) -> Result<(Parsed, Seen)> {
    if Format::for_path(path)? == Format::Yaml {
        let (text, seen) = read_file(path, limit)?;
        let parsed = Directory::packed_from_file_text(path, &text, require_complete)?;
        return Ok((parsed, seen));
    }
    let mut attempts = 0;
    loop {
        let at = SystemTime::now();
        let before = Stat::of(path).map_err(|e| io_error(path, "cannot read", e))?;
        let mut reader = BufReader::with_capacity(1 << 16, open_bounded(path, limit)?);
        let parsed = Directory::packed_from_json_reader(path, &mut reader, require_complete);
        let hashing = reader.into_inner();
        if hashing.read > limit {
            return Err(read_error(path, ReadError::TooLarge { limit }));
        }
        let after = Stat::of(path).map_err(|e| io_error(path, "cannot read", e))?;
        attempts += 1;
        if before == after || attempts >= 3 {
            let seen = Seen {
                stat: after,
                hash: hashing.hasher.finish(),
                at,
            };
            return Ok((parsed?, seen));
        }
    }
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
    read_regular(path, limit).map_err(|e| read_error(path, e))
}

/// A refused or failed read, naming the file.
fn read_error(path: &Path, e: ReadError) -> Error {
    match e {
        ReadError::Io(e) => io_error(path, "cannot read", e),
        ReadError::TooLarge { .. } => Error::config(format!(
            "directory file `{}`: {e} (`max_file_bytes`); raise `max_file_bytes` if the \
             directory really is that large",
            path.display()
        )),
        e @ ReadError::NotRegular(_) => {
            Error::config(format!("directory file `{}`: {e}", path.display()))
        }
    }
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

    #[test]
    fn a_file_hashed_as_it_is_read_hashes_as_its_bytes_at_once() {
        // Writes and saves hash whole texts, reads hash what streams by: the two must agree
        // or every read would look like someone else's change.
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("d.json");
        let bytes: Vec<u8> = (0..300_001u32).map(|i| (i * 7919 % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("writes");
        let seen = hash_file(&path, 1 << 20).expect("hashes");
        assert_eq!(seen.hash, hash_bytes(&bytes));
        assert_ne!(seen.hash, hash_bytes(&bytes[..bytes.len() - 1]));
        let err = hash_file(&path, 1000).expect_err("past the bound");
        assert!(err.to_string().contains("larger than 1000 bytes"), "{err}");
    }
}
