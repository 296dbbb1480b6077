//! [`Json`]: Prisma's `Json` columns (`JSONB` on PostgreSQL, `TEXT` on
//! SQLite), as a `serde_json::Value` that always reads back.
//!
//! A plain `serde_json::Value` column is decoded by the driver with
//! serde_json's recursion limit of 128 levels: one row whose document is
//! nested deeper (another writer can store up to the server's own stack
//! limit, about ten thousand levels on PostgreSQL; SQLite has none) would
//! make every query that returns it fail, for every caller. `Json` decodes
//! the raw text itself:
//!
//! * documents up to 128 levels (all of them, in practice) go through
//!   serde_json directly;
//! * deeper ones up to [`MAX_READ_DEPTH`] levels are parsed without
//!   recursion ([`parse_deep`]), so no stack is at risk;
//! * deeper still (nothing a `serde_json::Value` can hold safely: dropping
//!   or cloning one recurses per level) the row still reads, and the
//!   column holds the document's text as a JSON string, unchanged.
//!
//! Writes through the service are bounded far lower (64 levels, see
//! `service::validate::json`), so what the service accepts reads back as
//! the same value.

use std::fmt;
use std::ops::{Deref, DerefMut};

use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The deepest document decoded as a structured value; deeper ones read
/// as their text (see the module documentation).
pub const MAX_READ_DEPTH: usize = 2048;

/// A JSON document: a `serde_json::Value` (it derefs to one) that reads
/// back from the database whatever its depth.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(pub serde_json::Value);

impl Json {
    /// The value.
    pub fn into_inner(self) -> serde_json::Value {
        self.0
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Deref for Json {
    type Target = serde_json::Value;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Json {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        Self(value)
    }
}

impl From<Json> for serde_json::Value {
    fn from(value: Json) -> Self {
        value.0
    }
}

impl PartialEq<serde_json::Value> for Json {
    fn eq(&self, other: &serde_json::Value) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Json> for serde_json::Value {
    fn eq(&self, other: &Json) -> bool {
        *self == other.0
    }
}

impl From<Json> for Value {
    fn from(value: Json) -> Self {
        Value::Json(Some(Box::new(value.0)))
    }
}

impl ValueType for Json {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Json(Some(j)) => Ok(Self(*j)),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Json".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Json
    }

    fn column_type() -> ColumnType {
        ColumnType::JsonBinary
    }
}

impl Nullable for Json {
    fn null() -> Value {
        Value::Json(None)
    }
}

impl IntoActiveValue<Json> for Json {
    fn into_active_value(self) -> sea_orm::ActiveValue<Json> {
        sea_orm::ActiveValue::Set(self)
    }
}

impl TryGetable for Json {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        // PostgreSQL: the document's text without parsing it into a value
        // (a raw value is scanned, not recursed into). SQLite: the TEXT.
        let text = match res
            .try_get_from_sqlx_postgres::<sea_orm::sqlx::types::Json<Box<RawValue>>, I>(idx)
        {
            Some(raw) => raw?.0.get().to_owned(),
            None => String::try_get_by(res, idx)?,
        };
        decode(&text)
            .map(Json)
            .map_err(|e| TryGetError::DbErr(sea_orm::DbErr::Json(format!("column {idx:?}: {e}"))))
    }
}

/// Decodes a stored document: serde_json first, [`parse_deep`] for
/// documents past serde_json's recursion limit, and the text itself (as a
/// JSON string) past [`MAX_READ_DEPTH`].
///
/// # Errors
/// Text that is not JSON.
pub fn decode(text: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(e) if e.to_string().contains("recursion limit") => {
            match parse_deep(text, MAX_READ_DEPTH) {
                Ok(v) => Ok(v),
                Err(DeepError::TooDeep) => Ok(serde_json::Value::String(text.to_owned())),
                Err(DeepError::Syntax(e)) => Err(e),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Why [`parse_deep`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeepError {
    /// Nested deeper than the limit.
    TooDeep,
    /// Not JSON.
    Syntax(String),
}

enum Frame {
    Array(Vec<serde_json::Value>),
    Object(serde_json::Map<String, serde_json::Value>, String),
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        let bytes = self.text.as_bytes();
        while matches!(bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, what: &str) -> DeepError {
        DeepError::Syntax(format!("{what} at byte {}", self.pos))
    }

    /// A string token starting at the current `"`.
    fn string(&mut self) -> Result<String, DeepError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.error("unterminated string")),
                Some(b'\\') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        let token = self
            .text
            .get(start..=i)
            .ok_or_else(|| self.error("bad string"))?;
        self.pos = i + 1;
        serde_json::from_str(token).map_err(|e| DeepError::Syntax(e.to_string()))
    }

    /// A number, `true`, `false` or `null`.
    fn scalar(&mut self) -> Result<serde_json::Value, DeepError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start;
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
        {
            i += 1;
        }
        if i == start {
            return Err(self.error("expected a value"));
        }
        self.pos = i;
        let token = self
            .text
            .get(start..i)
            .ok_or_else(|| self.error("bad value"))?;
        serde_json::from_str(token).map_err(|e| DeepError::Syntax(e.to_string()))
    }
}

/// Parses JSON of any depth up to `max_depth` without recursion (a scalar
/// is depth 1, `[1]` depth 2): an explicit stack of open arrays and
/// objects replaces the call stack. Scalars and strings are parsed by
/// serde_json, so values equal what `serde_json::from_str` gives.
///
/// # Errors
/// [`DeepError::TooDeep`] past `max_depth`; [`DeepError::Syntax`] for text
/// that is not one JSON document.
pub fn parse_deep(text: &str, max_depth: usize) -> Result<serde_json::Value, DeepError> {
    use serde_json::Value;
    let mut cur = Cursor { text, pos: 0 };
    let mut stack: Vec<Frame> = Vec::new();
    'value: loop {
        // Parse one value (opening containers as they come).
        let mut value = match cur.peek() {
            Some(b'[') => {
                cur.pos += 1;
                if stack.len() + 1 >= max_depth {
                    return Err(DeepError::TooDeep);
                }
                if cur.peek() == Some(b']') {
                    cur.pos += 1;
                    Value::Array(Vec::new())
                } else {
                    stack.push(Frame::Array(Vec::new()));
                    continue 'value;
                }
            }
            Some(b'{') => {
                cur.pos += 1;
                if stack.len() + 1 >= max_depth {
                    return Err(DeepError::TooDeep);
                }
                match cur.peek() {
                    Some(b'}') => {
                        cur.pos += 1;
                        Value::Object(serde_json::Map::new())
                    }
                    Some(b'"') => {
                        let key = cur.string()?;
                        if cur.peek() != Some(b':') {
                            return Err(cur.error("expected ':'"));
                        }
                        cur.pos += 1;
                        stack.push(Frame::Object(serde_json::Map::new(), key));
                        continue 'value;
                    }
                    _ => return Err(cur.error("expected a key or '}'")),
                }
            }
            Some(b'"') => Value::String(cur.string()?),
            Some(_) => cur.scalar()?,
            None => return Err(cur.error("unexpected end")),
        };
        // Hand the finished value to its container, closing containers
        // whose last element it was.
        loop {
            match stack.last_mut() {
                None => {
                    if cur.peek().is_some() {
                        return Err(cur.error("trailing characters"));
                    }
                    return Ok(value);
                }
                Some(Frame::Array(items)) => items.push(value),
                Some(Frame::Object(map, key)) => {
                    map.insert(std::mem::take(key), value);
                }
            }
            match (cur.peek(), stack.last_mut()) {
                (Some(b','), Some(Frame::Array(_))) => {
                    cur.pos += 1;
                    continue 'value;
                }
                (Some(b','), Some(Frame::Object(_, key))) => {
                    cur.pos += 1;
                    if cur.peek() != Some(b'"') {
                        return Err(cur.error("expected a key"));
                    }
                    *key = cur.string()?;
                    if cur.peek() != Some(b':') {
                        return Err(cur.error("expected ':'"));
                    }
                    cur.pos += 1;
                    continue 'value;
                }
                (Some(b']'), Some(Frame::Array(_))) | (Some(b'}'), Some(Frame::Object(..))) => {
                    cur.pos += 1;
                    value = match stack.pop() {
                        Some(Frame::Array(items)) => Value::Array(items),
                        Some(Frame::Object(map, _)) => Value::Object(map),
                        None => return Err(cur.error("unbalanced")),
                    };
                }
                _ => return Err(cur.error("expected ',' or a closing bracket")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        let mut s = String::new();
        for i in 0..depth - 1 {
            if i % 2 == 0 {
                s.push('[');
            } else {
                s.push_str("{\"k\":");
            }
        }
        s.push_str("\"leaf\"");
        for i in (0..depth - 1).rev() {
            s.push(if i % 2 == 0 { ']' } else { '}' });
        }
        s
    }

    #[test]
    fn deep_parse_equals_serde_json_where_both_work() {
        for text in [
            r#"{"a":[1,2.5,-3e2,true,false,null,"x\"y\\u0000z"],"b":{},"c":[],"d":{"e":[[{}]]}}"#,
            "  [ 1 , [ 2 , { \"k\" : \"v\" } ] ]  ",
            "\"just a string\"",
            "42",
            &nested(100),
        ] {
            let expected: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_deep(text, 1000).unwrap(), expected, "{text}");
        }
        for bad in ["[1,", "{\"a\" 1}", "[1]]", "{,}", "[1 2]", "", "tru"] {
            assert!(
                matches!(parse_deep(bad, 100), Err(DeepError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn documents_past_serde_jsons_limit_decode() {
        let text = nested(200);
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
        let v = decode(&text).unwrap();
        // Walk down: 199 containers, then the leaf.
        let mut node = &v;
        let mut depth = 1;
        loop {
            node = match node {
                serde_json::Value::Array(a) => &a[0],
                serde_json::Value::Object(m) => &m["k"],
                _ => break,
            };
            depth += 1;
        }
        assert_eq!((depth, node), (200, &serde_json::json!("leaf")));
        // Raw values are scanned without the recursion limit.
        let raw: Box<RawValue> = serde_json::from_str(&nested(5000)).unwrap();
        assert_eq!(raw.get().len(), nested(5000).len());
    }

    #[test]
    fn documents_past_the_read_limit_come_back_as_their_text() {
        let text = nested(MAX_READ_DEPTH + 10);
        assert_eq!(parse_deep(&text, MAX_READ_DEPTH), Err(DeepError::TooDeep));
        assert_eq!(decode(&text).unwrap(), serde_json::Value::String(text));
    }
}
