//! Reading a directory from YAML or JSON text (with the nesting and alias limits and the
//! trailer check) and writing it back.

use std::fmt;
use std::io::{BufRead, Write};
use std::path::Path;

use idbridge_core::{Error, Result};

use serde::Serialize;

use super::trailer::{COMPLETE_KEY, Complete, Parsed, Written};
use super::validate::problems_with;
use super::{DirUser, Directory};

/// The serialization of a directory file, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml` or `.yml`.
    Yaml,
    /// `.json`.
    Json,
}

impl Format {
    /// The format a file name implies, or `None` for an unknown extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("yaml" | "yml") => Some(Format::Yaml),
            Some("json") => Some(Format::Json),
            _ => None,
        }
    }

    pub(crate) fn for_path(path: &Path) -> Result<Format> {
        Format::from_path(path).ok_or_else(|| {
            Error::config(format!(
                "directory file `{}`: unknown format: the name must end in .yaml, .yml or .json",
                path.display()
            ))
        })
    }
}

impl Directory {
    /// Reads and validates a file; the format follows the extension (`.yaml`, `.yml`,
    /// `.json`). A [`Complete`] trailer is checked when the file has one, not required;
    /// see [`Directory::load_checked`].
    ///
    /// # Errors
    /// [`ErrorKind::Config`](idbridge_core::ErrorKind::Config) naming the file when it is missing, unreadable, has an unknown
    /// extension, cannot be parsed (with the key path and line/column), passes a nesting or
    /// alias limit, has a trailer its records do not match, or fails
    /// [`Directory::validate`] (naming each offending record).
    pub fn load(path: &Path) -> Result<Directory> {
        Directory::load_checked(path, false)
    }

    /// [`Directory::load`], refusing with `require_complete` a file that lacks the
    /// [`Complete`] trailer.
    ///
    /// # Errors
    /// As [`Directory::load`], and [`ErrorKind::Config`](idbridge_core::ErrorKind::Config) for a missing trailer when it is
    /// required.
    pub fn load_checked(path: &Path, require_complete: bool) -> Result<Directory> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "directory file `{}`: cannot read: {e}",
                path.display()
            ))
            .with_source(e)
        })?;
        Directory::from_file_text(path, &text, require_complete)
    }

    /// Parses (checking the trailer) and validates the text read from `path`.
    pub(crate) fn from_file_text(
        path: &Path,
        text: &str,
        require_complete: bool,
    ) -> Result<Directory> {
        Directory::packed_from_file_text(path, text, require_complete).map(Parsed::into_directory)
    }

    /// [`Directory::from_file_text`] with the users left packed, as the adapter holds
    /// them.
    pub(crate) fn packed_from_file_text(
        path: &Path,
        text: &str,
        require_complete: bool,
    ) -> Result<Parsed> {
        let format = Format::for_path(path)?;
        let origin = format!("directory file `{}`", path.display());
        let parsed = Directory::parse_packed(text, format, &origin, require_complete)?;
        let problems = problems_with(&parsed.users, &parsed.directory);
        Directory::problems_to_result(problems)
            .map_err(|e| Error::config(format!("{origin}: {}", e.message())))?;
        Ok(parsed)
    }

    /// Parses a document without validating it. `origin_name` (a file name or
    /// `seed directory`) starts every error message. A [`Complete`] trailer is checked
    /// when present.
    ///
    /// An empty or whitespace-only text is an empty directory.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](idbridge_core::ErrorKind::Config) naming the origin, the key path (`users[3].emial`) and, where
    /// the parser knows it, the line and column; or naming the nesting or alias limit a
    /// YAML text passes ([`crate::limits`]), or the trailer counts that do not match.
    pub fn parse(text: &str, format: Format, origin_name: &str) -> Result<Directory> {
        Directory::parse_checked(text, format, origin_name, false)
    }

    /// [`Directory::parse`], refusing with `require_complete` a text without the
    /// [`Complete`] trailer (an empty text included): a file cut off while it was being
    /// written must not be read as a directory that lost its last records.
    ///
    /// # Errors
    /// As [`Directory::parse`], and [`ErrorKind::Config`](idbridge_core::ErrorKind::Config) for a missing trailer when it is
    /// required.
    pub fn parse_checked(
        text: &str,
        format: Format,
        origin_name: &str,
        require_complete: bool,
    ) -> Result<Directory> {
        Directory::parse_packed(text, format, origin_name, require_complete)
            .map(Parsed::into_directory)
    }

    /// [`Directory::parse_checked`] with the users left packed.
    pub(crate) fn parse_packed(
        text: &str,
        format: Format,
        origin_name: &str,
        require_complete: bool,
    ) -> Result<Parsed> {
        // JSON's whitespace is ASCII only, as the streamed reader sees it.
        let blank = match format {
            Format::Yaml => text.trim().is_empty(),
            Format::Json => text.bytes().all(|b| b.is_ascii_whitespace()),
        };
        let parsed = if blank {
            Parsed::empty()
        } else {
            Directory::parse_document(text, format, origin_name)?
        };
        check_trailer(parsed, origin_name, require_complete)
    }

    /// [`Directory::packed_from_file_text`] for a JSON file read as it is parsed: the
    /// text is never held whole, the users are packed a record at a time.
    ///
    /// # Errors
    /// As [`Directory::packed_from_file_text`]; an I/O error while reading is reported
    /// as the parser's error at the point it happened.
    pub(crate) fn packed_from_json_reader(
        path: &Path,
        reader: &mut impl BufRead,
        require_complete: bool,
    ) -> Result<Parsed> {
        let origin = format!("directory file `{}`", path.display());
        let parsed = parse_json_reader(reader, &origin, require_complete)?;
        Directory::problems_to_result(problems_with(&parsed.users, &parsed.directory))
            .map_err(|e| Error::config(format!("{origin}: {}", e.message())))?;
        Ok(parsed)
    }

    /// [`Directory::parse_checked`] of JSON read from `reader` as it is parsed, a record
    /// at a time, without holding the text: what the adapter does with a `.json` file.
    /// Reads the same directories as [`Directory::parse_checked`] with [`Format::Json`]
    /// and refuses the same texts.
    ///
    /// # Errors
    /// As [`Directory::parse_checked`]; a read error is reported as a parse error at the
    /// point it happened.
    pub fn parse_json_reader(
        mut reader: impl BufRead,
        origin_name: &str,
        require_complete: bool,
    ) -> Result<Directory> {
        parse_json_reader(&mut reader, origin_name, require_complete).map(Parsed::into_directory)
    }
}

/// [`Directory::parse_json_reader`], the users packed.
fn parse_json_reader(
    reader: &mut impl BufRead,
    origin: &str,
    require_complete: bool,
) -> Result<Parsed> {
    let blank = only_whitespace(reader)
        .map_err(|e| Error::config(format!("{origin}: cannot read: {e}")).with_source(e))?;
    let parsed = if blank {
        Parsed::empty()
    } else {
        super::chunked::parse(reader, origin)?
    };
    check_trailer(parsed, origin, require_complete)
}

/// What [`parse_json_reader`] did before it read records from slices: the parser on the
/// stream. The reference the chunked reader is held to in tests (the same directories,
/// the same refusals).
#[cfg(test)]
pub(super) fn parse_json_stream_reference(
    reader: &mut impl BufRead,
    origin: &str,
    require_complete: bool,
) -> Result<Directory> {
    let blank = only_whitespace(reader)
        .map_err(|e| Error::config(format!("{origin}: cannot read: {e}")).with_source(e))?;
    let parsed = if blank {
        Parsed::empty()
    } else {
        let mut de = serde_json::Deserializer::from_reader(&mut *reader);
        let parsed: Parsed = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            Error::config(explain_parser_limit(describe_at(
                origin,
                err.path(),
                err.inner(),
            )))
        })?;
        de.end()
            .map_err(|e| Error::config(format!("{origin}: trailing content: {e}")))?;
        parsed
    };
    check_trailer(parsed, origin, require_complete).map(Parsed::into_directory)
}

/// Whether what is left to read is only whitespace (an empty file reads as an empty
/// directory); reads past the leading whitespace, no further.
fn only_whitespace(reader: &mut impl BufRead) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        let blank = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let all = blank == buf.len();
        reader.consume(blank);
        if !all {
            return Ok(false);
        }
    }
}

/// Checks the [`Complete`] trailer of what was parsed (see [`Directory::parse_checked`]).
fn check_trailer(parsed: Parsed, origin_name: &str, require_complete: bool) -> Result<Parsed> {
    {
        match parsed.complete {
            Some(promised) => {
                let found = parsed.found();
                if promised != found {
                    let mut wrong = Vec::new();
                    for (what, p, f) in [
                        ("users", promised.users, found.users),
                        ("groups", promised.groups, found.groups),
                        ("roles", promised.roles, found.roles),
                        ("grants", promised.grants, found.grants),
                    ] {
                        if p != f {
                            wrong.push(format!("{p} {what} but the file holds {f}"));
                        }
                    }
                    return Err(Error::config(format!(
                        "{origin_name}: incomplete or altered: its `{COMPLETE_KEY}` trailer \
                         counts {}; refusing to read it",
                        wrong.join(", ")
                    )));
                }
            }
            None if require_complete => {
                let found = parsed.found();
                return Err(Error::config(format!(
                    "{origin_name}: incomplete: the file does not end with the \
                     `{COMPLETE_KEY}` trailer (`{COMPLETE_KEY}: {{users: N, groups: N, roles: N, \
                     grants: N}}`), so it may have been cut off while being written; refusing \
                     to read it (as read it holds {} users, {} groups, {} roles and {} grants; \
                     an exporter writes the trailer last; `require_complete = false` reads \
                     files without one)",
                    found.users, found.groups, found.roles, found.grants
                )));
            }
            None => {}
        }
        Ok(parsed)
    }
}

impl Directory {
    fn parse_document(text: &str, format: Format, origin_name: &str) -> Result<Parsed> {
        let describe = |path: &serde_path_to_error::Path, inner: &dyn fmt::Display| {
            describe_at(origin_name, path, inner)
        };
        match format {
            Format::Yaml => {
                crate::limits::check_yaml(text)
                    .map_err(|e| Error::config(format!("{origin_name}: {e}")))?;
                let de = serde_norway::Deserializer::from_str(text);
                serde_path_to_error::deserialize(de).map_err(|err| {
                    let msg = describe(err.path(), err.inner());
                    let msg = explain_parser_limit(msg);
                    let msg = match err.inner().location() {
                        // The parser's own text usually carries the position already.
                        Some(loc) if !msg.contains("line ") => {
                            format!("{msg} (line {}, column {})", loc.line(), loc.column())
                        }
                        _ => msg,
                    };
                    Error::config(msg)
                })
            }
            Format::Json => {
                let mut de = serde_json::Deserializer::from_str(text);
                let dir: Parsed = serde_path_to_error::deserialize(&mut de).map_err(|err| {
                    let msg = describe(err.path(), err.inner());
                    Error::config(explain_parser_limit(msg))
                })?;
                de.end()
                    .map_err(|e| Error::config(format!("{origin_name}: trailing content: {e}")))?;
                Ok(dir)
            }
        }
    }

    /// Serializes the document in `format`.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`](idbridge_core::ErrorKind::Protocol) if the serializer fails (it does not for valid documents).
    /// The text ends with the [`Complete`] trailer.
    pub fn to_text(&self, format: Format) -> Result<String> {
        let written = self.written();
        match format {
            Format::Yaml => serde_norway::to_string(&written)
                .map_err(|e| Error::protocol(format!("cannot serialize the directory: {e}"))),
            Format::Json => serde_json::to_string_pretty(&written)
                .map(|mut s| {
                    s.push('\n');
                    s
                })
                .map_err(|e| Error::protocol(format!("cannot serialize the directory: {e}"))),
        }
    }
}

impl Directory {
    /// What is written: the records and the trailer counting them.
    fn written(&self) -> Written<'_, [DirUser]> {
        written(self.users.as_slice(), self.users.len(), self)
    }
}

/// What is written for the `count` users `users` and the other records of `rest` (whose
/// own users are not written).
fn written<'a, U: Serialize + ?Sized>(
    users: &'a U,
    count: usize,
    rest: &'a Directory,
) -> Written<'a, U> {
    Written {
        users,
        groups: &rest.groups,
        roles: &rest.roles,
        grants: &rest.grants,
        complete: Complete {
            users: count,
            ..Complete::of(rest)
        },
    }
}

/// Writes the document of the `count` users `users` and the other records of `rest` in
/// `format` to `out`, as it is serialized: the text [`Directory::to_text`] gives.
///
/// # Errors
/// `out`'s error, or the serializer's as [`std::io::ErrorKind::Other`].
pub(crate) fn write_document<U: Serialize + ?Sized>(
    users: &U,
    count: usize,
    rest: &Directory,
    format: Format,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let written = written(users, count, rest);
    match format {
        Format::Yaml => serde_norway::to_writer(&mut *out, &written).map_err(std::io::Error::other),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &written)?;
            out.write_all(b"\n")
        }
    }
}

/// A parser's error with the origin and the key path it happened at.
fn describe_at(
    origin_name: &str,
    path: &serde_path_to_error::Path,
    inner: &dyn fmt::Display,
) -> String {
    let path = path.to_string();
    let mut inner = inner.to_string();
    // The YAML parser starts its message with (part of) the path; say it once.
    if let Some((head, rest)) = inner.split_once(": ")
        && !head.contains(' ')
        && path.starts_with(head)
    {
        inner = rest.to_string();
    }
    if path == "." || path.is_empty() {
        format!("{origin_name}: {inner}")
    } else {
        format!("{origin_name}: at `{path}`: {inner}")
    }
}

/// Adds what the parsers' own limits mean to their terse messages.
pub(super) fn explain_parser_limit(msg: String) -> String {
    if msg.contains("recursion limit exceeded") {
        format!(
            "{msg} (the document nests deeper than the parser's recursion limit of 128 \
             levels; a directory file needs only a few)"
        )
    } else if msg.contains("repetition limit exceeded") {
        format!("{msg} (the YAML aliases expand past the parser's repetition limit)")
    } else {
        msg
    }
}
