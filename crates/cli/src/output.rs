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
    json_to(value, true, true);
}

/// Writes a value as one-line JSON and a newline to stdout.
pub fn json_line(value: &impl serde::Serialize) {
    json_to(value, false, true);
}

/// Writes a value as one-line JSON and a newline to stdout with the secrets it carries
/// left in: only for `idbridge emulate`, whose announcement hands out the emulator's own
/// development credentials, which is its purpose.
pub fn json_line_with_secrets(value: &impl serde::Serialize) {
    json_to(value, false, false);
}

fn json_to(value: &impl serde::Serialize, pretty: bool, clean: bool) {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let mut text = match text {
        Ok(t) => t,
        Err(e) => {
            // Only a map with non-string keys fails here, which idbridge never builds.
            tracing::error!(error = %e, "cannot serialize the output as JSON");
            return;
        }
    };
    text.push('\n');
    let text = if clean {
        redact(&text).into_owned()
    } else {
        text
    };
    let text = escape_json(&text);
    write_to(&STDOUT_CLOSED, std::io::stdout().lock(), &text);
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
