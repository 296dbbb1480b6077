//! Where generated rows go: one trait, one implementation per backend.
//!
//! Generators write each row's columns in table order through [`Sink`].
//! [`CopySink`] encodes them as PostgreSQL `COPY ... FROM STDIN` text
//! (tab-separated, `\N` for NULL, backslash escapes, array literals);
//! [`SqliteSink`] binds them as SQLite values (enums as TEXT, lists as
//! JSON text, timestamps as `YYYY-MM-DD HH:MM:SS.SSS` text, booleans 0/1).

use sea_orm::sqlx::Arguments as _;
use sea_orm::sqlx::sqlite::SqliteArguments;

use super::text;

/// One row's columns, written in the table's column order.
pub(crate) trait Sink {
    /// A text value (also enum values).
    fn text(&mut self, v: &str);
    /// NULL.
    fn null(&mut self);
    /// An integer.
    fn int(&mut self, v: i64);
    /// A float.
    fn float(&mut self, v: f64);
    /// A boolean.
    fn boolean(&mut self, v: bool);
    /// A timestamp, whole milliseconds since the Unix epoch (UTC).
    fn timestamp(&mut self, ms: i64);
    /// A JSON document (valid JSON text).
    fn json(&mut self, v: &str);
    /// A list (`TEXT[]` or an enum array).
    fn list(&mut self, items: &[&str]);
    /// Ends the row.
    fn end_row(&mut self);

    /// Text or NULL.
    fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    /// A float or NULL.
    fn opt_float(&mut self, v: Option<f64>) {
        match v {
            Some(v) => self.float(v),
            None => self.null(),
        }
    }

    /// An integer or NULL.
    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A timestamp or NULL.
    fn opt_timestamp(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.timestamp(v),
            None => self.null(),
        }
    }

    /// JSON or NULL.
    fn opt_json(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.json(v),
            None => self.null(),
        }
    }
}

/// A sink that hands its rows over in chunks (to the writer task).
pub(crate) trait ChunkSink: Sink + Send + 'static {
    /// What a chunk is.
    type Chunk: Send + 'static;
    /// Rows in the current chunk.
    fn rows(&self) -> u64;
    /// Whether the current chunk should be sent now.
    fn is_full(&self) -> bool;
    /// Takes the current chunk, starting a new one.
    fn take(&mut self) -> Self::Chunk;
}

/// `COPY ... FROM STDIN` text format.
pub(crate) struct CopySink {
    buf: Vec<u8>,
    rows: u64,
    line_start: bool,
    target: usize,
}

impl CopySink {
    /// Chunks of about `target` bytes.
    pub(crate) fn new(target: usize) -> Self {
        Self {
            buf: Vec::with_capacity(target + 64 * 1024),
            rows: 0,
            line_start: true,
            target,
        }
    }

    fn sep(&mut self) {
        if !self.line_start {
            self.buf.push(b'\t');
        }
        self.line_start = false;
    }

    /// Appends `s` with COPY's backslash escapes.
    fn escaped(&mut self, s: &[u8]) {
        let mut start = 0;
        for (i, &b) in s.iter().enumerate() {
            let esc: &[u8] = match b {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                _ => continue,
            };
            self.buf.extend_from_slice(&s[start..i]);
            self.buf.extend_from_slice(esc);
            start = i + 1;
        }
        self.buf.extend_from_slice(&s[start..]);
    }
}

impl Sink for CopySink {
    fn text(&mut self, v: &str) {
        self.sep();
        self.escaped(v.as_bytes());
    }

    fn null(&mut self) {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
    }

    fn int(&mut self, v: i64) {
        self.sep();
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    fn float(&mut self, v: f64) {
        if !v.is_finite() {
            return self.null();
        }
        self.sep();
        self.buf
            .extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }

    fn boolean(&mut self, v: bool) {
        self.sep();
        self.buf.push(if v { b't' } else { b'f' });
    }

    fn timestamp(&mut self, ms: i64) {
        self.sep();
        self.buf.extend_from_slice(&text::timestamp(ms));
    }

    fn json(&mut self, v: &str) {
        self.text(v);
    }

    fn list(&mut self, items: &[&str]) {
        self.sep();
        // An array literal, every element quoted: `{"A","B"}`. Inside
        // quotes `"` and `\` take a backslash (array syntax), and every
        // backslash is doubled again for COPY.
        self.buf.push(b'{');
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                self.buf.push(b',');
            }
            self.buf.push(b'"');
            for &b in item.as_bytes() {
                match b {
                    b'"' => self.buf.extend_from_slice(b"\\\\\""),
                    b'\\' => self.buf.extend_from_slice(b"\\\\\\\\"),
                    b'\t' => self.buf.extend_from_slice(b"\\t"),
                    b'\n' => self.buf.extend_from_slice(b"\\n"),
                    b'\r' => self.buf.extend_from_slice(b"\\r"),
                    b => self.buf.push(b),
                }
            }
            self.buf.push(b'"');
        }
        self.buf.push(b'}');
    }

    fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.line_start = true;
        self.rows += 1;
    }
}

impl ChunkSink for CopySink {
    type Chunk = Vec<u8>;

    fn rows(&self) -> u64 {
        self.rows
    }

    fn is_full(&self) -> bool {
        self.buf.len() >= self.target
    }

    fn take(&mut self) -> Vec<u8> {
        self.rows = 0;
        std::mem::replace(&mut self.buf, Vec::with_capacity(self.target + 64 * 1024))
    }
}

/// Bound values for multi-row SQLite INSERTs.
pub(crate) struct SqliteSink {
    args: SqliteArguments,
    rows: u64,
    batch_rows: u64,
    error: Option<String>,
}

/// A batch of rows for SQLite: the bound values, or why they could not be
/// bound.
pub(crate) type SqliteChunk = Result<SqliteArguments, String>;

impl SqliteSink {
    /// Batches of `batch_rows` rows.
    pub(crate) fn new(batch_rows: u64) -> Self {
        Self {
            args: SqliteArguments::default(),
            rows: 0,
            batch_rows: batch_rows.max(1),
            error: None,
        }
    }

    fn add<T>(&mut self, v: T)
    where
        T: for<'q> sea_orm::sqlx::Encode<'q, sea_orm::sqlx::Sqlite>
            + sea_orm::sqlx::Type<sea_orm::sqlx::Sqlite>,
    {
        if let Err(e) = self.args.add(v)
            && self.error.is_none()
        {
            self.error = Some(e.to_string());
        }
    }
}

impl Sink for SqliteSink {
    fn text(&mut self, v: &str) {
        self.add(v.to_owned());
    }

    fn null(&mut self) {
        self.add(Option::<String>::None);
    }

    fn int(&mut self, v: i64) {
        self.add(v);
    }

    fn float(&mut self, v: f64) {
        if v.is_finite() {
            self.add(v);
        } else {
            self.null();
        }
    }

    fn boolean(&mut self, v: bool) {
        self.add(i64::from(v));
    }

    fn timestamp(&mut self, ms: i64) {
        self.add(String::from_utf8_lossy(&text::timestamp(ms)).into_owned());
    }

    fn json(&mut self, v: &str) {
        self.add(v.to_owned());
    }

    fn list(&mut self, items: &[&str]) {
        let mut s = String::with_capacity(items.iter().map(|i| i.len() + 3).sum::<usize>() + 2);
        s.push('[');
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            text::push_json_str(&mut s, item);
        }
        s.push(']');
        self.add(s);
    }

    fn end_row(&mut self) {
        self.rows += 1;
    }
}

impl ChunkSink for SqliteSink {
    type Chunk = SqliteChunk;

    fn rows(&self) -> u64 {
        self.rows
    }

    fn is_full(&self) -> bool {
        self.rows >= self.batch_rows
    }

    fn take(&mut self) -> SqliteChunk {
        self.rows = 0;
        let args = std::mem::take(&mut self.args);
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }
}

/// Counts columns per row: a test aid that checks generators against the
/// schema.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct CountingSink {
    pub(crate) current: usize,
    pub(crate) rows: Vec<usize>,
}

#[cfg(test)]
impl Sink for CountingSink {
    fn text(&mut self, _: &str) {
        self.current += 1;
    }
    fn null(&mut self) {
        self.current += 1;
    }
    fn int(&mut self, _: i64) {
        self.current += 1;
    }
    fn float(&mut self, _: f64) {
        self.current += 1;
    }
    fn boolean(&mut self, _: bool) {
        self.current += 1;
    }
    fn timestamp(&mut self, _: i64) {
        self.current += 1;
    }
    fn json(&mut self, _: &str) {
        self.current += 1;
    }
    fn list(&mut self, _: &[&str]) {
        self.current += 1;
    }
    fn end_row(&mut self) {
        self.rows.push(self.current);
        self.current = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_and_nulls() {
        let mut s = CopySink::new(1024);
        s.text("a\tb\\c\nd");
        s.null();
        s.int(-5);
        s.float(7.25);
        s.boolean(true);
        s.timestamp(0);
        s.list(&["TIKTOK", "INSTAGRAM"]);
        s.list(&[]);
        s.list(&["a\"b", "c\\d", "x y"]);
        s.json(r#"{"k":"v\"w"}"#);
        s.end_row();
        let out = String::from_utf8(s.take()).unwrap_or_default();
        assert_eq!(
            out,
            "a\\tb\\\\c\\nd\t\\N\t-5\t7.25\tt\t1970-01-01 00:00:00.000\t{\"TIKTOK\",\"INSTAGRAM\"}\t{}\t\
             {\"a\\\\\"b\",\"c\\\\\\\\d\",\"x y\"}\t{\"k\":\"v\\\\\"w\"}\n"
        );
    }
}
