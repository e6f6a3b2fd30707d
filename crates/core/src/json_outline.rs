//! JSON laid out as an outline: indented like pretty JSON down to a chosen depth, every
//! value below it on one line.
//!
//! A plan of millions of operations printed pretty spends most of its bytes on
//! indentation (an operation of a dozen fields takes twenty lines), and a compact one is
//! one line a reader cannot review or `grep`. With the outline, the plan's own fields read
//! as pretty JSON and each operation is one line: half the bytes, one operation per line
//! for `grep` and `diff`. The output is JSON like any other; readers parse it unchanged.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// A [`Formatter`] for [`serde_json::Serializer::with_formatter`]: arrays and objects
/// nested at most `depth` deep are laid out as [`serde_json::ser::PrettyFormatter`] lays
/// them out (two spaces per level), and each of their elements nested deeper is written
/// compact, on the line where it starts.
///
/// Depth counts containers: the document's outermost object or array is depth 1. With
/// depth 0 the output is compact JSON; with a depth larger than the document's nesting
/// it is byte for byte [`serde_json::to_writer_pretty`]'s.
#[derive(Debug, Clone)]
pub struct OutlineFormatter {
    /// The deepest container laid out over several lines.
    pretty_depth: usize,
    /// How many containers are open.
    depth: usize,
    /// Whether the innermost open container has an element yet.
    has_value: bool,
}

impl OutlineFormatter {
    /// An outline that lays out containers nested at most `pretty_depth` deep over
    /// several lines.
    pub fn new(pretty_depth: usize) -> OutlineFormatter {
        OutlineFormatter {
            pretty_depth,
            depth: 0,
            has_value: false,
        }
    }

    /// Whether the innermost open container is laid out over several lines.
    fn pretty(&self) -> bool {
        self.depth <= self.pretty_depth
    }

    fn indent<W: ?Sized + Write>(writer: &mut W, depth: usize) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        let mut left = depth * 2;
        while left > 0 {
            let n = left.min(SPACES.len());
            writer.write_all(&SPACES[..n])?;
            left -= n;
        }
        Ok(())
    }

    fn begin<W: ?Sized + Write>(&mut self, writer: &mut W, open: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end<W: ?Sized + Write>(&mut self, writer: &mut W, close: &[u8]) -> io::Result<()> {
        let pretty = self.pretty();
        self.depth = self.depth.saturating_sub(1);
        if pretty && self.has_value {
            writer.write_all(b"\n")?;
            Self::indent(writer, self.depth)?;
        }
        writer.write_all(close)
    }

    fn element<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        if self.pretty() {
            writer.write_all(b"\n")?;
            Self::indent(writer, self.depth)?;
        }
        Ok(())
    }
}

impl Formatter for OutlineFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.element(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.element(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.pretty() { b": " } else { b":" })
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` to `out` as an outline (see [`OutlineFormatter`]) that lays out
/// containers nested at most `pretty_depth` deep over several lines.
///
/// # Errors
/// The first error of `out`, or of `value`'s serialization.
pub fn to_writer_outline(
    out: impl Write,
    value: &(impl Serialize + ?Sized),
    pretty_depth: usize,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, OutlineFormatter::new(pretty_depth));
    value.serialize(&mut ser).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_writer_outline;

    fn outline(value: &serde_json::Value, depth: usize) -> String {
        let mut out = Vec::new();
        to_writer_outline(&mut out, value, depth).expect("writes");
        String::from_utf8(out).expect("utf-8")
    }

    fn sample() -> serde_json::Value {
        json!({
            "format": 1,
            "empty": [],
            "none": {},
            "targets": [
                {"name": "a", "ops": [{"op": "x", "deps": [1, 2], "at": {"k": "v"}}, {"op": "y"}]},
                {"name": "b", "ops": []}
            ]
        })
    }

    #[test]
    fn deeper_than_the_document_is_pretty_json() {
        let v = sample();
        assert_eq!(
            outline(&v, 64),
            serde_json::to_string_pretty(&v).expect("pretty")
        );
    }

    #[test]
    fn depth_zero_is_compact_json() {
        let v = sample();
        assert_eq!(outline(&v, 0), serde_json::to_string(&v).expect("compact"));
    }

    #[test]
    fn each_element_below_the_depth_is_one_line() {
        let v = sample();
        let text = outline(&v, 4);
        assert_eq!(
            text,
            r#"{
  "empty": [],
  "format": 1,
  "none": {},
  "targets": [
    {
      "name": "a",
      "ops": [
        {"at":{"k":"v"},"deps":[1,2],"op":"x"},
        {"op":"y"}
      ]
    },
    {
      "name": "b",
      "ops": []
    }
  ]
}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, v);
    }

    #[test]
    fn strings_keep_their_escapes() {
        let v = json!({"a": [{"s": "line\nbreak \"quoted\" \u{1b}"}]});
        let text = outline(&v, 2);
        assert_eq!(
            text,
            "{\n  \"a\": [\n    {\"s\":\"line\\nbreak \\\"quoted\\\" \\u001b\"}\n  ]\n}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, v);
    }
}
