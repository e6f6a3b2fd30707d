//! The atomic save: write a temporary file beside the target, fsync, rename, fsync the
//! directory.

use std::hash::{DefaultHasher, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use idbridge_core::{Error, ErrorKind, Result};

use serde::Serialize;

use super::parse::write_document;
use super::{Directory, Format};

impl Directory {
    /// Validates the document and writes it to `path` atomically, in the format the
    /// extension implies: a temporary file in the same directory is written and fsynced,
    /// renamed over `path`, and the directory is fsynced. Readers see the old file or the
    /// new one, never a mix; after a crash at any point the old file is intact. An existing
    /// file's permissions are kept.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the document is invalid (nothing is written);
    /// [`ErrorKind::Config`] for an unknown extension; [`ErrorKind::PermissionDenied`] or
    /// [`ErrorKind::Unavailable`] when the file system refuses (the old file is intact and
    /// no temporary file is left behind).
    pub fn save_atomic(&self, path: &Path) -> Result<()> {
        self.save_atomic_with(path, &mut |_| Ok(())).map(|_| ())
    }

    /// [`Directory::save_atomic`] with a hook called at each step, so tests can simulate a
    /// failure at any point; returns the hash of what was written (as
    /// `reload::hash_bytes` hashes the file's bytes).
    pub(crate) fn save_atomic_with(
        &self,
        path: &Path,
        hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    ) -> Result<u64> {
        self.validate()?;
        self.save_valid_with(path, hook)
    }

    /// [`Directory::save_atomic_with`] for a document the caller has just validated: a
    /// rewrite validates once, before it decides which writes it carries. The text is
    /// written as it is serialized, never held whole: a file of a million users is
    /// hundreds of megabytes.
    pub(crate) fn save_valid_with(
        &self,
        path: &Path,
        hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    ) -> Result<u64> {
        save_document_with(self.users.as_slice(), self.users.len(), self, path, hook)
    }
}

/// [`Directory::save_valid_with`] for the document of the `count` users `users` and the
/// other records of `rest` (the users of a `file` target are held packed).
pub(crate) fn save_document_with<U: Serialize + ?Sized>(
    users: &U,
    count: usize,
    rest: &Directory,
    path: &Path,
    hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
) -> Result<u64> {
    let format = Format::for_path(path)?;
    let mut write = |out: &mut dyn Write| write_document(users, count, rest, format, out);
    write_atomic(path, &mut write, hook).map_err(|e| io_error(path, "cannot save", e))
}

/// Points in an atomic save at which a test hook may inject a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveStep {
    /// The temporary file has been created and half the bytes written.
    PartlyWritten,
    /// The temporary file is complete and fsynced, not yet renamed.
    BeforeRename,
}

/// Maps an I/O error to an idbridge error naming the file.
pub(crate) fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Unavailable,
    };
    Error::new(
        kind,
        format!("directory file `{}`: {what}: {e}", path.display()),
    )
    .with_retryable(false)
    .with_source(e)
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "directory".to_string());
    let unique = uuid::Uuid::new_v4().simple();
    path.with_file_name(format!(".{name}.{unique}.tmp"))
}

/// Writes the temporary file through `write`, fsyncs it, renames it over `path` and
/// fsyncs the directory; returns the hash of the bytes written.
fn write_atomic(
    path: &Path,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the mode of the file being replaced; a failure here is not fatal.
            let _ = file.set_permissions(meta.permissions());
        }
        let mut out = BufWriter::with_capacity(
            WRITE_BUFFER,
            Tracked {
                file,
                hasher: DefaultHasher::new(),
                hook: &mut *hook,
                partly: false,
            },
        );
        write(&mut out)?;
        let Tracked {
            file,
            hasher,
            partly,
            ..
        } = out.into_inner().map_err(|e| e.into_error())?;
        if !partly {
            // Too little text to split: the step comes once it is all written.
            hook(SaveStep::PartlyWritten)?;
        }
        file.sync_all()?;
        drop(file);
        hook(SaveStep::BeforeRename)?;
        std::fs::rename(&tmp, path)?;
        Ok(hasher.finish())
    })();
    let hash = match result {
        Ok(hash) => hash,
        Err(e) => {
            // The temporary file is garbage now; the target was never touched.
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    sync_parent(path)?;
    Ok(hash)
}

/// How much text is gathered before it is written to the file.
const WRITE_BUFFER: usize = 1 << 20;

/// The temporary file being written: hashes what reaches it, and calls the hook with
/// [`SaveStep::PartlyWritten`] once part of the text is in the file (half of the first
/// buffer written).
struct Tracked<'a> {
    file: std::fs::File,
    hasher: DefaultHasher,
    hook: &'a mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    /// Whether the hook was called.
    partly: bool,
}

impl Write for Tracked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = if !self.partly && buf.len() > 1 {
            let half = &buf[..buf.len() / 2];
            self.file.write_all(half)?;
            self.partly = true;
            (self.hook)(SaveStep::PartlyWritten)?;
            half.len()
        } else {
            self.file.write(buf)?
        };
        self.hasher.write(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for fsync on this platform; the rename is still atomic.
    Ok(())
}
