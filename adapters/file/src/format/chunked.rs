//! Reading a JSON directory file a record at a time, each record parsed from a slice.
//!
//! The JSON parser reads a stream a byte at a time (each byte a call on the reader, each
//! string copied byte by byte): reading a 100,000-user file that way took two to three
//! times the processor time this reader takes. A file read whole would cost its size in
//! memory. Here a small scanner finds where each
//! element of the big arrays ends in a buffered window of the file, and the parser reads
//! the element from that slice: slice speed, and memory bounded by one record plus the
//! read buffer.
//!
//! The document's outer structure (the top-level mapping and the arrays of records) is
//! read here, by hand, refusing what the parser refuses; each record (and the trailer) is
//! read by the parser itself, so a record reads and fails as before. Errors name the key
//! path (`users[12345].email`) and the line and column in the file: the parser's
//! position inside the slice is moved by where the slice starts. (The stream parser
//! sometimes named the byte after the one at fault, having looked at it already; this
//! one names the byte itself.)

use std::io::{BufRead, ErrorKind as IoKind};

use idbridge_core::{Error, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::packed::{PackedUsers, UserRecord};
use super::trailer::{COMPLETE_KEY, Complete, Parsed, TOP_LEVEL_KEYS};
use super::{DirGrant, DirGroup, DirRole, DirUser, Directory};

/// Parses the JSON directory document `reader` holds (not blank: the caller has checked),
/// the users packed as they are read. `origin` starts every error message.
///
/// # Errors
/// [`ErrorKind::Config`](idbridge_core::ErrorKind::Config) naming the origin, the key path
/// and the line and column, for whatever the JSON parser would refuse, a key out of place
/// (unknown, repeated, after the trailer), or a read error.
pub(super) fn parse(reader: &mut impl BufRead, origin: &str) -> Result<Parsed> {
    Window::new(reader, origin).document()
}

/// How a value starts, as far as the scanner cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `{` or `[`: ends at the matching close.
    Nested,
    /// `"`: ends at the closing quote.
    Text,
    /// Anything else (numbers, `true`, `null`, garbage): ends before a delimiter.
    Scalar,
}

/// Where a value ends: `len` bytes from the window's position; `whole` is false when the
/// input ended first.
struct Extent {
    len: usize,
    whole: bool,
}

/// The unread part of the file, `buf[pos..]`, with the line and column of `buf[pos]`.
struct Window<'a, R> {
    reader: &'a mut R,
    origin: &'a str,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// The line (from 1) of the next unread byte.
    line: usize,
    /// Bytes read on that line so far: the parser's column of the last byte read.
    col: usize,
}

/// JSON's whitespace (not all of ASCII's: a form feed is not).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a, R: BufRead> Window<'a, R> {
    fn new(reader: &'a mut R, origin: &'a str) -> Self {
        Window {
            reader,
            origin,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            line: 1,
            col: 0,
        }
    }

    /// Moves the unread bytes to the front and appends what the reader has next; false at
    /// the end of the input.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        loop {
            match self.reader.fill_buf() {
                Ok([]) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(chunk) => {
                    let n = chunk.len();
                    self.buf.extend_from_slice(chunk);
                    self.reader.consume(n);
                    return Ok(true);
                }
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::config(format!(
                        "{}: cannot read (at line {} column {}): {e}",
                        self.origin, self.line, self.col
                    ))
                    .with_source(e));
                }
            }
        }
    }

    /// Skips whitespace; the next byte, `None` at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                match b {
                    b'\n' => {
                        self.line += 1;
                        self.col = 0;
                    }
                    b' ' | b'\t' | b'\r' => self.col += 1,
                    _ => return Ok(Some(b)),
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Moves past `n` unread bytes, keeping the line and column.
    fn advance(&mut self, n: usize) {
        let end = (self.pos + n).min(self.buf.len());
        let passed = self.buf.get(self.pos..end).unwrap_or_default();
        match passed.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                self.line += passed.iter().filter(|&&b| b == b'\n').count();
                self.col = passed.len() - last - 1;
            }
            None => self.col += passed.len(),
        }
        self.pos = end;
    }

    /// Where the value starting at the next unread byte (not whitespace) ends; reads on
    /// as far as it needs, never past the value.
    fn extent(&mut self) -> Result<Extent> {
        let shape = match self.buf.get(self.pos) {
            Some(b'{' | b'[') => Shape::Nested,
            Some(b'"') => Shape::Text,
            _ => Shape::Scalar,
        };
        // The opening byte is taken; a scalar's first byte always belongs to it (so that
        // a stray delimiter is one byte the parser can refuse).
        let mut i = 1;
        let mut depth: u32 = u32::from(shape == Shape::Nested);
        let mut in_text = shape == Shape::Text;
        let mut escaped = false;
        loop {
            let avail = self.buf.get(self.pos..).unwrap_or_default();
            while let Some(&b) = avail.get(i) {
                if in_text {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_text = false;
                        if depth == 0 {
                            return Ok(Extent {
                                len: i + 1,
                                whole: true,
                            });
                        }
                    }
                } else if shape == Shape::Scalar {
                    if is_ws(b) || matches!(b, b',' | b']' | b'}' | b'[' | b'{' | b'"' | b':') {
                        return Ok(Extent {
                            len: i,
                            whole: true,
                        });
                    }
                } else {
                    match b {
                        b'"' => in_text = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(Extent {
                                    len: i + 1,
                                    whole: true,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            if !self.fill()? {
                // A scalar may end with the input; the parser says what is wrong with it.
                return Ok(Extent {
                    len: i.min(self.buf.len() - self.pos),
                    whole: shape == Shape::Scalar,
                });
            }
        }
    }

    /// The unread bytes `[0, len)` of the window.
    fn slice(&self, len: usize) -> &[u8] {
        let end = (self.pos + len).min(self.buf.len());
        self.buf.get(self.pos..end).unwrap_or_default()
    }

    /// An error at the next unread byte (the parser's position for what it refuses).
    fn error_here(&self, path: &str, msg: &str) -> Error {
        let col = match self.buf.get(self.pos) {
            Some(b'\n') | None => self.col,
            Some(_) => self.col + 1,
        };
        self.error_at(path, msg, self.line, col)
    }

    fn error_at(&self, path: &str, msg: &str, line: usize, col: usize) -> Error {
        let msg = if path.is_empty() {
            format!("{}: {msg} at line {line} column {col}", self.origin)
        } else {
            format!(
                "{}: at `{path}`: {msg} at line {line} column {col}",
                self.origin
            )
        };
        Error::config(super::parse::explain_parser_limit(msg))
    }

    /// The parser's error for a value starting at the window's position, with its path
    /// below `path` and its position in the file.
    fn value_error(&self, path: &str, inner: &str, e: &serde_json::Error) -> Error {
        let path = match inner {
            "" | "." => path.to_string(),
            p if p.starts_with('[') || path.is_empty() => format!("{path}{p}"),
            p => format!("{path}.{p}"),
        };
        let text = e.to_string();
        if e.line() == 0 {
            // No position (an error of our own, raised through the parser).
            return self.error_here(&path, &text);
        }
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let msg = text.strip_suffix(&suffix).unwrap_or(&text);
        let (line, col) = if e.line() == 1 {
            (self.line, self.col + e.column())
        } else {
            (self.line + e.line() - 1, e.column())
        };
        self.error_at(&path, msg, line, col)
    }

    /// Reads the value at the window's position (found by [`Window::extent`]) as a `T`,
    /// at `path`, and moves past it.
    fn value<T: DeserializeOwned>(&mut self, path: &dyn Fn() -> String) -> Result<T> {
        self.value_with(path, |slice| read::<T>(slice))
    }

    /// Hands the value at the window's position (found by [`Window::extent`]) to `with`,
    /// at `path`, and moves past it.
    fn value_with<V>(
        &mut self,
        path: &dyn Fn() -> String,
        with: impl FnOnce(&[u8]) -> std::result::Result<V, Failure>,
    ) -> Result<V> {
        let extent = self.extent()?;
        let parsed = with(self.slice(extent.len)).map_err(|failure| match failure {
            Failure::Parse { inner, error } => self.value_error(&path(), &inner, &error),
            Failure::Refused(msg) => self.error_here(&path(), &msg),
        })?;
        if !extent.whole {
            // The parser refuses a cut value; this is only a guard.
            return Err(self.error_at(
                &path(),
                "EOF while parsing a value",
                self.line,
                self.col + extent.len,
            ));
        }
        self.advance(extent.len);
        Ok(parsed)
    }

    /// The parser's refusal of the value at the window's position as a `T` (a value of
    /// the wrong type): only its first token is read, as the parser does.
    fn wrong_type<T: DeserializeOwned>(&mut self, path: &str) -> Error {
        let len = match self.buf.get(self.pos) {
            Some(b'{' | b'[') => 1,
            _ => match self.extent() {
                Ok(extent) => extent.len,
                Err(e) => return e,
            },
        };
        match from_slice::<T>(self.slice(len)) {
            Err(e) => self.value_error(path, "", &e),
            Ok(_) => self.error_here(path, "invalid type"),
        }
    }

    /// A `[`-array of `T` at `key`, each element's slice handed to `each` as it is read.
    fn array<T: DeserializeOwned>(
        &mut self,
        key: &str,
        mut each: impl FnMut(&[u8]) -> std::result::Result<(), Failure>,
    ) -> Result<()> {
        match self.peek()? {
            Some(b'[') => self.advance(1),
            Some(_) => return Err(self.wrong_type::<Vec<T>>(key)),
            None => return Err(self.error_here(key, "EOF while parsing a value")),
        }
        if self.peek()? == Some(b']') {
            self.advance(1);
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            if self.peek()?.is_none() {
                return Err(self.error_here(key, "EOF while parsing a list"));
            }
            self.value_with(&|| format!("{key}[{index}]"), &mut each)?;
            match self.peek()? {
                Some(b',') => {
                    self.advance(1);
                    if self.peek()? == Some(b']') {
                        return Err(self.error_here(key, "trailing comma"));
                    }
                }
                Some(b']') => {
                    self.advance(1);
                    return Ok(());
                }
                Some(_) => return Err(self.error_here(key, "expected `,` or `]`")),
                None => return Err(self.error_here(key, "EOF while parsing a list")),
            }
            index += 1;
        }
    }

    /// The whole document: a mapping of the sections and the trailer, then nothing but
    /// whitespace.
    fn document(mut self) -> Result<Parsed> {
        match self.peek()? {
            Some(b'{') => self.advance(1),
            Some(_) => return Err(self.wrong_type::<Parsed>("")),
            None => return Err(self.error_here("", "EOF while parsing a value")),
        }
        let mut users = PackedUsers::new();
        let mut directory = Directory::default();
        let mut complete: Option<Complete> = None;
        let mut seen: Vec<String> = Vec::new();
        let mut first = true;
        loop {
            match self.peek()? {
                Some(b'}') if first => {
                    self.advance(1);
                    break;
                }
                Some(b'"') => {}
                Some(b'}') => return Err(self.error_here("", "trailing comma")),
                Some(_) => return Err(self.error_here("", "key must be a string")),
                None => return Err(self.error_here("", "EOF while parsing an object")),
            }
            first = false;
            let key: String = self.value(&String::new)?;
            // The same checks, in the same order, as the document's own reader.
            if complete.is_some() {
                return Err(self.error_at(
                    "",
                    &format!(
                        "`{key}` comes after `{COMPLETE_KEY}`, which must be the last key of \
                         the file"
                    ),
                    self.line,
                    self.col,
                ));
            }
            if seen.contains(&key) {
                let msg = format!("duplicate key `{key}`");
                return Err(self.error_at("", &msg, self.line, self.col));
            }
            match self.peek()? {
                Some(b':') => self.advance(1),
                Some(_) => return Err(self.error_here("", "expected `:`")),
                None => return Err(self.error_here("", "EOF while parsing an object")),
            }
            if self.peek()?.is_none() {
                return Err(self.error_here(&key, "EOF while parsing a value"));
            }
            match key.as_str() {
                "users" => self.array::<DirUser>(&key, |slice| {
                    let user = read::<UserRecord<'_>>(slice)?;
                    users.push_record(user).map_err(Failure::Refused)
                })?,
                "groups" => self.array::<DirGroup>(&key, |slice| {
                    directory.groups.push(read(slice)?);
                    Ok(())
                })?,
                "roles" => self.array::<DirRole>(&key, |slice| {
                    directory.roles.push(read(slice)?);
                    Ok(())
                })?,
                "grants" => self.array::<DirGrant>(&key, |slice| {
                    directory.grants.push(read(slice)?);
                    Ok(())
                })?,
                COMPLETE_KEY => complete = Some(self.value(&|| COMPLETE_KEY.to_string())?),
                other => {
                    use serde::de::Error as _;
                    let msg = serde_json::Error::unknown_field(other, TOP_LEVEL_KEYS).to_string();
                    return Err(self.error_at("", &msg, self.line, self.col));
                }
            }
            seen.push(key);
            match self.peek()? {
                Some(b',') => self.advance(1),
                Some(b'}') => {
                    self.advance(1);
                    break;
                }
                Some(_) => return Err(self.error_here("", "expected `,` or `}`")),
                None => return Err(self.error_here("", "EOF while parsing an object")),
            }
        }
        if self.peek()?.is_some() {
            return Err(Error::config(format!(
                "{}: trailing content: trailing characters at line {} column {}",
                self.origin,
                self.line,
                self.col + 1
            )));
        }
        users.finish();
        directory.groups.shrink_to_fit();
        Ok(Parsed {
            users,
            directory,
            complete,
        })
    }
}

/// Why a value was not taken.
enum Failure {
    /// The parser refused it: the key path below the value's (`.` for the value itself)
    /// and the parser's error, its position inside the slice.
    Parse {
        inner: String,
        error: serde_json::Error,
    },
    /// It parsed but cannot be kept; the message says why.
    Refused(String),
}

/// The parser's reading of a whole slice as a `T`.
fn from_slice<'s, T: Deserialize<'s>>(slice: &'s [u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(slice);
    let v = T::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// [`from_slice`], with the key path where it fails.
fn read<'s, T: Deserialize<'s>>(slice: &'s [u8]) -> std::result::Result<T, Failure> {
    from_slice(slice).or_else(|_| {
        // Parsed again, tracking the path, only to say where it failed.
        let mut de = serde_json::Deserializer::from_slice(slice);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(v) => de.end().map(|()| v).map_err(|error| Failure::Parse {
                inner: String::new(),
                error,
            }),
            Err(e) => Err(Failure::Parse {
                inner: e.path().to_string(),
                error: e.into_inner(),
            }),
        }
    })
}

#[cfg(test)]
mod tests;
