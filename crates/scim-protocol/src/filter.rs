//! Filters (RFC 7644 §3.4.2.2): the parsed expression, its text form, and its evaluation
//! against a resource.
//!
//! The grammar: attribute expressions `attrPath op value` (`eq ne co sw ew gt ge lt le`)
//! and `attrPath pr`, the logical operators `and`, `or` and `not (...)` with precedence
//! `not` > `and` > `or`, grouping with parentheses, and value paths
//! `emails[type eq "work" and value co "@example.com"]`. Operators, keywords and attribute
//! names are matched without regard to case; string comparisons follow the attribute's
//! `caseExact` (RFC 7643 §2.2), dateTime attributes compare as instants.

mod eval;
mod parse;

use std::fmt;

use serde_json::Value;

use crate::path::AttrPath;

pub(crate) use parse::parse_value_filter;
pub use parse::{MAX_FILTER_DEPTH, parse_filter};

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal (also true when the attribute has no value).
    Ne,
    /// `co`: the value contains the operand.
    Co,
    /// `sw`: the value starts with the operand.
    Sw,
    /// `ew`: the value ends with the operand.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    /// The operator as the RFC writes it (lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator named by `s`, in any case; `None` for another word.
    pub fn parse(s: &str) -> Option<CompareOp> {
        [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]
        .into_iter()
        .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether the operator orders values (`gt ge lt le`).
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// A parsed filter (RFC 7644 §3.4.2.2). `and` and `or` keep their operands in a list, so
/// a long chain is flat and only parentheses and `not` nest (at most
/// [`MAX_FILTER_DEPTH`] levels).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op compValue`; the value is a JSON string, number, boolean or null.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal.
        value: Value,
    },
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `attrPath[valFilter]`: some value of the multi-valued complex attribute matches the
    /// inner filter, whose paths name its sub-attributes.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter over one of its values.
        filter: Box<Filter>,
    },
    /// `not (filter)`.
    Not(Box<Filter>),
    /// Every operand matches (at least two).
    And(Vec<Filter>),
    /// Some operand matches (at least two).
    Or(Vec<Filter>),
}

impl Filter {
    /// `path eq value`, a convenience for the most common filter.
    pub fn eq(path: AttrPath, value: impl Into<Value>) -> Filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: value.into(),
        }
    }

    /// The `path eq value` terms of a filter made only of them joined by `and` (such as
    /// `type eq "work"`), which describe a value the filter would select; `None` for any
    /// other filter.
    pub fn equalities(&self) -> Option<Vec<(&AttrPath, &Value)>> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if !value.is_null() => Some(vec![(path, value)]),
            Filter::And(parts) => {
                let mut all = Vec::new();
                for part in parts {
                    all.extend(part.equalities()?);
                }
                Some(all)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Filter {
    /// The filter as RFC 7644 text that parses back to the same filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(parts) => join(f, parts, " and ", |p| matches!(p, Filter::Or(_))),
            Filter::Or(parts) => join(f, parts, " or ", |_| false),
        }
    }
}

fn join(
    f: &mut fmt::Formatter<'_>,
    parts: &[Filter],
    sep: &str,
    needs_parens: impl Fn(&Filter) -> bool,
) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        // A nested chain of the same operator keeps its own grouping, so that the text
        // parses back to the same tree.
        let same = matches!(
            (part, sep),
            (Filter::And(_), " and ") | (Filter::Or(_), " or ")
        );
        if same || needs_parens(part) {
            write!(f, "({part})")?;
        } else {
            write!(f, "{part}")?;
        }
    }
    Ok(())
}
