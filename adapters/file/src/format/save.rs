//! The atomic save: write a temporary file beside the target, fsync, rename, fsync the
//! directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use idbridge_core::{Error, ErrorKind, Result};

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
    /// failure at any point.
    pub(crate) fn save_atomic_with(
        &self,
        path: &Path,
        hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    ) -> Result<String> {
        self.validate()?;
        self.save_valid_with(path, hook)
    }

    /// [`Directory::save_atomic_with`] for a document the caller has just validated: a
    /// rewrite validates once, before it decides which writes it carries.
    pub(crate) fn save_valid_with(
        &self,
        path: &Path,
        hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
    ) -> Result<String> {
        let format = Format::for_path(path)?;
        let text = self.to_text(format)?;
        write_atomic(path, text.as_bytes(), hook).map_err(|e| io_error(path, "cannot save", e))?;
        Ok(text)
    }
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

fn write_atomic(
    path: &Path,
    bytes: &[u8],
    hook: &mut dyn FnMut(SaveStep) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the mode of the file being replaced; a failure here is not fatal.
            let _ = file.set_permissions(meta.permissions());
        }
        let half = bytes.len() / 2;
        file.write_all(&bytes[..half])?;
        hook(SaveStep::PartlyWritten)?;
        file.write_all(&bytes[half..])?;
        file.sync_all()?;
        drop(file);
        hook(SaveStep::BeforeRename)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // The temporary file is garbage now; the target was never touched.
        let _ = std::fs::remove_file(&tmp);
        return result;
    }
    sync_parent(path)
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
