//! Column types that must look the same to Rust on both backends.
//!
//! * [`Timestamp`]: Prisma's `DateTime` is `TIMESTAMP(3)` *without* time
//!   zone on PostgreSQL, holding UTC. sqlx binds a `DateTime<Utc>` as
//!   `timestamptz` (which PostgreSQL then shifts by the session time zone)
//!   and refuses to decode a `timestamp` column into one. `Timestamp` binds
//!   and decodes the naive value and presents it as `DateTime<Utc>`,
//!   truncated to milliseconds so that what is written reads back equal.
//!   On SQLite it is stored as `YYYY-MM-DD HH:MM:SS.fff` text, which sorts
//!   chronologically.
//! * [`DbList`] (`PlatformList`, `StringList`): Prisma's scalar lists,
//!   `"Platform"[]` and `TEXT[]` on PostgreSQL. SQLite has no arrays (and
//!   sea-query-sqlx panics when asked to bind one), so there the list is
//!   stored as a JSON array in TEXT. Reading decodes per backend; writing
//!   produces a PostgreSQL array value that the service rewrites to JSON
//!   text before binding on SQLite (see [`sqlite_compatible`]).

use std::fmt;
use std::ops::Deref;

use chrono::{DateTime, NaiveDateTime, Utc};
use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, IntoActiveValue, QueryResult, TryGetError, TryGetable, Value};
use serde::{Deserialize, Serialize};

use crate::enums::Platform;

/// A UTC instant with millisecond precision, as Prisma's `DateTime`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "DateTime<Utc>", into = "DateTime<Utc>")]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The current time, truncated to milliseconds.
    pub fn now() -> Self {
        Self::from(Utc::now())
    }

    /// The instant as a `DateTime<Utc>`.
    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// The naive UTC value the database stores.
    pub fn naive_utc(self) -> NaiveDateTime {
        self.0.naive_utc()
    }

    /// Milliseconds since the Unix epoch.
    pub fn timestamp_millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The instant `millis` milliseconds after the Unix epoch, if representable.
    pub fn from_timestamp_millis(millis: i64) -> Option<Self> {
        DateTime::from_timestamp_millis(millis).map(Self)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    /// Truncates to whole milliseconds (`TIMESTAMP(3)`).
    fn from(value: DateTime<Utc>) -> Self {
        Self(DateTime::from_timestamp_millis(value.timestamp_millis()).unwrap_or(value))
    }
}

impl From<NaiveDateTime> for Timestamp {
    /// Reads a naive value as UTC, truncated to whole milliseconds.
    fn from(value: NaiveDateTime) -> Self {
        Self::from(value.and_utc())
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl Deref for Timestamp {
    type Target = DateTime<Utc>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

impl From<Timestamp> for Value {
    fn from(value: Timestamp) -> Self {
        Value::ChronoDateTime(Some(value.naive_utc()))
    }
}

impl TryGetable for Timestamp {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        NaiveDateTime::try_get_by(res, idx).map(Self::from)
    }
}

impl ValueType for Timestamp {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::ChronoDateTime(Some(n)) => Ok(Self::from(n)),
            Value::ChronoDateTimeUtc(Some(d)) => Ok(Self::from(d)),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Timestamp".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::ChronoDateTime
    }

    fn column_type() -> ColumnType {
        ColumnType::DateTime
    }
}

impl Nullable for Timestamp {
    fn null() -> Value {
        Value::ChronoDateTime(None)
    }
}

impl IntoActiveValue<Timestamp> for Timestamp {
    fn into_active_value(self) -> sea_orm::ActiveValue<Timestamp> {
        sea_orm::ActiveValue::Set(self)
    }
}

/// An element of a [`DbList`]: a value with a text form.
pub trait ListElement: Sized + Clone {
    /// The PostgreSQL column type of the whole list (`TEXT[]`, `"Platform"[]`).
    fn list_column_type() -> ColumnType;
    /// The element as text (the enum value for enums).
    fn to_text(&self) -> String;
    /// Parses an element back from its text form.
    fn from_text(text: String) -> Result<Self, String>;
}

impl ListElement for String {
    fn list_column_type() -> ColumnType {
        ColumnType::Array(sea_orm::sea_query::RcOrArc::new(ColumnType::Text))
    }

    fn to_text(&self) -> String {
        self.clone()
    }

    fn from_text(text: String) -> Result<Self, String> {
        Ok(text)
    }
}

impl ListElement for Platform {
    fn list_column_type() -> ColumnType {
        use sea_orm::sea_query::{Alias, IntoIden};
        ColumnType::Array(sea_orm::sea_query::RcOrArc::new(ColumnType::Enum {
            name: Alias::new(Platform::DB_NAME).into_iden(),
            variants: Platform::VALUES
                .iter()
                .map(|v| Alias::new(*v).into_iden())
                .collect(),
        }))
    }

    fn to_text(&self) -> String {
        self.as_str().to_owned()
    }

    fn from_text(text: String) -> Result<Self, String> {
        text.parse()
            .map_err(|e: crate::enums::UnknownEnumValue| e.to_string())
    }
}

/// A Prisma scalar list column. Derefs to `Vec<T>`.
///
/// Prisma creates these columns nullable and reads `NULL` as an empty
/// list; so does this type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DbList<T>(pub Vec<T>);

impl<T> Default for DbList<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// `campaigns.platforms`: `"Platform"[]` on PostgreSQL.
pub type PlatformList = DbList<Platform>;
/// `leads.tags`, `design_templates.tags`: `TEXT[]` on PostgreSQL.
pub type StringList = DbList<String>;

impl<T> Deref for DbList<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> From<Vec<T>> for DbList<T> {
    fn from(value: Vec<T>) -> Self {
        Self(value)
    }
}

impl<T> FromIterator<T> for DbList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<T: ListElement> From<DbList<T>> for Value {
    /// A PostgreSQL text array; the column's `save_as` casts it to the
    /// enum array type where the column is one.
    fn from(value: DbList<T>) -> Self {
        let items = value
            .0
            .iter()
            .map(|v| Value::String(Some(v.to_text())))
            .collect();
        Value::Array(ArrayType::String, Some(Box::new(items)))
    }
}

fn list_decode_error(reason: String) -> TryGetError {
    TryGetError::DbErr(sea_orm::DbErr::Type(reason))
}

impl<T: ListElement> TryGetable for DbList<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        // PostgreSQL: a native array (enum arrays are selected as text[]).
        // SQLite: JSON text. `Vec<String>` is refused at once by SQLite
        // rows, so trying it first costs nothing there.
        let texts: Vec<String> = match Option::<Vec<String>>::try_get_by(res, idx) {
            Ok(opt) => opt.unwrap_or_default(),
            Err(_) => match Option::<String>::try_get_by(res, idx)? {
                None => Vec::new(),
                Some(json) => serde_json::from_str(&json).map_err(|e| {
                    list_decode_error(format!("list column {idx:?} is not a JSON array: {e}"))
                })?,
            },
        };
        texts
            .into_iter()
            .map(T::from_text)
            .collect::<Result<Vec<T>, String>>()
            .map(Self)
            .map_err(list_decode_error)
    }
}

impl<T: ListElement> ValueType for DbList<T> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Array(_, Some(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(Some(s)) => T::from_text(s).map_err(|_| ValueTypeErr),
                    Value::Enum(sea_orm::sea_query::OptionEnum::Some(e)) => {
                        T::from_text(e.value.to_string()).map_err(|_| ValueTypeErr)
                    }
                    _ => Err(ValueTypeErr),
                })
                .collect::<Result<Vec<T>, _>>()
                .map(Self),
            Value::Array(_, None) => Ok(Self(Vec::new())),
            Value::String(Some(json)) => serde_json::from_str::<Vec<String>>(&json)
                .map_err(|_| ValueTypeErr)?
                .into_iter()
                .map(|s| T::from_text(s).map_err(|_| ValueTypeErr))
                .collect::<Result<Vec<T>, _>>()
                .map(Self),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "DbList".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        T::list_column_type()
    }
}

impl<T: ListElement> Nullable for DbList<T> {
    fn null() -> Value {
        Value::Array(ArrayType::String, None)
    }
}

impl<T: ListElement> IntoActiveValue<DbList<T>> for DbList<T> {
    fn into_active_value(self) -> sea_orm::ActiveValue<DbList<T>> {
        sea_orm::ActiveValue::Set(self)
    }
}

/// The text form of timestamps on SQLite: fixed width, so that text
/// comparison is chronological comparison (also at whole seconds, where
/// sqlx's own encoding would drop the fraction).
pub const SQLITE_TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.3f";

/// Rewrites a bound value for SQLite: a PostgreSQL array becomes its JSON
/// text (the storage of [`DbList`] there), a timestamp its fixed-width text
/// ([`SQLITE_TIMESTAMP_FORMAT`]); every other value is unchanged.
///
/// The service applies this to every statement it sends to SQLite, since
/// binding an array value there panics inside sea-query-sqlx.
pub fn sqlite_compatible(value: Value) -> Value {
    match value {
        Value::ChronoDateTime(Some(n)) => {
            Value::String(Some(n.format(SQLITE_TIMESTAMP_FORMAT).to_string()))
        }
        Value::ChronoDateTimeUtc(Some(d)) => Value::String(Some(
            d.naive_utc().format(SQLITE_TIMESTAMP_FORMAT).to_string(),
        )),
        Value::ChronoDateTime(None) | Value::ChronoDateTimeUtc(None) => Value::String(None),
        Value::Array(_, Some(items)) => {
            let texts: Vec<serde_json::Value> = items
                .into_iter()
                .map(|item| match item {
                    Value::String(Some(s)) => serde_json::Value::String(s),
                    Value::Enum(sea_orm::sea_query::OptionEnum::Some(e)) => {
                        serde_json::Value::String(e.value.to_string())
                    }
                    Value::Json(Some(j)) => *j,
                    other => serde_json::Value::String(format!("{other:?}")),
                })
                .collect();
            Value::String(Some(serde_json::Value::Array(texts).to_string()))
        }
        Value::Array(_, None) => Value::String(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_truncates_to_milliseconds() {
        let dt = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let ts = Timestamp::from(dt);
        assert_eq!(ts.timestamp_subsec_nanos(), 123_000_000);
        assert_eq!(ts.to_string(), "2023-11-14T22:13:20.123Z");
        let back: Timestamp = serde_json::from_str(&serde_json::to_string(&ts).unwrap()).unwrap();
        assert_eq!(back, ts);
    }

    #[test]
    fn list_values_rewrite_to_json_for_sqlite() {
        let list: PlatformList = vec![Platform::Tiktok, Platform::GoogleAds].into();
        let v = sqlite_compatible(Value::from(list));
        assert_eq!(
            v,
            Value::String(Some(r#"["TIKTOK","GOOGLE_ADS"]"#.to_owned()))
        );
        let empty: StringList = DbList::default();
        assert_eq!(
            sqlite_compatible(Value::from(empty)),
            Value::String(Some("[]".to_owned()))
        );
    }

    #[test]
    fn sqlite_timestamps_are_fixed_width() {
        let whole = Timestamp::from_timestamp_millis(1_700_000_000_000).unwrap();
        assert_eq!(
            sqlite_compatible(Value::from(whole)),
            Value::String(Some("2023-11-14 22:13:20.000".to_owned()))
        );
    }

    #[test]
    fn list_value_type_round_trips() {
        let list: StringList = vec!["a'b".to_owned(), "ü".to_owned()].into();
        let back = <StringList as ValueType>::try_from(Value::from(list.clone())).unwrap();
        assert_eq!(back, list);
        let bad = Value::Array(
            ArrayType::String,
            Some(Box::new(vec![Value::String(Some("NOPE".into()))])),
        );
        assert!(<PlatformList as ValueType>::try_from(bad).is_err());
    }
}
