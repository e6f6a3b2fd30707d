//! A cheap scan of a YAML text, run before the parser, that refuses documents nested too
//! deeply or whose aliases would expand too far.
//!
//! Why a scan of its own: the YAML scanner's work grows with the square of the flow
//! nesting depth (every token looks at one saved key per open bracket), so a few hundred
//! kilobytes of `[[[[…` keep it busy for most of a minute before any limit of the
//! deserializer is reached. Aliases (`*name`) repeat the node their anchor (`&name`)
//! names, and nested anchors multiply: ten lines can stand for a billion values. A
//! directory file needs neither: its deepest node is a scope inside a grant inside the
//! `grants` list, and an exporter that shares a list between records (PyYAML writes
//! `&id001` / `*id001` for that) repeats small nodes a bounded number of times.
//!
//! The scan reads the text once. It does not parse YAML; it tracks quoted scalars,
//! comments and brackets well enough to over-estimate the flow depth of ordinary files,
//! and it measures what each anchored node spans (a bracketed node to its closing bracket,
//! a block node to the end of its indented lines, a scalar to the end of its token) to
//! estimate how much text the aliases stand for, counting aliases inside anchored nodes
//! with their own weight.

use std::collections::HashMap;

/// The deepest bracket (`[`, `{`) nesting a YAML directory file may use.
pub const MAX_FLOW_DEPTH: usize = 64;

/// How many times its own length the text of a YAML directory file may grow when every
/// alias is replaced by the node it names (plus [`ALIAS_EXPANSION_ALLOWANCE`]).
pub const MAX_ALIAS_EXPANSION_FACTOR: usize = 10;

/// Bytes of alias expansion every file may use whatever its length.
pub const ALIAS_EXPANSION_ALLOWANCE: usize = 1 << 20;

/// Checks `text` against [`MAX_FLOW_DEPTH`] and the alias expansion budget.
///
/// # Errors
/// A message naming the limit, the line where it was passed and what to do.
pub fn check_yaml(text: &str) -> std::result::Result<(), String> {
    let bytes = text.as_bytes();
    let mut scan = Scan::new(bytes);
    scan.run()?;
    let budget = bytes
        .len()
        .saturating_mul(MAX_ALIAS_EXPANSION_FACTOR)
        .saturating_add(ALIAS_EXPANSION_ALLOWANCE);
    let expansion = scan.expansion(budget);
    if expansion > budget {
        return Err(format!(
            "the YAML aliases (`*name`) would expand the file past the alias expansion \
             limit ({} times its size plus {} KiB); write the records out instead of \
             repeating anchored nodes",
            MAX_ALIAS_EXPANSION_FACTOR,
            ALIAS_EXPANSION_ALLOWANCE / 1024
        ));
    }
    Ok(())
}

/// An anchored node: where it starts and ends, in bytes.
struct Anchor {
    start: usize,
    end: usize,
    /// Block nodes end with the first later line indented less than this column, or at
    /// it unless the line is a `- ` item and the flag allows those (a sequence may sit at
    /// its key's column).
    block: Option<(usize, bool)>,
    /// Flow nodes end when the flow depth drops below this.
    flow_depth: Option<usize>,
}

struct Scan<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    depth: usize,
    /// Whether the next character may start a token (and so a quoted scalar or an alias).
    token_start: bool,
    /// Whether the last token was a quoted scalar or a closed bracket, after which a `:`
    /// is an indicator even without a space.
    after_json: bool,
    /// Indentation of the current line (spaces before its first character).
    indent: usize,
    at_line_start: bool,
    anchors: Vec<Anchor>,
    /// Anchor name to its latest definition (YAML lets a later anchor shadow an earlier).
    names: HashMap<&'a [u8], usize>,
    /// Each alias use: its position and the anchor it names, if defined before it.
    aliases: Vec<(usize, Option<usize>)>,
    /// Block anchors whose node is still open, innermost last (their columns never
    /// decrease towards the end, so closing pops from the end).
    open_blocks: Vec<usize>,
    /// Flow anchors whose node is still open, innermost last (likewise by depth).
    open_flows: Vec<usize>,
    /// Where the current line starts.
    line_start: usize,
    /// In block context, the column a plain scalar being read belongs to: a later line
    /// indented deeper continues the scalar (its quotes are text, not a new token).
    plain_owner: Option<usize>,
}

fn is_anchor_char(c: u8) -> bool {
    !matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}'
    )
}

impl<'a> Scan<'a> {
    fn new(text: &'a [u8]) -> Self {
        Scan {
            text,
            pos: 0,
            line: 1,
            depth: 0,
            token_start: true,
            after_json: false,
            indent: 0,
            at_line_start: true,
            anchors: Vec::new(),
            names: HashMap::new(),
            aliases: Vec::new(),
            open_blocks: Vec::new(),
            open_flows: Vec::new(),
            line_start: 0,
            plain_owner: None,
        }
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.text.get(self.pos + offset).copied()
    }

    fn newline(&mut self) {
        self.line_start = self.pos;
        self.line += 1;
        self.indent = 0;
        self.at_line_start = true;
        // Whether the next line starts a token is decided at its first character (block
        // context); in flow context a line break changes nothing.
    }

    /// Closes the block anchors a line indented `indent` ends (its start is `at`).
    fn close_blocks(&mut self, indent: usize, dash: bool, at: usize) {
        while let Some(&i) = self.open_blocks.last() {
            let a = &mut self.anchors[i];
            match a.block {
                Some((col, dash_inside))
                    if indent < col || (indent == col && !(dash && dash_inside)) =>
                {
                    a.end = at;
                    self.open_blocks.pop();
                }
                _ => break,
            }
        }
    }

    /// Closes the flow anchors whose bracket just closed.
    fn close_flows(&mut self) {
        while let Some(&i) = self.open_flows.last() {
            let a = &mut self.anchors[i];
            match a.flow_depth {
                Some(d) if self.depth < d => {
                    a.end = self.pos + 1;
                    self.open_flows.pop();
                }
                _ => break,
            }
        }
    }

    fn run(&mut self) -> std::result::Result<(), String> {
        while let Some(c) = self.peek(0) {
            if self.at_line_start {
                match c {
                    b' ' => {
                        self.indent += 1;
                        self.pos += 1;
                        continue;
                    }
                    b'\n' | b'\r' | b'#' => {}
                    // Lines of blank or comment do not end a block node.
                    _ => {
                        self.at_line_start = false;
                        let line_start = self.pos - self.indent;
                        let dash = c == b'-'
                            && matches!(self.peek(1), None | Some(b' ' | b'\t' | b'\r' | b'\n'));
                        if self.depth == 0 {
                            let continues = self.plain_owner.is_some_and(|col| self.indent > col);
                            if !continues {
                                self.plain_owner = None;
                                self.close_blocks(self.indent, dash, line_start);
                            }
                            self.token_start = !continues;
                        }
                    }
                }
            }
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.newline();
                }
                b' ' | b'\t' | b'\r' => {
                    self.pos += 1;
                }
                b'#' if self.token_start || self.prev_is_space() => {
                    while let Some(c) = self.peek(0) {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'"' | b'\'' if self.token_start => {
                    self.plain_owner = None;
                    self.quoted(c);
                }
                b'!' if self.token_start => {
                    // A tag; what follows it still starts the node.
                    self.name();
                    self.token_start = true;
                }
                // In block context a bracket inside a plain scalar is text.
                b'[' | b'{' if self.token_start || self.depth > 0 => {
                    self.plain_owner = None;
                    self.depth += 1;
                    if self.depth > MAX_FLOW_DEPTH {
                        return Err(format!(
                            "line {}: brackets nest deeper than the nesting limit of {} \
                             levels; a directory file needs only a few",
                            self.line, MAX_FLOW_DEPTH
                        ));
                    }
                    self.pos += 1;
                    self.token_start = true;
                    self.after_json = false;
                }
                b']' | b'}' if self.depth > 0 => {
                    self.depth -= 1;
                    self.close_flows();
                    self.pos += 1;
                    self.token_start = false;
                    self.after_json = true;
                }
                b',' if self.depth > 0 => {
                    self.pos += 1;
                    self.token_start = true;
                }
                // `- ` and `? ` are indicators only where a token may start; `: ` anywhere.
                b'-' | b'?'
                    if self.token_start
                        && matches!(self.peek(1), None | Some(b' ' | b'\t' | b'\r' | b'\n')) =>
                {
                    self.pos += 1;
                    self.token_start = true;
                    self.after_json = false;
                }
                b':' if matches!(self.peek(1), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
                    || (c == b':'
                        && self.depth > 0
                        && (self.after_json
                            || matches!(self.peek(1), Some(b',' | b'[' | b']' | b'{' | b'}')))) =>
                {
                    self.pos += 1;
                    self.token_start = true;
                    self.after_json = false;
                    self.plain_owner = None;
                }
                b'&' if self.token_start => self.anchor(),
                b'*' if self.token_start => self.alias(),
                b'|' | b'>' if self.token_start && self.depth == 0 => self.block_scalar(),
                _ => {
                    if self.token_start && self.depth == 0 {
                        self.plain_owner = Some(self.owner_column(self.pos).0);
                    }
                    self.pos += 1;
                    self.token_start = false;
                    self.after_json = false;
                }
            }
        }
        let end = self.text.len();
        for &i in self.open_blocks.iter().chain(&self.open_flows) {
            self.anchors[i].end = end;
        }
        Ok(())
    }

    fn prev_is_space(&self) -> bool {
        self.pos == 0 || matches!(self.text[self.pos - 1], b' ' | b'\t' | b'\n' | b'\r')
    }

    /// Skips a quoted scalar. An unterminated one runs to the end of the text: the parser
    /// reports it in its own words, and nothing can nest inside it.
    fn quoted(&mut self, quote: u8) {
        self.pos += 1;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            match c {
                b'\\' if quote == b'"' => {
                    self.pos += 1;
                    if self.text.get(self.pos - 1) == Some(&b'\n') {
                        self.line += 1;
                        self.line_start = self.pos;
                    }
                }
                b'\'' if quote == b'\'' && self.peek(0) == Some(b'\'') => self.pos += 1,
                b'\n' => {
                    self.line += 1;
                    self.line_start = self.pos;
                }
                c if c == quote => {
                    self.token_start = false;
                    self.after_json = true;
                    return;
                }
                _ => {}
            }
        }
    }

    fn name(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek(0).is_some_and(is_anchor_char) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn anchor(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let name = self.name();
        // What the anchor names starts at the next token: a bracket on this line, a
        // scalar on this line, or the indented lines below.
        let next = self.text[self.pos..]
            .iter()
            .find(|&&c| !matches!(c, b' ' | b'\t' | b'\r'))
            .copied();
        let index = self.anchors.len();
        let flow_start = matches!(next, Some(b'[' | b'{'));
        if self.depth == 0 && !flow_start {
            // A node on the lines below, or a scalar (or a mapping starting on this line)
            // that runs at least to the end of the line.
            self.anchors.push(Anchor {
                start,
                end: start,
                block: Some(self.owner_column(start)),
                flow_depth: None,
            });
            self.open_blocks.push(index);
        } else {
            self.anchors.push(Anchor {
                start,
                end: start,
                block: None,
                flow_depth: Some(if flow_start {
                    self.depth + 1
                } else {
                    self.depth
                }),
            });
            self.open_flows.push(index);
        }
        self.names.insert(name, index);
        self.token_start = true;
    }

    /// The column that owns a block node anchored at `start`, and whether a `- ` line at
    /// that column still belongs to it: the key's column for `key: &a` (a sequence may sit
    /// at its key's column), the dash's for `- &a` (after any `- ` prefixes of nested items
    /// on the same line).
    fn owner_column(&self, start: usize) -> (usize, bool) {
        let before = &self.text[self.line_start..start];
        let mut col = before.iter().take_while(|&&c| c == b' ').count();
        let mut last_dash = None;
        while before.get(col) == Some(&b'-')
            && matches!(before.get(col + 1), None | Some(b' ' | b'\t'))
        {
            last_dash = Some(col);
            col += 1;
            col += before[col..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
        }
        if col >= before.len() {
            // Nothing but dashes before the anchor: the node is the list item itself.
            (last_dash.unwrap_or(col), false)
        } else {
            (col, true)
        }
    }

    fn alias(&mut self) {
        let at = self.pos;
        self.pos += 1;
        let name = self.name();
        let target = self.names.get(name).copied();
        self.aliases.push((at, target));
        self.token_start = false;
    }

    /// Skips a literal or folded block scalar: its lines are text, not structure.
    fn block_scalar(&mut self) {
        // Its lines are those indented deeper than the node it belongs to.
        let parent = self.owner_column(self.pos).0;
        // The rest of the indicator line (chomping, indentation, comment).
        while let Some(c) = self.peek(0) {
            if c == b'\n' {
                break;
            }
            self.pos += 1;
        }
        loop {
            if self.peek(0) != Some(b'\n') {
                return;
            }
            let next = self.pos + 1;
            let rest = &self.text[next..];
            let spaces = rest.iter().take_while(|&&c| c == b' ').count();
            let blank = matches!(rest.get(spaces), None | Some(b'\n' | b'\r'));
            if !blank && spaces <= parent {
                return;
            }
            self.pos = next;
            self.line_start = next;
            self.line += 1;
            while let Some(c) = self.peek(0) {
                if c == b'\n' {
                    break;
                }
                self.pos += 1;
            }
            if self.pos >= self.text.len() {
                return;
            }
        }
    }

    /// The estimated bytes the aliases stand for, stopping once past `budget`.
    ///
    /// An anchored node weighs its length plus what the aliases inside it weigh. A node's
    /// aliases name nodes that ended before them, so weighing the nodes in the order they
    /// end resolves every one (an alias inside its own node is recursion, which the
    /// parser's repetition limit stops).
    fn expansion(&self, budget: usize) -> usize {
        let cap = budget.saturating_add(1);
        // Aliases are recorded in text order.
        let positions: Vec<usize> = self.aliases.iter().map(|(at, _)| *at).collect();
        let mut order: Vec<usize> = (0..self.anchors.len()).collect();
        order.sort_by_key(|&i| self.anchors[i].end);
        let mut weight: Vec<Option<usize>> = vec![None; self.anchors.len()];
        for i in order {
            let a = &self.anchors[i];
            let from = positions.partition_point(|&p| p <= a.start);
            let to = positions.partition_point(|&p| p < a.end).max(from);
            let mut w = a.end.saturating_sub(a.start);
            for (_, target) in &self.aliases[from..to] {
                if let Some(inner) = target.and_then(|t| weight[t]) {
                    w = w.saturating_add(inner);
                    if w >= cap {
                        break;
                    }
                }
            }
            weight[i] = Some(w.min(cap));
        }
        let mut total = 0usize;
        for (_, target) in &self.aliases {
            if let Some(w) = target.and_then(|t| weight[t]) {
                total = total.saturating_add(w);
                if total > budget {
                    break;
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_files_pass() {
        let text = "users:\n  - {id: u1, login: \"o'brien\", groups: [a, b]}\n  - id: u2\n    login: O'Neil # [[[\n    display_name: 'it''s [me'\ngroups: []\n";
        check_yaml(text).expect("ordinary file");
    }

    #[test]
    fn deep_brackets_are_refused_with_the_limit_named() {
        let text = format!("users: {}", "[".repeat(MAX_FLOW_DEPTH + 1));
        let err = check_yaml(&text).expect_err("too deep");
        assert!(err.contains("nesting limit"), "{err}");
        let ok = format!(
            "users: {}{}",
            "[".repeat(MAX_FLOW_DEPTH),
            "]".repeat(MAX_FLOW_DEPTH)
        );
        check_yaml(&ok).expect("at the limit");
    }

    #[test]
    fn quotes_cannot_hide_brackets() {
        // A quote inside a plain scalar is text, so the brackets after it still count.
        let text = format!("x: [a \"{}", "[".repeat(MAX_FLOW_DEPTH + 1));
        assert!(check_yaml(&text).is_err());
    }

    #[test]
    fn text_that_is_not_a_quoted_scalar_cannot_hide_brackets() {
        let deep = "[".repeat(MAX_FLOW_DEPTH + 1);
        for text in [
            // A plain scalar continued on the next line: its quote is text.
            format!("x: [a\n\"{deep}"),
            format!("key: a\n  \"b\nx: {deep}"),
            // `- `, `? ` and `,` inside a plain scalar are text too.
            format!("x: [a - \"{deep}"),
            format!("key: a, \"b\nx: {deep}"),
            // A comment at the start of a line.
            format!("key: a\n# note: \"\nx: {deep}"),
        ] {
            let err = check_yaml(&text).expect_err(&text);
            assert!(err.contains("nesting limit"), "{err}");
        }
        // Brackets inside a block plain scalar are text.
        check_yaml(&format!("name: a{}\n", "[".repeat(MAX_FLOW_DEPTH + 1))).expect("text");
        // Quoted scalars hide their brackets, on one line or several.
        check_yaml(&format!("name: \"{deep}\"\nother: '{deep}\n  {deep}'\n")).expect("text");
    }

    #[test]
    fn shared_small_nodes_pass_and_nested_aliases_are_refused() {
        let mut text = String::from("groups: &g [staff]\nusers:\n");
        for i in 0..5000 {
            text.push_str(&format!("  - {{id: u{i}, login: l{i}, groups: *g}}\n"));
        }
        check_yaml(&text).expect("shared list");

        let mut laughs = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for level in b'b'..=b'i' {
            let prev = (level - 1) as char;
            let me = level as char;
            laughs.push_str(&format!(
                "{me}: &{me} [{}]\n",
                vec![format!("*{prev}"); 9].join(",")
            ));
        }
        let err = check_yaml(&laughs).expect_err("billion laughs");
        assert!(err.contains("alias expansion limit"), "{err}");
    }

    #[test]
    fn block_anchors_end_with_their_indentation() {
        let mut text = String::from("base: &b\n  department: R&D\n  site: x\nusers:\n");
        for i in 0..5000 {
            text.push_str(&format!(
                "  - id: u{i}\n    login: l{i}\n    attributes: *b\n"
            ));
        }
        if let Err(e) = check_yaml(&text) {
            panic!("{e}")
        }
    }
}
