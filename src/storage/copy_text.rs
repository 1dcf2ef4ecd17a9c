//! PostgreSQL's `COPY ... FROM STDIN` text format: the same values the upsert binds as arrays,
//! written as text fields, and the statement that sends them, for a first load (`copy_new.rs`),
//! deal stage entries (`sales.rs`) and the raw-write baselines (`raw.rs`).

use sqlx::PgConnection;

/// A value as a field of PostgreSQL's COPY text format (`\\N` is NULL; backslash, tab, newline
/// and carriage return are escaped).
pub(crate) trait CopyText {
    /// Appends the field to `line`.
    fn copy_text(&self, line: &mut String);
}

impl CopyText for &str {
    fn copy_text(&self, line: &mut String) {
        // Runs without special characters (nearly every value) are copied whole.
        let mut rest = *self;
        // The special characters are ASCII, so a byte search finds them at char boundaries.
        while let Some(at) = rest
            .bytes()
            .position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
        {
            line.push_str(&rest[..at]);
            line.push_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'\t' => "\\t",
                b'\n' => "\\n",
                _ => "\\r",
            });
            rest = &rest[at + 1..];
        }
        line.push_str(rest);
    }
}

impl CopyText for String {
    fn copy_text(&self, line: &mut String) {
        self.as_str().copy_text(line);
    }
}

impl<T: CopyText> CopyText for Option<T> {
    fn copy_text(&self, line: &mut String) {
        match self {
            Some(value) => value.copy_text(line),
            None => line.push_str("\\N"),
        }
    }
}

/// Integers, written without the formatting machinery.
macro_rules! copy_text_integer {
    ($($ty:ty),+) => {$(
        impl CopyText for $ty {
            fn copy_text(&self, line: &mut String) {
                line.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )+};
}
copy_text_integer!(i16, i32, i64);

impl CopyText for bool {
    fn copy_text(&self, line: &mut String) {
        line.push_str(if *self { "true" } else { "false" });
    }
}

impl CopyText for chrono::NaiveDate {
    fn copy_text(&self, line: &mut String) {
        use std::fmt::Write;
        let _ = write!(line, "{self}");
    }
}

impl CopyText for chrono::DateTime<chrono::Utc> {
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, written digit by digit (a first load writes millions).
    fn copy_text(&self, line: &mut String) {
        use chrono::{Datelike, Timelike};
        let (date, time) = (self.date_naive(), self.time());
        if !(0..=9999).contains(&date.year()) || time.nanosecond() >= 1_000_000_000 {
            // Outside what the API accepts (years 1970–2199, no leap seconds): the general form.
            use std::fmt::Write;
            let _ = write!(line, "{}", self.format("%Y-%m-%d %H:%M:%S%.6f+00"));
            return;
        }
        let mut text = *b"0000-00-00 00:00:00.000000+00";
        let mut digits = |at: usize, width: usize, mut value: u32| {
            for position in (at..at + width).rev() {
                text[position] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        digits(0, 4, date.year().unsigned_abs());
        digits(5, 2, date.month());
        digits(8, 2, date.day());
        digits(11, 2, time.hour());
        digits(14, 2, time.minute());
        digits(17, 2, time.second());
        digits(20, 6, time.nanosecond() / 1000);
        // Only ASCII digits and separators were written.
        line.push_str(std::str::from_utf8(&text).unwrap_or_default());
    }
}

impl CopyText for serde_json::Value {
    fn copy_text(&self, line: &mut String) {
        if let serde_json::Value::Object(map) = self
            && map.is_empty()
        {
            // Most records carry no attributes.
            line.push_str("{}");
            return;
        }
        self.to_string().as_str().copy_text(line);
    }
}

/// Runs one `COPY ... FROM STDIN` with text-format `data`; returns the rows written.
pub(crate) async fn copy_in(
    conn: &mut PgConnection,
    statement: &str,
    data: String,
) -> Result<u64, sqlx::Error> {
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(error) = copy.send(data.into_bytes()).await {
        // Best effort: the error being returned is the one that matters.
        let _ = copy.abort("send failed").await;
        return Err(error);
    }
    copy.finish().await
}

#[cfg(test)]
#[path = "tests/copy_text.rs"]
mod tests;
