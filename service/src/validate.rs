//! Input checks that run before any SQL: a rejected call changes nothing.
//!
//! Every check returns [`Error::Invalid`] naming the field and the reason.

use std::str::FromStr;

use entity::Timestamp;
use entity::enums::UnknownEnumValue;

use crate::error::{Error, Result};

/// Default and bounds of `limit` (SPEC §4: 1..=1000).
pub const MAX_LIMIT: u64 = 1000;
/// Longest id accepted.
pub const MAX_ID_LEN: usize = 64;
/// Longest e-mail address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 320;
/// Longest free-text field accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 64 * 1024;
/// Longest text accepted in a column a B-tree index covers, in bytes
/// (`leads.source`, `trends.keyword`, `trends.category`,
/// `agent_executions.task`): PostgreSQL refuses index entries over about
/// 2.7 KB, and two such columns can share an entry.
pub const MAX_INDEXED_TEXT_LEN: usize = 1024;
/// Largest JSON document accepted, serialized, in bytes.
pub const MAX_JSON_LEN: usize = 1024 * 1024;
/// Deepest JSON nesting accepted (a scalar is depth 1, `[1]` depth 2).
/// Every document accepted reads back: the read side decodes far deeper
/// documents (see [`entity::Json`]), and serde_json's own limit is 128.
pub const MAX_JSON_DEPTH: usize = 64;
/// Earliest year a timestamp may have: both backends store 0001..=9999
/// the same way (SQLite as fixed-width text, which sorts wrongly outside).
pub const MIN_YEAR: i32 = 1;
/// Latest year a timestamp may have.
pub const MAX_YEAR: i32 = 9999;
/// Most rows one batch insert accepts.
pub const MAX_BATCH: usize = 10_000;
/// Widest time-series range, in days (one result row per day).
pub const MAX_SERIES_DAYS: i64 = 1000;

/// `limit` or its default, within 1..=[`MAX_LIMIT`].
///
/// # Errors
/// [`Error::Invalid`] outside the range.
pub fn limit(value: Option<u64>, default: u64) -> Result<u64> {
    let v = value.unwrap_or(default);
    if (1..=MAX_LIMIT).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(
            "limit",
            format!("{v} is outside 1..={MAX_LIMIT}"),
        ))
    }
}

/// A row id: non-empty, at most [`MAX_ID_LEN`] bytes, no whitespace or
/// control characters.
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn id(field: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid(
            field,
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            field,
            "contains whitespace or control characters",
        ));
    }
    Ok(())
}

/// Free text: at most `max` bytes and no NUL (PostgreSQL cannot store it).
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.len() > max {
        return Err(Error::invalid(
            field,
            format!("{} bytes is longer than the {max} allowed", value.len()),
        ));
    }
    if value.contains('\0') {
        return Err(Error::invalid(field, "contains a NUL character"));
    }
    Ok(())
}

/// Required free text: like [`text`], and not blank.
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn required_text(field: &'static str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be blank"));
    }
    text(field, value, max)
}

/// Optional free text.
///
/// # Errors
/// [`Error::Invalid`] as [`text`].
pub fn opt_text(field: &'static str, value: Option<&str>, max: usize) -> Result<()> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

/// An e-mail address: one `@` with text on both sides, no spaces.
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn email(field: &'static str, value: &str) -> Result<()> {
    text(field, value, MAX_EMAIL_LEN)?;
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !value.chars().any(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(Error::invalid(
            field,
            format!("{value:?} is not an e-mail address"),
        )),
    }
}

/// A finite number (not NaN or infinite).
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn finite(field: &'static str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{value} is not a finite number"),
        ))
    }
}

/// An optional finite number.
///
/// # Errors
/// [`Error::Invalid`] as [`finite`].
pub fn opt_finite(field: &'static str, value: Option<f64>) -> Result<()> {
    value.map_or(Ok(()), |v| finite(field, v))
}

/// A finite number that is not negative.
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn non_negative(field: &'static str, value: Option<f64>) -> Result<()> {
    match value {
        Some(v) => {
            finite(field, v)?;
            if v < 0.0 {
                Err(Error::invalid(field, format!("{v} is negative")))
            } else {
                Ok(())
            }
        }
        None => Ok(()),
    }
}

/// A JSON document: nested at most [`MAX_JSON_DEPTH`] levels, at most
/// [`MAX_JSON_LEN`] bytes serialized, and no NUL character in any string
/// or object key (PostgreSQL's `jsonb` cannot store `\u0000`). A string
/// holding a backslash followed by `u0000` is ordinary text and accepted.
///
/// The depth is checked first, without recursion, so that a hostile
/// document cannot exhaust the stack before it is refused.
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn json(field: &'static str, value: &serde_json::Value) -> Result<()> {
    use serde_json::Value;
    // (value, depth) pairs still to visit; a scalar is depth 1.
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((v, depth)) = stack.pop() {
        if depth > MAX_JSON_DEPTH {
            return Err(Error::invalid(
                field,
                format!("JSON nested deeper than {MAX_JSON_DEPTH} levels"),
            ));
        }
        match v {
            Value::String(s) if s.contains('\0') => {
                return Err(Error::invalid(field, "contains a NUL character"));
            }
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => {
                for (k, item) in map {
                    if k.contains('\0') {
                        return Err(Error::invalid(field, "contains a NUL character"));
                    }
                    stack.push((item, depth + 1));
                }
            }
            _ => {}
        }
    }
    let len = value.to_string().len();
    if len > MAX_JSON_LEN {
        return Err(Error::invalid(
            field,
            format!("{len} bytes of JSON is more than the {MAX_JSON_LEN} allowed"),
        ));
    }
    Ok(())
}

/// An optional JSON document.
///
/// # Errors
/// [`Error::Invalid`] as [`json`].
pub fn opt_json(field: &'static str, value: Option<&serde_json::Value>) -> Result<()> {
    value.map_or(Ok(()), |v| json(field, v))
}

/// A timestamp within years [`MIN_YEAR`]..=[`MAX_YEAR`], the range both
/// backends store and order alike.
///
/// # Errors
/// [`Error::Invalid`] outside it.
pub fn timestamp(field: &'static str, value: Timestamp) -> Result<()> {
    use chrono::Datelike;
    let year = value.as_datetime().year();
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("year {year} is outside {MIN_YEAR:04}..={MAX_YEAR}"),
        ))
    }
}

/// An optional timestamp, as [`timestamp`].
///
/// # Errors
/// [`Error::Invalid`] outside the range.
pub fn opt_timestamp(field: &'static str, value: Option<Timestamp>) -> Result<()> {
    value.map_or(Ok(()), |v| timestamp(field, v))
}

/// `from <= to` where both are given, each within the range of
/// [`timestamp`].
///
/// # Errors
/// [`Error::Invalid`] for a bound out of range or an inverted range.
pub fn range(field: &'static str, from: Option<Timestamp>, to: Option<Timestamp>) -> Result<()> {
    opt_timestamp(field, from)?;
    opt_timestamp(field, to)?;
    match (from, to) {
        (Some(f), Some(t)) if f > t => {
            Err(Error::invalid(field, format!("from {f} is after to {t}")))
        }
        _ => Ok(()),
    }
}

/// A batch of `len` rows: at least one, at most [`MAX_BATCH`].
///
/// # Errors
/// [`Error::Invalid`] otherwise.
pub fn batch(field: &'static str, len: usize) -> Result<()> {
    if len > MAX_BATCH {
        Err(Error::invalid(
            field,
            format!("{len} rows is more than the {MAX_BATCH} one batch accepts"),
        ))
    } else {
        Ok(())
    }
}

/// Parses an enum from its database value; the error lists the valid ones.
///
/// # Errors
/// [`Error::Invalid`] naming `field` for an unknown value.
pub fn enum_value<T>(field: &'static str, value: &str) -> Result<T>
where
    T: FromStr<Err = UnknownEnumValue>,
{
    value
        .parse()
        .map_err(|e: UnknownEnumValue| Error::invalid(field, e.to_string()))
}

/// The list elements as free text.
///
/// # Errors
/// [`Error::Invalid`] as [`text`], or for more than 1000 elements.
pub fn text_list(field: &'static str, values: &[String]) -> Result<()> {
    if values.len() > 1000 {
        return Err(Error::invalid(field, "more than 1000 elements"));
    }
    values.iter().try_for_each(|v| text(field, v, MAX_TEXT_LEN))
}
