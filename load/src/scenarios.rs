//! The query scenarios: what `crm-load query` asks the service and, where a metric is a plain
//! SQL aggregate, the statement `crm-load raw-query` runs for the same answer.
//!
//! The win-rate scenarios have SQL twins (`win_rate`, basis `closed`: deals won in P / deals won
//! or lost in P by `closed_time`); `crm-load verify` checks the service and the SQL agree before
//! any of them is timed. `catalog-mix` rotates through metrics of every family and has no twin.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use clap::ValueEnum;

use crm_metrics_api as pb;
use crm_metrics_demo::timestamp_to_proto;

/// A query scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// `win_rate` of one tenant over one quarter (2026 Q2), plain.
    WinRateQuarter,
    /// `win_rate` of one tenant over its whole two years, by month (24 buckets).
    WinRateMonthly,
    /// `win_rate` of one tenant over a year, grouped by deal owner.
    WinRateByOwner,
    /// One metric per call, rotating through every family, over one quarter, in USD.
    CatalogMix,
}

/// The metrics `catalog-mix` rotates through: one or two per family.
pub const CATALOG_MIX: [&str; 12] = [
    "nps",
    "csat",
    "customer_churn_rate",
    "revenue",
    "mrr",
    "net_revenue_retention",
    "customer_lifetime_value",
    "win_rate",
    "pipeline_value",
    "first_response_time",
    "customer_engagement_rate",
    "customer_health_score",
];

const TOTAL_SQL: &str = "SELECT '' AS key, \
     count(*) FILTER (WHERE status = 'won') AS won, count(*) AS closed \
     FROM deals WHERE tenant_id = $1 AND closed_time >= $2 AND closed_time < $3 \
     AND status IN ('won', 'lost')";
const MONTHLY_SQL: &str = "SELECT \
     to_char(date_trunc('month', closed_time AT TIME ZONE 'UTC'), 'YYYY-MM') AS key, \
     count(*) FILTER (WHERE status = 'won') AS won, count(*) AS closed \
     FROM deals WHERE tenant_id = $1 AND closed_time >= $2 AND closed_time < $3 \
     AND status IN ('won', 'lost') GROUP BY 1";
const BY_OWNER_SQL: &str = "SELECT coalesce(owner_id, '') AS key, \
     count(*) FILTER (WHERE status = 'won') AS won, count(*) AS closed \
     FROM deals WHERE tenant_id = $1 AND closed_time >= $2 AND closed_time < $3 \
     AND status IN ('won', 'lost') GROUP BY 1";

fn utc(year: i32, month: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Won and won-or-lost deal counts by key ("" for a total, `YYYY-MM` for a month, the owner id
/// for a group); keys with no closed deal are left out.
pub type Counts = BTreeMap<String, (i64, i64)>;

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 4] = [
        Scenario::WinRateQuarter,
        Scenario::WinRateMonthly,
        Scenario::WinRateByOwner,
        Scenario::CatalogMix,
    ];

    /// The scenario's window `[start, end)`.
    pub fn window(self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            Scenario::WinRateQuarter | Scenario::CatalogMix => (utc(2026, 4), utc(2026, 7)),
            Scenario::WinRateMonthly => (utc(2024, 10), utc(2026, 10)),
            Scenario::WinRateByOwner => (utc(2025, 10), utc(2026, 10)),
        }
    }

    /// The statement of the SQL twin: `$1` tenant, `$2` window start, `$3` window end; rows of
    /// `(key text, won bigint, closed bigint)`.
    pub fn raw_sql(self) -> Option<&'static str> {
        match self {
            Scenario::WinRateQuarter => Some(TOTAL_SQL),
            Scenario::WinRateMonthly => Some(MONTHLY_SQL),
            Scenario::WinRateByOwner => Some(BY_OWNER_SQL),
            Scenario::CatalogMix => None,
        }
    }

    /// The request number `n` whose metric is `metric` (`catalog-mix` only).
    pub fn mix_position(self, metric: &str) -> Result<u64, String> {
        match self {
            Scenario::CatalogMix => CATALOG_MIX
                .iter()
                .position(|m| *m == metric)
                .map(|p| p as u64)
                .ok_or_else(|| format!("--metric {metric} is not one of {CATALOG_MIX:?}")),
            _ => Err("--metric applies to catalog-mix only".to_owned()),
        }
    }

    /// The scenario's `n`-th request, for `tenant`.
    pub fn request(self, tenant: String, n: u64) -> pb::ComputeMetricsRequest {
        let (start, end) = self.window();
        let metric = match self {
            Scenario::CatalogMix => CATALOG_MIX[(n % CATALOG_MIX.len() as u64) as usize],
            _ => "win_rate",
        };
        let mut request = pb::ComputeMetricsRequest {
            tenant_id: tenant,
            metrics: vec![pb::MetricQuery {
                metric: metric.to_owned(),
                ..Default::default()
            }],
            window: Some(pb::TimeWindow {
                start: Some(timestamp_to_proto(start)),
                end: Some(timestamp_to_proto(end)),
            }),
            // The data ends where the windows end: a fixed as_of keeps answers reproducible.
            as_of: Some(timestamp_to_proto(utc(2026, 10))),
            ..Default::default()
        };
        match self {
            Scenario::WinRateMonthly => request.granularity = pb::Granularity::Month as i32,
            Scenario::WinRateByOwner => request.group_by = vec!["owner_id".to_owned()],
            Scenario::CatalogMix => request.reporting_currency = "USD".to_owned(),
            Scenario::WinRateQuarter => {}
        }
        request
    }

    /// The counts a service answer to [`Scenario::request`] holds, in the SQL twin's keys.
    pub fn service_counts(self, response: &pb::ComputeMetricsResponse) -> Counts {
        let mut counts = Counts::new();
        let Some(report) = response.reports.first() else {
            return counts;
        };
        let mut put = |key: String, result: Option<&pb::MetricResult>| {
            if let Some(pb::metric_result::Value::Ratio(ratio)) =
                result.and_then(|r| r.value.as_ref())
            {
                counts.insert(key, (ratio.numerator as i64, ratio.denominator as i64));
            }
        };
        match self {
            Scenario::WinRateMonthly => {
                for point in &report.series {
                    let start = point.window.as_ref().and_then(|w| w.start.as_ref());
                    let key = start
                        .and_then(|t| DateTime::from_timestamp(t.seconds, 0))
                        .map(|t| t.format("%Y-%m").to_string())
                        .unwrap_or_default();
                    put(key, point.result.as_ref());
                }
            }
            Scenario::WinRateByOwner => {
                for group in &report.groups {
                    let key = group
                        .key
                        .first()
                        .and_then(|k| k.value.clone())
                        .unwrap_or_default();
                    put(key, group.total.as_ref());
                }
            }
            Scenario::WinRateQuarter | Scenario::CatalogMix => {
                put(String::new(), report.total.as_ref())
            }
        }
        counts
    }
}

/// Rows of the SQL twin as counts, leaving out keys with no closed deal.
pub fn raw_counts(rows: impl IntoIterator<Item = (String, i64, i64)>) -> Counts {
    rows.into_iter()
        .filter(|(_, _, closed)| *closed > 0)
        .map(|(key, won, closed)| (key, (won, closed)))
        .collect()
}
