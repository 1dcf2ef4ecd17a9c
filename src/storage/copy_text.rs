//! Values as fields of PostgreSQL's `COPY ... FROM STDIN` text format: the same values the
//! upsert binds as arrays, written as text, for a first load (`copy_new.rs`) and the raw-write
//! baselines (`raw.rs`).

/// A value as a field of PostgreSQL's COPY text format (`\\N` is NULL; backslash, tab, newline
/// and carriage return are escaped).
pub(crate) trait CopyText {
    /// Appends the field to `line`.
    fn copy_text(&self, line: &mut String);
}

impl CopyText for &str {
    fn copy_text(&self, line: &mut String) {
        for c in self.chars() {
            match c {
                '\\' => line.push_str("\\\\"),
                '\t' => line.push_str("\\t"),
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                c => line.push(c),
            }
        }
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

/// Types whose `Display` is already valid COPY text (no characters to escape).
macro_rules! copy_text_by_display {
    ($($ty:ty),+) => {$(
        impl CopyText for $ty {
            fn copy_text(&self, line: &mut String) {
                use std::fmt::Write;
                let _ = write!(line, "{self}");
            }
        }
    )+};
}
copy_text_by_display!(i16, i32, i64, bool, chrono::NaiveDate);

impl CopyText for chrono::DateTime<chrono::Utc> {
    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, written field by field (a format string is parsed anew
    /// for every value, which a first load of millions of timestamps notices).
    fn copy_text(&self, line: &mut String) {
        use chrono::{Datelike, Timelike};
        use std::fmt::Write;
        let (date, time) = (self.date_naive(), self.time());
        if !(0..=9999).contains(&date.year()) || time.nanosecond() >= 1_000_000_000 {
            // Outside what the API accepts (years 1970–2199, no leap seconds): the general form.
            let _ = write!(line, "{}", self.format("%Y-%m-%d %H:%M:%S%.6f+00"));
            return;
        }
        let _ = write!(
            line,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            date.year(),
            date.month(),
            date.day(),
            time.hour(),
            time.minute(),
            time.second(),
            time.nanosecond() / 1000
        );
    }
}

impl CopyText for serde_json::Value {
    fn copy_text(&self, line: &mut String) {
        self.to_string().as_str().copy_text(line);
    }
}

#[cfg(test)]
#[path = "tests/copy_text.rs"]
mod tests;
