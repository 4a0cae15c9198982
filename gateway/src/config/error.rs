//! Config problems located in their file: `FILE:LINE:COL: reason`.
//!
//! Collects every problem found instead of stopping at the first; never
//! prints a secret's content (only paths and key names reach a message).

use std::fmt;
use std::ops::Range;

/// One problem with its byte span in the config text (if known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub line: usize,
    pub col: usize,
    pub reason: String,
}

/// All problems of one config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    pub origin: String,
    pub problems: Vec<ConfigProblem>,
}

impl ConfigErrors {
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.origin, p.line, p.col, p.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Accumulates problems against one source text.
pub struct Problems<'a> {
    text: &'a str,
    errors: ConfigErrors,
}

impl<'a> Problems<'a> {
    pub fn new(text: &'a str, origin: &str) -> Self {
        Self {
            text,
            errors: ConfigErrors {
                origin: origin.to_string(),
                problems: Vec::new(),
            },
        }
    }

    /// Records a problem at `span` (1-based line and column of its start).
    pub fn at(&mut self, span: Range<usize>, reason: impl Into<String>) {
        let start = span.start.min(self.text.len());
        let before = self.text.get(..start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.errors.problems.push(ConfigProblem {
            line,
            col,
            reason: reason.into(),
        });
    }

    /// How many problems are recorded so far.
    pub fn len(&self) -> usize {
        self.errors.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.problems.is_empty()
    }

    /// Records a TOML/serde error at its span (the file start when unknown).
    pub fn toml(&mut self, e: &toml::de::Error) {
        let reason = e.message().trim().replace('\n', " ");
        self.at(e.span().unwrap_or(0..0), reason);
    }

    /// The problems recorded so far, for a caller that has recorded one.
    pub fn into_errors(self) -> ConfigErrors {
        self.errors
    }

    pub fn finish(self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_columns() {
        let text = "a = 1\nbb = 2\n";
        let mut p = Problems::new(text, "x.toml");
        p.at(6..8, "bad bb");
        p.at(0..1, "bad a");
        let e = p.finish().unwrap_err();
        assert_eq!(e.to_string(), "x.toml:2:1: bad bb\nx.toml:1:1: bad a");
    }
}
