//! Everything the command prints, in one place.
//!
//! - **A closed output stops the printing, never the work.** `idbridge adapters | head -1`
//!   closes stdout after one line; `print!` would panic ("failed printing to stdout"), and
//!   a `sync` whose plan print hit the closed pipe would abort before applying. Here the
//!   first failed write (a broken pipe, or any other error) marks that stream closed, later
//!   writes to it are dropped, and the command finishes its work and exits with its usual
//!   code.
//! - **Data never acts on the terminal.** Text goes through
//!   [`idbridge_core::text::escape_lines`] on its way out, as a last line of defence behind
//!   the escaping of each value where it is interpolated (see `idbridge_sync::report`), and
//!   [`table`] escapes every cell. JSON stays JSON: [`json`] writes the serializer's output
//!   with the characters it leaves raw written as `\uXXXX` escapes.
//!
//! - **No secret is shown.** Everything written (text, JSON and log lines, see
//!   [`LogWriter`]) is cleaned of every secret value the process knows
//!   ([`idbridge_core::redact`]): configured credentials, and the tokens and cookies the
//!   servers handed out, which a server's error text or a dependency's log line may repeat.
//!
//! Use [`outln!`](crate::output::outln) / [`out!`](crate::output::out) for stdout and
//! [`errln!`](crate::output::errln) / [`err!`](crate::output::err) for stderr instead of
//! `println!` and friends.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use idbridge_core::redact;
use idbridge_core::text::{escape, escape_json, escape_lines};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

fn write_to(closed: &AtomicBool, mut stream: impl Write, text: &str) {
    if closed.load(Ordering::Relaxed) {
        return;
    }
    if let Err(e) = stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
    {
        closed.store(true, Ordering::Relaxed);
        // A reader that went away (`| head`) is normal; anything else is worth a line in
        // the log, which does not depend on the stream that failed.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::debug!(error = %e, "output closed; the rest is not printed");
        }
    }
}

/// Writes human-readable text to stdout, escaped and cleaned of secrets; dropped once
/// stdout is closed.
pub fn stdout_text(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    write_to(
        &STDOUT_CLOSED,
        std::io::stdout().lock(),
        &escape_lines(&redact(&text)),
    );
}

/// Writes human-readable text to stderr, escaped and cleaned of secrets; dropped once
/// stderr is closed.
pub fn stderr_text(args: fmt::Arguments<'_>) {
    let text = args.to_string();
    write_to(
        &STDERR_CLOSED,
        std::io::stderr().lock(),
        &escape_lines(&redact(&text)),
    );
}

/// How much text [`TextOut`] gathers before it writes: big enough that writes are few,
/// small enough that a report of any size costs no memory.
const TEXT_CHUNK: usize = 64 * 1024;

/// Human-readable text on its way to stdout or stderr, written in pieces as it is
/// produced (a plan of millions of operations is never held as one text), each piece
/// cleaned and escaped as [`outln!`](crate::output::outln) does. Pieces end at line ends,
/// so that a value, which never spans lines (values are escaped where they are
/// interpolated), is always cleaned whole: the bytes are those of printing the whole text
/// at once. Once the stream is closed (`| head`), every write fails, which stops the
/// rendering, and the command goes on with its work.
pub struct TextOut {
    to: Stream,
    buf: String,
}

/// Where [`TextOut`] writes.
enum Stream {
    Stdout,
    Stderr,
    /// Memory, closed after so many bytes (for tests).
    #[cfg(test)]
    Memory(Vec<u8>, usize, AtomicBool),
}

impl TextOut {
    /// Text for stdout.
    pub fn stdout() -> TextOut {
        TextOut::to(Stream::Stdout)
    }

    /// Text for stderr.
    pub fn stderr() -> TextOut {
        TextOut::to(Stream::Stderr)
    }

    fn to(to: Stream) -> TextOut {
        TextOut {
            to,
            buf: String::with_capacity(TEXT_CHUNK + 1024),
        }
    }

    fn closed(&self) -> &AtomicBool {
        match &self.to {
            Stream::Stdout => &STDOUT_CLOSED,
            Stream::Stderr => &STDERR_CLOSED,
            #[cfg(test)]
            Stream::Memory(_, _, closed) => closed,
        }
    }

    /// Writes `buf[..end]`, keeping the rest; `false` once the stream is closed.
    fn emit(&mut self, end: usize) -> bool {
        {
            let piece = self.buf.get(..end).unwrap_or_default();
            let clean = redact(piece);
            let text = escape_lines(&clean);
            match &mut self.to {
                Stream::Stdout => write_to(&STDOUT_CLOSED, std::io::stdout().lock(), &text),
                Stream::Stderr => write_to(&STDERR_CLOSED, std::io::stderr().lock(), &text),
                #[cfg(test)]
                Stream::Memory(out, room, closed) => {
                    let n = text.len().min(*room);
                    out.extend_from_slice(&text.as_bytes()[..n]);
                    *room -= n;
                    if n < text.len() {
                        closed.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        self.buf.drain(..end);
        !self.closed().load(Ordering::Relaxed)
    }

    /// Writes what is left.
    pub fn finish(mut self) {
        if !self.closed().load(Ordering::Relaxed) {
            self.emit(self.buf.len());
        }
    }
}

impl fmt::Write for TextOut {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.closed().load(Ordering::Relaxed) {
            return Err(fmt::Error);
        }
        self.buf.push_str(s);
        if self.buf.len() >= TEXT_CHUNK {
            if let Some(end) = self.buf.rfind('\n') {
                if !self.emit(end + 1) {
                    return Err(fmt::Error);
                }
            }
        }
        Ok(())
    }
}

/// Where log lines go: stderr, each line cleaned of every secret value the process knows
/// ([`idbridge_core::redact`]) on its way out. This covers the lines of dependencies too,
/// which idbridge does not format (a cookie store logging the cookies it keeps, a
/// transport logging a header), behind the targets `init_logging` silences.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

/// One log line being formatted; written, cleaned, when dropped.
#[derive(Debug, Default)]
pub struct LogLine(Vec<u8>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine::default()
    }
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.0.is_empty() || STDERR_CLOSED.load(Ordering::Relaxed) {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let clean = redact(&text);
        // No log line about a failed log line: it would come back here.
        let mut stderr = std::io::stderr().lock();
        if stderr
            .write_all(clean.as_bytes())
            .and_then(|()| stderr.flush())
            .is_err()
        {
            STDERR_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// Writes a value as pretty JSON and a newline to stdout (see the module docs).
pub fn json(value: &impl serde::Serialize) {
    json_to(value, Layout::Pretty, true);
}

/// Writes a value as JSON and a newline to stdout, laid out as an outline: pretty down to
/// `depth`, each deeper value on one line (see [`idbridge_core::json_outline`]).
pub fn json_outline(value: &impl serde::Serialize, depth: usize) {
    json_to(value, Layout::Outline(depth), true);
}

/// Writes a value as one-line JSON and a newline to stdout.
pub fn json_line(value: &impl serde::Serialize) {
    json_to(value, Layout::Line, true);
}

/// Writes a value as one-line JSON and a newline to stdout with the secrets it carries
/// left in: only for `idbridge emulate`, whose announcement hands out the emulator's own
/// development credentials, which is its purpose.
pub fn json_line_with_secrets(value: &impl serde::Serialize) {
    json_to(value, Layout::Line, false);
}

/// How [`json_to`] lays JSON out.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Pretty,
    Outline(usize),
    Line,
}

fn json_to(value: &impl serde::Serialize, layout: Layout, clean: bool) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut sink = JsonSink::new(
        std::io::stdout().lock(),
        clean,
        !matches!(layout, Layout::Line),
    );
    let written = {
        // The serializer writes a token at a time; gathered first, the sink sees large
        // pieces (a plan's JSON is gigabytes of small tokens).
        let mut out = std::io::BufWriter::with_capacity(JSON_CHUNK, &mut sink);
        let serialized = match layout {
            Layout::Pretty => value.serialize(&mut serde_json::Serializer::pretty(&mut out)),
            Layout::Outline(depth) => value.serialize(&mut serde_json::Serializer::with_formatter(
                &mut out,
                idbridge_core::json_outline::OutlineFormatter::new(depth),
            )),
            Layout::Line => value.serialize(&mut serde_json::Serializer::new(&mut out)),
        };
        serialized
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
    };
    let result = written.and_then(|()| sink.finish());
    if let Err(e) = result {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        // A reader that went away (`| head`) is normal; a value that cannot be JSON (a map
        // with non-string keys, which idbridge never builds) or another error is worth a
        // line in the log.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::debug!(error = %e, "output closed; the rest is not printed");
        }
    }
}

/// How much serialized JSON [`JsonSink`] gathers before it writes: big enough that
/// writes are few, small enough that a document of any size costs no memory.
const JSON_CHUNK: usize = 64 * 1024;

/// Serialized JSON on its way to `out`, written in pieces as the serializer produces it,
/// each piece cleaned of secrets (when `clean`) and escaped as [`json`] says. Pieces are
/// cut only between tokens, outside every string, so that a string, where a secret or an
/// unsafe character can be, is always cleaned whole: the bytes are those of cleaning the
/// whole document at once. JSON laid out over lines (pretty, or an outline) is cut at a
/// line end (a serializer escapes every newline inside a string, so a raw one is always
/// between tokens), which costs nothing per byte; one-line JSON after `,`, `:`, a bracket, a brace or a string's closing quote,
/// found by following the strings byte by byte.
struct JsonSink<W: Write> {
    out: W,
    clean: bool,
    /// Pieces end at line ends (JSON laid out over lines).
    lines: bool,
    buf: Vec<u8>,
    /// Where in `buf` a piece may end: the last position between tokens.
    cut: usize,
    in_string: bool,
    /// The previous byte was a backslash inside a string.
    escaped: bool,
}

impl<W: Write> JsonSink<W> {
    fn new(out: W, clean: bool, lines: bool) -> Self {
        JsonSink {
            out,
            clean,
            lines,
            buf: Vec::with_capacity(JSON_CHUNK + 1024),
            cut: 0,
            in_string: false,
            escaped: false,
        }
    }

    /// Cleans and writes `buf[..end]`, keeping the rest.
    fn emit(&mut self, end: usize) -> std::io::Result<()> {
        let piece = self.buf.get(..end).unwrap_or_default();
        // The serializer writes UTF-8, and a piece ends between tokens, on ASCII; checked
        // whole first, which is quicker than the lossy conversion's walk.
        let text = match std::str::from_utf8(piece) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(piece),
        };
        let text = if self.clean { redact(&text) } else { text };
        self.out.write_all(escape_json(&text).as_bytes())?;
        self.buf.drain(..end);
        self.cut = self.cut.saturating_sub(end);
        Ok(())
    }

    /// Writes what is left and flushes `out`.
    fn finish(&mut self) -> std::io::Result<()> {
        self.emit(self.buf.len())?;
        self.out.flush()
    }
}

impl<W: Write> Write for JsonSink<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.lines {
            self.buf.extend_from_slice(bytes);
            if self.buf.len() >= JSON_CHUNK {
                if let Some(end) = self.buf.iter().rposition(|b| *b == b'\n') {
                    self.emit(end + 1)?;
                }
            }
            return Ok(bytes.len());
        }
        for &b in bytes {
            self.buf.push(b);
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.cut = self.buf.len();
                }
            } else if b == b'"' {
                self.in_string = true;
            } else if matches!(b, b',' | b':' | b'[' | b']' | b'{' | b'}' | b'\n') {
                self.cut = self.buf.len();
            }
        }
        if self.buf.len() >= JSON_CHUNK && self.cut > 0 {
            self.emit(self.cut)?;
        }
        Ok(bytes.len())
    }

    /// Pieces are written when they are complete (see [`JsonSink::finish`]).
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `print!` that neither panics on a closed stdout nor lets data act on the terminal.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::stdout_text(format_args!($($arg)*)) };
}

/// `println!` that neither panics on a closed stdout nor lets data act on the terminal.
macro_rules! outln {
    () => { $crate::output::stdout_text(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::output::stdout_text(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that neither panics on a closed stderr nor lets data act on the terminal.
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::stderr_text(format_args!($($arg)*)) };
}

/// `eprintln!` that neither panics on a closed stderr nor lets data act on the terminal.
macro_rules! errln {
    () => { $crate::output::stderr_text(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::output::stderr_text(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {err, errln, out, outln};

/// Renders rows as left-aligned columns under a header, two spaces apart. Cells are
/// escaped (newlines too), so that a value always stays in its row and column.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| escape(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or_default()
                .saturating_sub(cell.chars().count());
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in &rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// An optional value, or `-`.
pub fn opt(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `json_to` wrote before it streamed: the whole text, cleaned and escaped at once.
    fn whole(value: &impl serde::Serialize, pretty: bool) -> String {
        let mut text = if pretty {
            serde_json::to_string_pretty(value).expect("json")
        } else {
            serde_json::to_string(value).expect("json")
        };
        text.push('\n');
        escape_json(&redact(&text)).into_owned()
    }

    fn streamed(value: &impl serde::Serialize, pretty: bool) -> String {
        let mut out = Vec::new();
        let mut sink = JsonSink::new(&mut out, true, pretty);
        if pretty {
            value.serialize(&mut serde_json::Serializer::pretty(&mut sink))
        } else {
            value.serialize(&mut serde_json::Serializer::new(&mut sink))
        }
        .expect("serializes");
        sink.write_all(b"\n").expect("newline");
        sink.finish().expect("finish");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn streamed_json_is_the_whole_text_cleaned_and_escaped() {
        let secret = "sink-secret-7c2e9a";
        idbridge_core::register_secret(secret);
        // Several pieces' worth, with secrets, unsafe characters, escapes and brackets
        // inside strings everywhere, including across the piece size.
        let records: Vec<serde_json::Value> = (0..4000)
            .map(|i| {
                serde_json::json!({
                    "id": format!("u{i}"),
                    "note": format!("{secret} \u{202e}\"q\\\",[{{:}}]\n{i}"),
                    "nested": {"k": [i, secret, "\u{200b}"]},
                })
            })
            .collect();
        for pretty in [true, false] {
            let want = whole(&records, pretty);
            assert!(want.len() > 4 * JSON_CHUNK, "{}", want.len());
            assert!(!want.contains(secret));
            assert_eq!(streamed(&records, pretty), want, "pretty: {pretty}");
        }
        assert_eq!(
            streamed(&Vec::<u8>::new(), true),
            whole(&Vec::<u8>::new(), true)
        );
    }

    /// Text written through [`TextOut`] into memory closed after `room` bytes.
    fn text_out(lines: &[String], room: usize) -> (String, fmt::Result) {
        use std::fmt::Write as _;
        let mut out = TextOut::to(Stream::Memory(Vec::new(), room, AtomicBool::new(false)));
        let mut result = Ok(());
        for line in lines {
            result = writeln!(out, "{line}");
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            out.emit(out.buf.len());
        }
        let Stream::Memory(text, ..) = out.to else {
            unreachable!("written to memory")
        };
        (String::from_utf8(text).expect("utf-8"), result)
    }

    #[test]
    fn streamed_text_is_the_whole_text_cleaned_and_escaped() {
        let secret = "text-secret-41d7c0";
        idbridge_core::register_secret(secret);
        let lines: Vec<String> = (0..20_000)
            .map(|i| format!("  + line {i} {secret} \u{1b}[2K \u{202e}é"))
            .collect();
        let whole = escape_lines(&redact(&(lines.join("\n") + "\n"))).into_owned();
        assert!(whole.len() > 8 * TEXT_CHUNK, "{}", whole.len());
        assert!(!whole.contains(secret) && !whole.contains('\u{1b}'));
        let (streamed, result) = text_out(&lines, usize::MAX);
        assert!(result.is_ok());
        assert_eq!(streamed, whole);
        // A reader that goes away stops the writing with an error, and nothing is
        // written after it.
        let (cut, result) = text_out(&lines, 3 * TEXT_CHUNK);
        assert!(result.is_err());
        assert_eq!(cut.len(), 3 * TEXT_CHUNK);
        assert!(whole.starts_with(&cut));
    }

    /// A reader that takes a few bytes and goes away.
    struct ClosedAfter(usize);

    impl Write for ClosedAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_reader_stops_the_serialization_with_an_error() {
        let records: Vec<String> = (0..100_000).map(|i| format!("record {i}")).collect();
        let mut sink = JsonSink::new(ClosedAfter(100), true, false);
        let e = serde_json::to_writer(&mut sink, &records).expect_err("stops");
        assert!(e.is_io(), "{e}");
        let mut sink = JsonSink::new(ClosedAfter(100), true, true);
        let e = serde_json::to_writer_pretty(&mut sink, &records).expect_err("stops");
        assert!(e.is_io(), "{e}");
    }

    #[test]
    fn aligns_columns() {
        let t = table(
            &["id", "login"],
            &[
                vec!["1".into(), "ada".into()],
                vec!["1234".into(), "bob".into()],
            ],
        );
        assert_eq!(t, "id    login\n1     ada\n1234  bob\n");
    }

    #[test]
    fn cells_cannot_break_rows_or_reach_the_terminal() {
        let t = table(
            &["id", "name"],
            &[vec!["1".into(), "Eve\u{1b}[1A\nforged\u{202e}".into()]],
        );
        assert_eq!(t.lines().count(), 2, "{t}");
        assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'), "{t}");
    }
}
