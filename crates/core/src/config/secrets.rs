//! Secrets kept in files (`<key>_file`), and bounded reads of files the configuration
//! names.

use std::path::Path;

use serde_json::Value;

use super::AdapterConfig;
use crate::Result;

/// The largest secret file read: 64 KiB, far more than any password, key or token, and
/// small enough that a wrong path (`/dev/zero`, a log file) cannot exhaust memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reads a secret file of at most [`MAX_SECRET_FILE_BYTES`] bytes; the error says what is
/// wrong without showing any of the contents.
pub(crate) fn read_secret_file(path: &Path) -> std::result::Result<String, String> {
    let bytes = read_bounded(path, MAX_SECRET_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// Reads at most `limit` bytes of a file named by the configuration, never more (so a
/// device such as `/dev/zero` is refused at once); the error says what is wrong without
/// showing any of the contents.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::result::Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "larger than {} KiB; is it the right file?",
            limit / 1024
        ));
    }
    Ok(bytes)
}

impl AdapterConfig {
    /// Replaces each `<key>_file` for the secret keys in `secret_keys` by `<key>` holding
    /// the file's contents (trailing newline removed).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Config`] naming the key and the file when both `<key>` and
    /// `<key>_file` are given, the file cannot be read, is larger than
    /// [`MAX_SECRET_FILE_BYTES`] (never read further, so `/dev/zero` is refused at once) or
    /// is not UTF-8 text, or the value is not a path.
    pub fn resolve_secret_files(&mut self, secret_keys: &[&str]) -> Result<()> {
        for key in secret_keys {
            let file_key = format!("{key}_file");
            let Some(value) = self.settings.remove(&file_key) else {
                continue;
            };
            if self.settings.contains_key(*key) {
                return Err(self.error(
                    &file_key,
                    format!("give either `{key}` or `{file_key}`, not both"),
                ));
            }
            let Value::String(path) = value else {
                return Err(self.error(&file_key, "expected a file path (a string)"));
            };
            let full = self.resolve_path(Path::new(&path));
            let text = read_secret_file(&full).map_err(|problem| {
                self.error(
                    &file_key,
                    format!("secret file `{}`: {problem}", full.display()),
                )
            })?;
            let text = text.trim_end_matches(['\r', '\n']).to_string();
            self.settings
                .insert((*key).to_string(), Value::String(text));
        }
        Ok(())
    }
}
