//! The calendar: half-open windows, calendar buckets cut in an IANA time zone, and the previous
//! period of equal calendar length.
//!
//! Buckets are cut at local midnights (days), local Monday midnights (ISO weeks), and the first
//! local midnight of a month, quarter or year, so a DST day is 23 or 25 hours long. A local
//! midnight that does not exist (a DST gap at midnight) is replaced by the first instant after the
//! gap.

use chrono::{Datelike, Days, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::records::Timestamp;

/// A half-open interval of instants `[start, end)`, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    /// A window; `None` unless `start < end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Option<Window> {
        (start < end).then_some(Window { start, end })
    }

    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// Whether an optional instant is present and in the window.
    pub fn contains_opt(&self, t: Option<Timestamp>) -> bool {
        t.is_some_and(|t| self.contains(t))
    }

    /// Exact length.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }
}

/// How a window is cut into a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    None,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    /// Three months from the fiscal year's start month.
    FiscalQuarter,
    /// Twelve months from the fiscal year's start month.
    FiscalYear,
}

/// Parses an IANA time zone name (`Europe/Warsaw`, `UTC`).
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The instant of a local date-time in `tz`; a local time inside a DST gap maps to the first
/// instant after the gap, an ambiguous one to the earlier instant.
pub fn local_to_instant(tz: Tz, local: NaiveDateTime) -> Timestamp {
    let mut probe = local;
    // Gaps are at most a few hours; step forward by minutes until the local time exists.
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.to_utc(),
            LocalResult::Ambiguous(earlier, _) => return earlier.to_utc(),
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
    local.and_utc()
}

fn local_midnight(tz: Tz, date: NaiveDate) -> Timestamp {
    local_to_instant(tz, date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn local_date(tz: Tz, t: Timestamp) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// The first day of the `months`-long period containing `date`, periods starting in
/// `first_month` (1-12) of some year.
fn period_start(date: NaiveDate, first_month: u32, months: u32) -> NaiveDate {
    let first = first_month.clamp(1, 12) - 1;
    let since_first = (date.month0() + 12 - first) % 12;
    let month0 = (first + since_first / months * months) % 12;
    let year = if month0 > date.month0() {
        date.year() - 1
    } else {
        date.year()
    };
    NaiveDate::from_ymd_opt(year, month0 + 1, 1).unwrap_or(date)
}

/// The first day of the calendar bucket containing `date`; fiscal periods start in
/// `fiscal_year_start_month`.
fn bucket_start_date(
    granularity: Granularity,
    fiscal_year_start_month: u32,
    date: NaiveDate,
) -> NaiveDate {
    match granularity {
        Granularity::FiscalQuarter => period_start(date, fiscal_year_start_month, 3),
        Granularity::FiscalYear => period_start(date, fiscal_year_start_month, 12),
        Granularity::None | Granularity::Day => date,
        Granularity::Week => date - Days::new(u64::from(date.weekday().num_days_from_monday())),
        Granularity::Month => date.with_day(1).unwrap_or(date),
        Granularity::Quarter => {
            let month = (date.month0() / 3) * 3 + 1;
            NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
        }
        Granularity::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date),
    }
}

fn next_bucket_date(granularity: Granularity, start: NaiveDate) -> NaiveDate {
    let next = match granularity {
        Granularity::None | Granularity::Day => start.checked_add_days(Days::new(1)),
        Granularity::Week => start.checked_add_days(Days::new(7)),
        Granularity::Month => start.checked_add_months(Months::new(1)),
        Granularity::Quarter | Granularity::FiscalQuarter => {
            start.checked_add_months(Months::new(3))
        }
        Granularity::Year | Granularity::FiscalYear => start.checked_add_months(Months::new(12)),
    };
    next.unwrap_or(NaiveDate::MAX)
}

/// Cuts `window` into calendar buckets of `granularity` in `tz` (fiscal ones starting in
/// `fiscal_year_start_month`). The first and last buckets are clipped to the window.
/// `Granularity::None` yields no buckets. At most `limit` buckets are produced; `None` when more
/// would be needed.
pub fn buckets(
    window: Window,
    tz: Tz,
    granularity: Granularity,
    fiscal_year_start_month: u32,
    limit: usize,
) -> Option<Vec<Window>> {
    if granularity == Granularity::None {
        return Some(Vec::new());
    }
    let mut result = Vec::new();
    let mut date = bucket_start_date(
        granularity,
        fiscal_year_start_month,
        local_date(tz, window.start),
    );
    let mut start = window.start;
    while start < window.end {
        if result.len() == limit {
            return None;
        }
        date = next_bucket_date(granularity, date);
        let boundary = local_midnight(tz, date);
        let end = boundary.min(window.end);
        if end > start {
            result.push(Window { start, end });
        }
        start = end.max(start);
        if date == NaiveDate::MAX {
            break;
        }
    }
    Some(result)
}

/// The window of equal calendar length immediately before `window`: whole local months map to the
/// same number of months before (a quarter before a quarter), whole local days to the same number
/// of days before (DST-correct), anything else to the same exact duration before.
pub fn previous_window(window: Window, tz: Tz) -> Window {
    let start_local = window.start.with_timezone(&tz).naive_local();
    let end_local = window.end.with_timezone(&tz).naive_local();
    let midnight = |t: NaiveDateTime| t.time() == chrono::NaiveTime::MIN;
    if midnight(start_local) && midnight(end_local) {
        let (start_date, end_date) = (start_local.date(), end_local.date());
        if start_date.day() == 1 && end_date.day() == 1 {
            let months = (end_date.year() - start_date.year()) * 12 + end_date.month() as i32
                - start_date.month() as i32;
            if let Some(prev) = u32::try_from(months)
                .ok()
                .and_then(|m| start_date.checked_sub_months(Months::new(m)))
            {
                return Window {
                    start: local_midnight(tz, prev),
                    end: window.start,
                };
            }
        }
        let days = (end_date - start_date).num_days();
        if let Some(prev) = u64::try_from(days)
            .ok()
            .and_then(|d| start_date.checked_sub_days(Days::new(d)))
        {
            return Window {
                start: local_midnight(tz, prev),
                end: window.start,
            };
        }
    }
    Window {
        start: window.start - window.duration(),
        end: window.start,
    }
}

#[cfg(test)]
#[path = "tests/calendar.rs"]
mod tests;
