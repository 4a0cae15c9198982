//! A validating pull reader for JSON text (RFC 8259), for the decoders on
//! the hot path (ChirpStack uplinks, direct device payloads): the caller
//! walks objects and arrays, reads the values it wants and skips the rest.
//!
//! Skipped values are still checked against the whole grammar, so malformed
//! JSON is refused wherever it hides; only the value of a skipped `\u`
//! escape is not judged (as serde_json does). Strings borrow from the input
//! unless they hold escapes. Nesting is bounded by [`MAX_DEPTH`] and
//! nothing recurses on input. Never panics, whatever the input.

use alloc::borrow::Cow;
use core::fmt;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// Why a JSON text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all: the text breaks the grammar at byte `at`.
    Syntax { at: usize, problem: &'static str },
    /// Well-formed JSON, but a value is not what the document must hold.
    Value {
        at: usize,
        field: &'static str,
        problem: &'static str,
    },
}

impl JsonError {
    /// Whether the text is malformed (rather than wrongly shaped).
    pub fn is_syntax(&self) -> bool {
        matches!(self, Self::Syntax { .. })
    }

    /// Names the field a value error is about, unless an inner reader
    /// named it already (syntax errors are kept as they are).
    pub fn in_field(self, name: &'static str) -> Self {
        match self {
            Self::Value {
                at,
                field: "",
                problem,
            } => Self::Value {
                at,
                field: name,
                problem,
            },
            named => named,
        }
    }

    /// A value error about `field`, at no particular place.
    pub fn field(field: &'static str, problem: &'static str) -> Self {
        Self::Value {
            at: 0,
            field,
            problem,
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { at, problem } => write!(f, "malformed JSON at byte {at}: {problem}"),
            Self::Value {
                field: "", problem, ..
            } => f.write_str(problem),
            Self::Value { field, problem, .. } => write!(f, "{field}: {problem}"),
        }
    }
}

impl core::error::Error for JsonError {}

/// What the next value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// Reads one JSON text from the front; see the module documentation.
#[derive(Debug, Clone)]
pub struct JsonReader<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

type Result<T> = core::result::Result<T, JsonError>;

impl<'a> JsonReader<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
        }
    }

    /// The kind of the next value (nothing is consumed).
    pub fn peek_kind(&mut self) -> Result<JsonKind> {
        match self.peek() {
            Some(b'{') => Ok(JsonKind::Object),
            Some(b'[') => Ok(JsonKind::Array),
            Some(b'"') => Ok(JsonKind::String),
            Some(b'-' | b'0'..=b'9') => Ok(JsonKind::Number),
            Some(b't' | b'f') => Ok(JsonKind::Bool),
            Some(b'n') => Ok(JsonKind::Null),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// Reads an object, calling `member` with each key; `member` must read
    /// or skip exactly that key's value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.open(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            return self.close();
        }
        loop {
            let key = self.key()?;
            member(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => return self.close(),
                _ => return Err(self.syntax("expected , or } after a member")),
            }
        }
    }

    /// Reads an object as a record: `null` members count as absent (proto3
    /// JSON); `field` is called for the others and says whether it read
    /// the value; the values it leaves are skipped.
    pub fn fields(&mut self, mut field: impl FnMut(&mut Self, &str) -> Result<bool>) -> Result<()> {
        self.object(|r, key| {
            if !r.skip_null()? && !field(r, &key)? {
                r.skip()?;
            }
            Ok(())
        })
    }

    /// Reads an array, calling `element` for each element; `element` must
    /// read or skip exactly one value.
    pub fn array(&mut self, mut element: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.open(b'[', "expected an array")?;
        if self.peek() == Some(b']') {
            return self.close();
        }
        loop {
            element(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => return self.close(),
                _ => return Err(self.syntax("expected , or ] after an element")),
            }
        }
    }

    /// Reads a string.
    pub fn str(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.wrong_type("expected a string"));
        }
        let (text, end) = lexer::string(self.text, self.pos + 1)?;
        self.pos = end;
        Ok(text)
    }

    /// Reads `true` or `false`.
    pub fn bool(&mut self) -> Result<bool> {
        let (word, value) = match self.peek() {
            Some(b't') => ("true", true),
            Some(b'f') => ("false", false),
            _ => return Err(self.wrong_type("expected true or false")),
        };
        self.pos = lexer::literal(self.text.as_bytes(), self.pos, word)?;
        Ok(value)
    }

    /// Reads `null`.
    pub fn null(&mut self) -> Result<()> {
        if self.peek() != Some(b'n') {
            return Err(self.wrong_type("expected null"));
        }
        self.pos = lexer::literal(self.text.as_bytes(), self.pos, "null")?;
        Ok(())
    }

    /// Consumes a `null`, if that is the next value.
    pub fn skip_null(&mut self) -> Result<bool> {
        if self.peek_kind()? != JsonKind::Null {
            return Ok(false);
        }
        self.null().map(|()| true)
    }

    /// Reads an RFC 3339 timestamp string.
    pub fn timestamp(&mut self) -> Result<crate::Timestamp> {
        let at = self.pos;
        self.str()?
            .parse()
            .map_err(|_| value_error(at, "expected an RFC 3339 timestamp"))
    }

    /// Reads a number as the nearest `f64`; a number too large for one is
    /// refused.
    pub fn f64(&mut self) -> Result<f64> {
        let (at, text, _) = self.number()?;
        if let Some(x) = lexer::exact_f64(text.as_bytes()) {
            return Ok(x);
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(value_error(at, "number out of range")),
        }
    }

    /// Reads an integer that fits `T` (no fraction, no exponent).
    pub fn integer<T: core::str::FromStr>(&mut self) -> Result<T> {
        let (at, text, integral) = self.number()?;
        if !integral {
            return Err(value_error(at, "expected an integer"));
        }
        text.parse()
            .map_err(|_| value_error(at, "integer out of range"))
    }

    /// Skips one value of any kind, checking its grammar.
    pub fn skip(&mut self) -> Result<()> {
        self.pos = lexer::skip_value(self.text, self.pos, MAX_DEPTH - self.depth)?;
        Ok(())
    }

    /// Refuses anything but whitespace after the value read.
    pub fn finish(mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.syntax("trailing characters after the JSON value")),
        }
    }

    /// The next number: where it starts, its text, whether it is integral.
    fn number(&mut self) -> Result<(usize, &'a str, bool)> {
        if self.peek() != Some(b'-') && !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.wrong_type("expected a number"));
        }
        let start = self.pos;
        let (end, integral) = lexer::number_end(self.text.as_bytes(), start)?;
        self.pos = end;
        Ok((
            start,
            self.text.get(start..end).unwrap_or_default(),
            integral,
        ))
    }

    fn open(&mut self, bracket: u8, expected: &'static str) -> Result<()> {
        if self.peek() != Some(bracket) {
            return Err(self.wrong_type(expected));
        }
        if self.depth >= MAX_DEPTH {
            return Err(self.syntax("nested too deeply"));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    /// Consumes the closing bracket of the innermost container.
    fn close(&mut self) -> Result<()> {
        self.depth -= 1;
        self.pos += 1;
        Ok(())
    }

    /// A member's key and its colon.
    #[inline(always)]
    fn key(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let (key, end) = lexer::string(self.text, self.pos + 1)?;
        self.pos = lexer::colon_end(self.text.as_bytes(), end)?;
        Ok(key)
    }

    /// The next byte that is not whitespace (not consumed).
    fn peek(&mut self) -> Option<u8> {
        self.pos = lexer::skip_ws(self.text.as_bytes(), self.pos);
        self.text.as_bytes().get(self.pos).copied()
    }

    fn syntax(&self, problem: &'static str) -> JsonError {
        JsonError::Syntax {
            at: self.pos,
            problem,
        }
    }

    /// A value of the wrong kind is a value error; no value is a syntax one.
    fn wrong_type(&mut self, expected: &'static str) -> JsonError {
        match self.peek_kind() {
            Ok(_) => value_error(self.pos, expected),
            Err(e) => e,
        }
    }
}

/// Fills `slot` from `value` (naming `field` in its error), refusing a
/// second occurrence of the field; `true`: the value was read (for
/// [`JsonReader::fields`]).
pub fn once<T>(slot: &mut Option<T>, field: &'static str, value: Result<T>) -> Result<bool> {
    if slot.is_some() {
        return Err(JsonError::field(field, "appears twice"));
    }
    *slot = Some(value.map_err(|e| e.in_field(field))?);
    Ok(true)
}

fn value_error(at: usize, problem: &'static str) -> JsonError {
    JsonError::Value {
        at,
        field: "",
        problem,
    }
}

mod lexer;

#[cfg(test)]
mod tests;
