//! The demo's table: every metric of the catalog for one quarter, the quarter before, and the
//! change, read back through `ListMetrics` and `ComputeMetrics`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tonic::transport::Channel;

use super::DemoError;
use super::generate::STAGES;
use crate::timestamp_to_proto;
use crm_metrics_api as pb;
use crm_metrics_api::metrics_service_client::MetricsServiceClient;

/// Prints one row per metric (and one line per breakdown entry).
pub async fn print(
    mut client: MetricsServiceClient<Channel>,
    tenant: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(), DemoError> {
    let catalog = client
        .list_metrics(pb::ListMetricsRequest {})
        .await?
        .into_inner()
        .metrics;
    println!(
        "\n{} metrics for [{}, {}), as of {}, in USD, beside the previous quarter\n",
        catalog.len(),
        start.date_naive(),
        end.date_naive(),
        end
    );
    println!(
        "{:<28} {:>24} {:>24} {:>10}",
        "metric", "this quarter", "previous quarter", "change"
    );
    println!("{}", "-".repeat(89));
    for definition in &catalog {
        let request = pb::ComputeMetricsRequest {
            tenant_id: tenant.to_owned(),
            metrics: vec![query_for(&definition.id)],
            window: Some(pb::TimeWindow {
                start: Some(timestamp_to_proto(start)),
                end: Some(timestamp_to_proto(end)),
            }),
            compare_previous: true,
            as_of: Some(timestamp_to_proto(end)),
            // EMEA customers pay in EUR: every amount is converted with the day's rate.
            reporting_currency: "USD".to_owned(),
            ..Default::default()
        };
        match client.compute_metrics(request).await {
            Ok(response) => {
                for report in response.into_inner().reports {
                    print_report(&report);
                }
            }
            Err(status) => println!("{:<28} {}", definition.id, status.message()),
        }
    }
    Ok(())
}

/// The query for a metric, with the parameters the demo data needs.
fn query_for(metric: &str) -> pb::MetricQuery {
    let mut parameters = BTreeMap::new();
    match metric {
        "funnel_conversion" => {
            parameters.insert(
                "stages".to_owned(),
                pb::ParameterValue {
                    value: Some(pb::parameter_value::Value::List(pb::StringList {
                        values: STAGES.iter().map(|s| (*s).to_owned()).collect(),
                    })),
                },
            );
        }
        "weighted_pipeline_value" => {
            let defaults = STAGES.iter().zip([10.0, 25.0, 50.0, 75.0]);
            parameters.insert(
                "stage_probabilities".to_owned(),
                pb::ParameterValue {
                    value: Some(pb::parameter_value::Value::NumberMap(pb::NumberMap {
                        values: defaults.map(|(s, p)| ((*s).to_owned(), p)).collect(),
                    })),
                },
            );
        }
        _ => {}
    }
    pb::MetricQuery {
        metric: metric.to_owned(),
        policies: BTreeMap::new(),
        parameters,
    }
}

fn print_report(report: &pb::MetricReport) {
    let now = report.total.as_ref();
    let before = report.previous.as_ref().and_then(|p| p.result.as_ref());
    let change = report
        .previous
        .as_ref()
        .map_or_else(|| "—".to_owned(), change_of);
    println!(
        "{:<28} {:>24} {:>24} {:>10}",
        report.metric,
        now.map_or_else(|| "—".to_owned(), describe),
        before.map_or_else(|| "—".to_owned(), describe),
        change
    );
    if let Some(pb::metric_result::Value::Breakdown(breakdown)) = now.and_then(|r| r.value.as_ref())
    {
        for entry in &breakdown.entries {
            let value = entry
                .result
                .as_ref()
                .map_or_else(|| "—".to_owned(), describe);
            println!("  {:<26} {:>24}", entry.key, value);
        }
    }
}

/// The change to the previous period: for a ratio (a percentage) its difference in percentage
/// points, since a relative change of a percentage misleads (−4.5 % → 4.5 % is not "+199 %");
/// for anything else its relative change.
pub fn change_of(previous: &pb::PreviousPeriod) -> String {
    let is_ratio = matches!(
        previous.result.as_ref().and_then(|r| r.value.as_ref()),
        Some(pb::metric_result::Value::Ratio(_))
    );
    let shown = if is_ratio {
        previous
            .absolute_change
            .map(|points| format!("{:+.1} pp", points * 100.0))
    } else {
        previous
            .relative_change
            .map(|change| format!("{:+.1}%", change * 100.0))
    };
    shown.unwrap_or_else(|| "—".to_owned())
}

/// A short human rendering of a result, or its undefined reason.
fn describe(result: &pb::MetricResult) -> String {
    use pb::metric_result::Value;
    match &result.value {
        None => format!(
            "n/a ({})",
            pb::UndefinedReason::try_from(result.undefined_reason)
                .map_or("undefined", |r| r.as_str_name())
                .trim_start_matches("UNDEFINED_REASON_")
                .to_lowercase()
        ),
        Some(Value::Ratio(r)) => format!("{:.1}%", r.value * 100.0),
        Some(Value::Money(m)) => m.amount.as_ref().map_or_else(String::new, money),
        Some(Value::Duration(d)) => format!("{} (n={})", duration(d.mean_seconds), d.count),
        Some(Value::Score(s)) => format!("{:.1}", s.value),
        Some(Value::Count(c)) => c.value.to_string(),
        Some(Value::Number(n)) => format!("{:.2}", n.value),
        Some(Value::Breakdown(b)) => format!("{} entries", b.entries.len()),
    }
}

fn money(amount: &pb::Money) -> String {
    let minor = amount.units_minor;
    let sign = if minor < 0 { "-" } else { "" };
    let units = (minor / 100).unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!(
        "{} {sign}{grouped}.{:02}",
        amount.currency_code,
        (minor % 100).unsigned_abs()
    )
}

fn duration(seconds: f64) -> String {
    if seconds >= 86_400.0 {
        format!("{:.1} d", seconds / 86_400.0)
    } else if seconds >= 3_600.0 {
        format!("{:.1} h", seconds / 3_600.0)
    } else {
        format!("{:.0} s", seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands() {
        let amount = |minor| pb::Money {
            currency_code: "USD".to_owned(),
            units_minor: minor,
        };
        assert_eq!(money(&amount(123_456_789)), "USD 1,234,567.89");
        assert_eq!(money(&amount(-5)), "USD -0.05");
        assert_eq!(money(&amount(100_000)), "USD 1,000.00");
    }

    #[test]
    fn a_percentage_changes_in_points_and_anything_else_relatively() {
        // Revenue growth −4.5 % → 4.5 %: +9.0 percentage points (relatively it would be +200 %).
        let ratio = |value: f64| pb::MetricResult {
            value: Some(pb::metric_result::Value::Ratio(pb::RatioValue {
                value,
                numerator: value,
                denominator: 1.0,
            })),
            ..Default::default()
        };
        let growth = pb::PreviousPeriod {
            result: Some(ratio(-0.045)),
            absolute_change: Some(0.09),
            relative_change: Some(2.0),
            ..Default::default()
        };
        assert_eq!(change_of(&growth), "+9.0 pp");
        let count = pb::PreviousPeriod {
            result: Some(pb::MetricResult {
                value: Some(pb::metric_result::Value::Count(pb::CountValue {
                    value: 40,
                })),
                ..Default::default()
            }),
            absolute_change: Some(10.0),
            relative_change: Some(0.25),
            ..Default::default()
        };
        assert_eq!(change_of(&count), "+25.0%");
        assert_eq!(change_of(&pb::PreviousPeriod::default()), "—");
    }

    #[test]
    fn an_address_without_a_scheme_is_http() {
        assert_eq!(
            crate::endpoint_address("127.0.0.1:50051"),
            "http://127.0.0.1:50051"
        );
        assert_eq!(
            crate::endpoint_address("https://crm.example:443"),
            "https://crm.example:443"
        );
    }
}
