//! Allocation-free text building blocks: the seed's clock, timestamps in
//! the stored text form, cuid-style ids and a small JSON writer.

/// Days from 1970-01-01 to the civil date `y-m-d` (proleptic Gregorian).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds in a day.
pub(crate) const DAY_MS: i64 = 86_400_000;
/// The seed's "now": 2026-11-01T00:00:00Z, fixed so that the data does not
/// depend on when it is generated.
pub(crate) const NOW_MS: i64 = days_from_civil(2026, 11, 1) * DAY_MS;
/// Rows are spread over the two years before [`NOW_MS`].
pub(crate) const SPAN_MS: i64 = 730 * DAY_MS;
/// The first instant of the seeded history.
pub(crate) const START_MS: i64 = NOW_MS - SPAN_MS;

/// The creation time of row `i` of `n`, non-decreasing in `i`: row `i`
/// falls in the `i`-th of `n` equal shares of a growth curve (density
/// rising linearly to three times its start), at `frac ∈ [0, 1)` within it.
pub(crate) fn timeline(i: u64, n: u64, frac: f64) -> i64 {
    let u = (i as f64 + frac) / n.max(1) as f64;
    // Density ∝ 1 + 2t on [0, 1]: CDF (t + t²) / 2, inverted.
    let t = ((1.0 + 8.0 * u).sqrt() - 1.0) / 2.0;
    START_MS + ((t.clamp(0.0, 1.0)) * SPAN_MS as f64) as i64
}

/// Whole milliseconds as `YYYY-MM-DD HH:MM:SS.mmm` (UTC): PostgreSQL's
/// input for `TIMESTAMP(3)` and the SQLite storage form.
pub(crate) fn timestamp(ms: i64) -> [u8; 23] {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    // civil_from_days (Howard Hinnant).
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut out = *b"0000-00-00 00:00:00.000";
    let digits = |out: &mut [u8; 23], at: usize, width: usize, mut v: i64| {
        for k in (0..width).rev() {
            out[at + k] = b'0' + (v.rem_euclid(10)) as u8;
            v /= 10;
        }
    };
    digits(&mut out, 0, 4, y);
    digits(&mut out, 5, 2, m);
    digits(&mut out, 8, 2, d);
    digits(&mut out, 11, 2, in_day / 3_600_000);
    digits(&mut out, 14, 2, in_day / 60_000 % 60);
    digits(&mut out, 17, 2, in_day / 1000 % 60);
    digits(&mut out, 20, 3, in_day % 1000);
    out
}

/// Midnight (UTC) of the day of `ms`.
pub(crate) fn day_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(v % 36) as usize];
        v /= 36;
    }
}

/// A cuid-style id: 25 lowercase characters, `c` + creation time (8,
/// base 36 milliseconds) + counter (4) + fingerprint (4) + random (8).
pub(crate) type Id = [u8; 25];

/// A table's 4-character id fingerprint, from the seed.
pub(crate) fn fingerprint(seed: u64, table_no: u64) -> [u8; 4] {
    let mut out = [0u8; 4];
    let mixed = splitmix(seed ^ table_no.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    base36(&mut out, mixed % 1_679_616);
    out
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The id of row `counter`, created at `ms`. Unique within a table as long
/// as creation times do not decrease with the counter: two rows share the
/// time and counter fields only if 36^4 rows were created in one
/// millisecond. Ids increase with the creation time, like cuids, so rows
/// written in time order append to the primary key.
pub(crate) fn make_id(ms: i64, counter: u64, fingerprint: [u8; 4], random: u64) -> Id {
    let mut id = [b'c'; 25];
    base36(&mut id[1..9], ms.max(0) as u64);
    base36(&mut id[9..13], counter);
    id[13..17].copy_from_slice(&fingerprint);
    base36(&mut id[17..25], random);
    id
}

/// An id (ASCII) as `&str`.
pub(crate) fn id_str(id: &Id) -> &str {
    std::str::from_utf8(id).unwrap_or("")
}

/// Lower-case hexadecimal of `v`, `width` digits, appended to `out`.
pub(crate) fn push_hex(out: &mut String, v: u64, width: usize) {
    for k in (0..width).rev() {
        let nibble = ((v >> (4 * k)) & 0xf) as usize;
        out.push(char::from(BASE36[nibble]));
    }
}

/// Random alphanumerics (`[0-9a-zA-Z]`), `len` of them, appended to `out`.
pub(crate) fn push_alnum(out: &mut String, rng: &mut super::rng::Rng, len: usize) {
    const ALNUM: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bits = 0u64;
    let mut left = 0;
    for _ in 0..len {
        if left == 0 {
            bits = rng.u64();
            left = 10;
        }
        out.push(char::from(ALNUM[((bits & 0x3f) % 62) as usize]));
        bits >>= 6;
        left -= 1;
    }
}

/// Appends an integer.
pub(crate) fn push_int(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends a finite float in its shortest round-trip form (`null` if not
/// finite, which the generators never produce).
pub(crate) fn push_float(out: &mut String, v: f64) {
    if v.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(v));
    } else {
        out.push_str("null");
    }
}

/// `v` rounded to `places` decimals.
pub(crate) fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                push_hex(out, u64::from(c as u32), 2);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A compact JSON writer over a reused `String`, no allocation per value.
///
/// Commas need no stack: one is due exactly when the previous token was a
/// value or a closing bracket, and not after an opening bracket or a key.
pub(crate) struct Json<'a> {
    out: &'a mut String,
    comma_due: bool,
}

impl<'a> Json<'a> {
    /// Starts writing into `out` (cleared).
    pub(crate) fn new(out: &'a mut String) -> Self {
        out.clear();
        Self {
            out,
            comma_due: false,
        }
    }

    fn before_value(&mut self) {
        if self.comma_due {
            self.out.push(',');
        }
    }

    /// `{` (as a value).
    pub(crate) fn obj(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('{');
        self.comma_due = false;
        self
    }

    /// `[` (as a value).
    pub(crate) fn arr(&mut self) -> &mut Self {
        self.before_value();
        self.out.push('[');
        self.comma_due = false;
        self
    }

    /// `}`.
    pub(crate) fn end_obj(&mut self) -> &mut Self {
        self.out.push('}');
        self.comma_due = true;
        self
    }

    /// `]`.
    pub(crate) fn end_arr(&mut self) -> &mut Self {
        self.out.push(']');
        self.comma_due = true;
        self
    }

    /// A key (a plain identifier); the next call writes its value.
    pub(crate) fn key(&mut self, k: &str) -> &mut Self {
        self.before_value();
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.comma_due = false;
        self
    }

    /// A string value.
    pub(crate) fn str(&mut self, v: &str) -> &mut Self {
        self.before_value();
        push_json_str(self.out, v);
        self.comma_due = true;
        self
    }

    /// An integer value.
    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.before_value();
        push_int(self.out, v);
        self.comma_due = true;
        self
    }

    /// A float value.
    pub(crate) fn float(&mut self, v: f64) -> &mut Self {
        self.before_value();
        push_float(self.out, v);
        self.comma_due = true;
        self
    }

    /// A boolean value.
    pub(crate) fn bool(&mut self, v: bool) -> &mut Self {
        self.before_value();
        self.out.push_str(if v { "true" } else { "false" });
        self.comma_due = true;
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn timestamps_match_chrono() {
        for ms in [
            0i64,
            START_MS,
            NOW_MS,
            NOW_MS - 1,
            951_782_400_000, // 2000-02-29
            1_709_251_199_999,
            4_102_444_800_123,
        ] {
            let ours = timestamp(ms);
            let theirs = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string();
            assert_eq!(std::str::from_utf8(&ours).unwrap(), theirs);
        }
        assert_eq!(
            std::str::from_utf8(&timestamp(NOW_MS)).unwrap(),
            "2026-11-01 00:00:00.000"
        );
    }

    #[test]
    fn timeline_is_monotone_and_in_range() {
        let n = 10_000;
        let mut last = i64::MIN;
        for i in 0..n {
            let t = timeline(i, n, 0.999);
            assert!(t >= last);
            assert!((START_MS..NOW_MS).contains(&t));
            last = t;
        }
        // More rows recently: the last quarter of the time holds more than
        // a quarter of the rows.
        let cut = NOW_MS - SPAN_MS / 4;
        let recent = (0..n).filter(|&i| timeline(i, n, 0.5) >= cut).count();
        assert!(recent as u64 > n / 3, "{recent}");
    }

    #[test]
    fn ids_are_cuid_like_and_ordered() {
        let fp = fingerprint(42, 3);
        let a = make_id(NOW_MS - 5000, 17, fp, 123_456_789);
        let b = make_id(NOW_MS - 4000, 18, fp, 5);
        let (a, b) = (id_str(&a).to_owned(), id_str(&b).to_owned());
        assert_eq!(a.len(), 25);
        assert!(a.starts_with('c'));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert!(a < b);
    }

    #[test]
    fn json_writer_places_commas() {
        let mut s = String::new();
        let mut j = Json::new(&mut s);
        j.obj()
            .key("a")
            .int(1)
            .key("b")
            .arr()
            .str("x\"y")
            .float(1.5)
            .obj()
            .key("c")
            .bool(false)
            .end_obj()
            .end_arr()
            .key("d")
            .bool(true)
            .end_obj();
        assert_eq!(s, r#"{"a":1,"b":["x\"y",1.5,{"c":false}],"d":true}"#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["b"][0], "x\"y");
    }
}
