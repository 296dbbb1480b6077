//! Decoding `pgoutput` (protocol version 1, text values) into the row
//! images the cache invalidates by.
//!
//! The replication client decodes the transaction boundaries (`Begin`,
//! `Commit`) and logical messages itself and hands over every other
//! message raw: `Relation` (a table's columns, sent before its first row
//! and after every schema change), `Insert`, `Update`, `Delete`,
//! `Truncate`, and `Type` / `Origin` (ignored). A message this decoder
//! cannot read is an error: the feed then treats the stream as broken (a
//! gap), never guesses.
//!
//! A value the invalidation needs but cannot parse (or that is missing:
//! the default replica identity sends only the key of a deleted row)
//! makes the image less precise, never wrong: the key becomes `None`
//! (`Old::Unknown` for previous values), which the invalidation treats as
//! "could be anything".

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDateTime;

use crate::change::{
    AnalyticsKey, CampaignKey, ChangeKind, ContentKey, ExecutionKey, LeadKey, Old, Row, RowChange,
    Table, TrendKey, UserKey,
};

/// A malformed or unexpected message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pgoutput: {0}")]
pub struct DecodeError(pub String);

fn err(msg: impl Into<String>) -> DecodeError {
    DecodeError(msg.into())
}

/// A table as its `Relation` message described it.
#[derive(Debug, Clone)]
struct Relation {
    /// `None`: not a table cached results read (still counted).
    table: Option<Table>,
    name: String,
    columns: Vec<String>,
}

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    /// A TOASTed value the update did not change (not sent).
    Unchanged,
    Text(String),
}

/// What one raw message meant.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Rows changed: the images, and the table's name (for metrics).
    Rows(&'static str, Vec<RowChange>),
    /// Nothing the cache needs (a relation, a type, an origin).
    Nothing,
}

/// The decoder's state: the relations seen on this stream.
#[derive(Debug, Default)]
pub struct Decoder {
    relations: HashMap<u32, Relation>,
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.buf.split_first().ok_or_else(|| err("truncated"))?;
        self.buf = rest;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(err("truncated"));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn cstr(&mut self) -> Result<String, DecodeError> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| err("unterminated string"))?;
        let s = std::str::from_utf8(&self.buf[..end]).map_err(|_| err("string not UTF-8"))?;
        self.buf = &self.buf[end + 1..];
        Ok(s.to_owned())
    }

    fn tuple(&mut self) -> Result<Vec<Value>, DecodeError> {
        let n = self.u16()?;
        let mut values = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            values.push(match self.u8()? {
                b'n' => Value::Null,
                b'u' => Value::Unchanged,
                b't' => {
                    let len = self.u32()? as usize;
                    let bytes = self.take(len)?;
                    Value::Text(
                        std::str::from_utf8(bytes)
                            .map_err(|_| err("text value not UTF-8"))?
                            .to_owned(),
                    )
                }
                b'b' => return Err(err("binary values were not requested")),
                other => return Err(err(format!("tuple value kind {other:#x}"))),
            });
        }
        Ok(values)
    }
}

/// Which table metric label a relation counts under.
fn table_label(name: &str) -> &'static str {
    crate::metrics::TABLES
        .iter()
        .find(|t| **t == name)
        .copied()
        .unwrap_or("other")
}

impl Decoder {
    /// A decoder that has seen no relation yet (a new stream).
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one raw `XLogData` payload.
    ///
    /// # Errors
    /// A malformed message, or a row of a relation never described.
    pub fn decode(&mut self, data: &[u8]) -> Result<Decoded, DecodeError> {
        let mut r = Reader { buf: data };
        match r.u8()? {
            b'R' => {
                let oid = r.u32()?;
                let _namespace = r.cstr()?;
                let name = r.cstr()?;
                let _identity = r.u8()?;
                let n = r.u16()?;
                let mut columns = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    let _flags = r.u8()?;
                    columns.push(r.cstr()?);
                    let _type = r.u32()?;
                    let _typmod = r.u32()?;
                }
                self.relations.insert(
                    oid,
                    Relation {
                        table: Table::from_name(&name),
                        name,
                        columns,
                    },
                );
                Ok(Decoded::Nothing)
            }
            b'I' => {
                let rel = self.relation(r.u32()?)?;
                if r.u8()? != b'N' {
                    return Err(err("insert without a new tuple"));
                }
                let new = r.tuple()?;
                Ok(self.rows(rel, ChangeKind::Inserted, None, Some(&new)))
            }
            b'U' => {
                let rel = self.relation(r.u32()?)?;
                let mut old = None;
                let mut tag = r.u8()?;
                if tag == b'K' || tag == b'O' {
                    old = Some((tag, r.tuple()?));
                    tag = r.u8()?;
                }
                if tag != b'N' {
                    return Err(err("update without a new tuple"));
                }
                let new = r.tuple()?;
                let old = old.filter(|(t, _)| *t == b'O').map(|(_, v)| v);
                Ok(self.rows(rel, ChangeKind::Updated, old.as_deref(), Some(&new)))
            }
            b'D' => {
                let rel = self.relation(r.u32()?)?;
                let tag = r.u8()?;
                if tag != b'K' && tag != b'O' {
                    return Err(err("delete without an old tuple"));
                }
                let old = r.tuple()?;
                Ok(self.rows(rel, ChangeKind::Deleted, Some(&old), None))
            }
            b'T' => {
                let n = r.u32()?;
                let _options = r.u8()?;
                let mut rows = Vec::new();
                let mut label = "other";
                for _ in 0..n {
                    let rel = self.relation(r.u32()?)?;
                    let relation = &self.relations[&rel];
                    label = table_label(&relation.name);
                    if let Some(table) = relation.table {
                        rows.push(RowChange {
                            kind: ChangeKind::Deleted,
                            row: Row::Unknown(table),
                        });
                    }
                }
                Ok(Decoded::Rows(label, rows))
            }
            b'Y' | b'O' => Ok(Decoded::Nothing),
            other => Err(err(format!("unexpected message {:?}", other as char))),
        }
    }

    fn relation(&self, oid: u32) -> Result<u32, DecodeError> {
        if self.relations.contains_key(&oid) {
            Ok(oid)
        } else {
            Err(err(format!("row of relation {oid} before its description")))
        }
    }

    fn rows(
        &self,
        oid: u32,
        kind: ChangeKind,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
    ) -> Decoded {
        let rel = &self.relations[&oid];
        let label = table_label(&rel.name);
        let Some(table) = rel.table else {
            return Decoded::Rows(label, Vec::new());
        };
        let new = new.map(|v| Tuple { rel, values: v });
        let old = old.map(|v| Tuple { rel, values: v });
        // The id: from the new row, else from the old (a delete's key).
        let id = new
            .as_ref()
            .and_then(|t| t.text("id"))
            .or_else(|| old.as_ref().and_then(|t| t.text("id")));
        let Some(id) = id.map(str::to_owned) else {
            return Decoded::Rows(
                label,
                vec![RowChange {
                    kind,
                    row: Row::Unknown(table),
                }],
            );
        };
        let row = match table {
            Table::Users => Row::User {
                id,
                new: new.as_ref().and_then(user_key),
            },
            Table::Campaigns => Row::Campaign {
                id,
                new: new.as_ref().and_then(campaign_key),
            },
            Table::AgentExecutions => Row::Execution {
                id,
                new: new.as_ref().and_then(execution_key),
                old: old_key(old.as_ref(), kind, execution_key),
            },
            Table::Analytics => Row::Analytics {
                id,
                new: new.as_ref().and_then(analytics_key),
                old: old_key(old.as_ref(), kind, analytics_key),
            },
            Table::Contents => Row::Content {
                id,
                new: new.as_ref().and_then(content_key),
            },
            Table::Leads => Row::Lead {
                id,
                new: new.as_ref().and_then(lead_key),
            },
            Table::Trends => Row::Trend {
                id,
                new: new.as_ref().and_then(trend_key),
            },
        };
        Decoded::Rows(label, vec![RowChange { kind, row }])
    }
}

/// The previous values: known from a full old image, otherwise not
/// (an insert has none; the invalidation treats `Unknown` as anything).
fn old_key<K>(
    old: Option<&Tuple<'_>>,
    kind: ChangeKind,
    key: fn(&Tuple<'_>) -> Option<K>,
) -> Old<K> {
    match (kind, old.and_then(key)) {
        (_, Some(k)) => Old::Known(k),
        _ => Old::Unknown,
    }
}

struct Tuple<'a> {
    rel: &'a Relation,
    values: &'a [Value],
}

impl Tuple<'_> {
    fn value(&self, column: &str) -> Option<&Value> {
        let i = self.rel.columns.iter().position(|c| c == column)?;
        self.values.get(i)
    }

    /// The column's text; `None` if null, unchanged or absent.
    fn text(&self, column: &str) -> Option<&str> {
        match self.value(column)? {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A nullable column: `Some(None)` for SQL NULL, `None` if not known.
    fn nullable(&self, column: &str) -> Option<Option<&str>> {
        match self.value(column)? {
            Value::Null => Some(None),
            Value::Text(s) => Some(Some(s)),
            Value::Unchanged => None,
        }
    }

    fn parse<T: FromStr>(&self, column: &str) -> Option<T> {
        self.text(column)?.parse().ok()
    }

    fn timestamp(&self, column: &str) -> Option<entity::Timestamp> {
        parse_timestamp(self.text(column)?)
    }
}

/// PostgreSQL's ISO text of a `timestamp(3)` (the replication session
/// pins `DateStyle` to ISO).
pub fn parse_timestamp(s: &str) -> Option<entity::Timestamp> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(entity::Timestamp::from)
}

fn user_key(t: &Tuple<'_>) -> Option<UserKey> {
    Some(UserKey {
        role: t.parse("role")?,
        created_at: t.timestamp("createdAt")?,
    })
}

fn campaign_key(t: &Tuple<'_>) -> Option<CampaignKey> {
    Some(CampaignKey {
        user_id: t.text("userId")?.to_owned(),
        status: t.parse("status")?,
        created_at: t.timestamp("createdAt")?,
    })
}

fn execution_key(t: &Tuple<'_>) -> Option<ExecutionKey> {
    Some(ExecutionKey {
        agent_id: t.text("agentId")?.to_owned(),
        started_at: t.timestamp("startedAt")?,
    })
}

fn analytics_key(t: &Tuple<'_>) -> Option<AnalyticsKey> {
    Some(AnalyticsKey {
        campaign_id: t.nullable("campaignId")?.map(str::to_owned),
        r#type: t.parse("type")?,
        period: t.nullable("period")?.map(str::to_owned),
        date: t.timestamp("date")?,
    })
}

fn content_key(t: &Tuple<'_>) -> Option<ContentKey> {
    Some(ContentKey {
        platform: t.parse("platform")?,
        status: t.parse("status")?,
        created_at: t.timestamp("createdAt")?,
    })
}

fn lead_key(t: &Tuple<'_>) -> Option<LeadKey> {
    let score = match t.nullable("score")? {
        None => None,
        Some(s) => Some(s.parse::<f64>().ok()?),
    };
    Some(LeadKey {
        score,
        created_at: t.timestamp("createdAt")?,
    })
}

fn trend_key(t: &Tuple<'_>) -> Option<TrendKey> {
    Some(TrendKey {
        platform: t.parse("platform")?,
        score: t.parse("score")?,
        detected_at: t.timestamp("detectedAt")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn relation(oid: u32, name: &str, columns: &[&str]) -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend(oid.to_be_bytes());
        m.extend(b"public\0");
        m.extend(name.as_bytes());
        m.push(0);
        m.push(b'd');
        m.extend(u16::try_from(columns.len()).unwrap().to_be_bytes());
        for c in columns {
            m.push(0);
            m.extend(c.as_bytes());
            m.push(0);
            m.extend(25u32.to_be_bytes());
            m.extend((-1i32).to_be_bytes());
        }
        m
    }

    fn tuple(values: &[Option<&str>]) -> Vec<u8> {
        let mut m = u16::try_from(values.len()).unwrap().to_be_bytes().to_vec();
        for v in values {
            match v {
                None => m.push(b'n'),
                Some(s) => {
                    m.push(b't');
                    m.extend(u32::try_from(s.len()).unwrap().to_be_bytes());
                    m.extend(s.as_bytes());
                }
            }
        }
        m
    }

    const LEAD_COLUMNS: &[&str] = &["id", "email", "score", "createdAt"];

    #[test]
    fn insert_update_delete_of_a_lead() {
        let mut d = Decoder::new();
        assert_eq!(
            d.decode(&relation(7, "leads", LEAD_COLUMNS)).unwrap(),
            Decoded::Nothing
        );
        let row = tuple(&[
            Some("l1"),
            Some("a@b.c"),
            Some("92.5"),
            Some("2026-12-01 10:00:00.123"),
        ]);
        let mut insert = vec![b'I'];
        insert.extend(7u32.to_be_bytes());
        insert.push(b'N');
        insert.extend(&row);
        let Decoded::Rows(label, rows) = d.decode(&insert).unwrap() else {
            panic!("rows expected");
        };
        assert_eq!(label, "leads");
        assert_eq!(
            rows,
            [RowChange {
                kind: ChangeKind::Inserted,
                row: Row::Lead {
                    id: "l1".into(),
                    new: Some(LeadKey {
                        score: Some(92.5),
                        created_at: parse_timestamp("2026-12-01 10:00:00.123").unwrap(),
                    }),
                },
            }]
        );
        // A delete under the default identity: the key only.
        let mut delete = vec![b'D'];
        delete.extend(7u32.to_be_bytes());
        delete.push(b'K');
        delete.extend(tuple(&[Some("l1"), None, None, None]));
        let Decoded::Rows(_, rows) = d.decode(&delete).unwrap() else {
            panic!("rows expected");
        };
        assert_eq!(
            rows[0].row,
            Row::Lead {
                id: "l1".into(),
                new: None
            }
        );
        // An unparseable score makes the image imprecise, not wrong.
        let mut update = vec![b'U'];
        update.extend(7u32.to_be_bytes());
        update.push(b'N');
        update.extend(tuple(&[
            Some("l1"),
            None,
            Some("NaN?"),
            Some("2026-12-01 10:00:00"),
        ]));
        let Decoded::Rows(_, rows) = d.decode(&update).unwrap() else {
            panic!("rows expected");
        };
        assert_eq!(rows[0].kind, ChangeKind::Updated);
        assert_eq!(
            rows[0].row,
            Row::Lead {
                id: "l1".into(),
                new: None
            }
        );
    }

    #[test]
    fn full_identity_gives_the_old_execution() {
        let mut d = Decoder::new();
        let cols = &["id", "agentId", "startedAt"];
        d.decode(&relation(9, "agent_executions", cols)).unwrap();
        let mut update = vec![b'U'];
        update.extend(9u32.to_be_bytes());
        update.push(b'O');
        update.extend(tuple(&[
            Some("e1"),
            Some("a1"),
            Some("2026-01-01 00:00:00"),
        ]));
        update.push(b'N');
        update.extend(tuple(&[
            Some("e1"),
            Some("a2"),
            Some("2026-01-02 00:00:00"),
        ]));
        let Decoded::Rows(_, rows) = d.decode(&update).unwrap() else {
            panic!("rows expected");
        };
        let Row::Execution {
            old: Old::Known(old),
            new: Some(new),
            ..
        } = &rows[0].row
        else {
            panic!("{:?}", rows[0]);
        };
        assert_eq!((old.agent_id.as_str(), new.agent_id.as_str()), ("a1", "a2"));
    }

    #[test]
    fn truncate_and_unknown_tables() {
        let mut d = Decoder::new();
        d.decode(&relation(1, "trends", &["id"])).unwrap();
        d.decode(&relation(2, "agents", &["id"])).unwrap();
        let mut truncate = vec![b'T'];
        truncate.extend(2u32.to_be_bytes());
        truncate.push(0);
        truncate.extend(1u32.to_be_bytes());
        truncate.extend(2u32.to_be_bytes());
        let Decoded::Rows(_, rows) = d.decode(&truncate).unwrap() else {
            panic!("rows expected");
        };
        assert_eq!(
            rows,
            [RowChange {
                kind: ChangeKind::Deleted,
                row: Row::Unknown(Table::Trends)
            }]
        );
        let mut insert = vec![b'I'];
        insert.extend(2u32.to_be_bytes());
        insert.push(b'N');
        insert.extend(tuple(&[Some("ag1")]));
        assert_eq!(d.decode(&insert).unwrap(), Decoded::Rows("agents", vec![]));
    }

    #[test]
    fn malformed_messages_are_errors_not_guesses() {
        let mut d = Decoder::new();
        let mut insert = vec![b'I'];
        insert.extend(3u32.to_be_bytes());
        insert.push(b'N');
        insert.extend(tuple(&[Some("x")]));
        assert!(d.decode(&insert).is_err(), "a row before its relation");
        d.decode(&relation(3, "leads", LEAD_COLUMNS)).unwrap();
        assert!(d.decode(&insert[..insert.len() - 1]).is_err(), "truncated");
        assert!(d.decode(b"Z").is_err());
        assert!(d.decode(b"").is_err());
    }
}
