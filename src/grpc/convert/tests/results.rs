//! Unit tests of `results`.

use super::*;
use chrono::{TimeZone, Utc};
use crm_metrics_engine::money::Currency;

fn window() -> Window {
    Window::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
    )
    .unwrap()
}

#[test]
fn reports_convert_with_groups_series_and_previous() {
    let usd = Currency::parse("USD").unwrap();
    let total = MetricResult::value(
        Value::Money(MoneyValue {
            amount: Money::new(usd, 10_000),
            numerator: Some(Money::new(usd, 1_000_000)),
            denominator: Some(100.0),
        }),
        vec![Component::count("orders", 100)],
    );
    let undefined = MetricResult::undefined(
        UndefinedReason::ZeroDenominator,
        "no orders in the window",
        vec![],
    );
    let report = MetricReport {
        metric: "average_purchase_value",
        definition_version: 1,
        applied_policies: vec![("basis".into(), "customers".into())],
        total: total.clone(),
        series: vec![SeriesPoint {
            window: window(),
            result: total.clone(),
        }],
        group_count: 3,
        groups: vec![GroupReport {
            key: vec![Some("rep-1".into()), None],
            total: undefined.clone(),
            series: vec![],
        }],
        previous: Some(PreviousPeriod {
            window: window(),
            result: total,
            absolute_change: Some(0.0),
            relative_change: None,
        }),
    };
    let proto = report_to_proto(
        &report,
        &[Dimension::OwnerId, Dimension::Attribute("region".into())],
    );
    assert_eq!(proto.applied_policies["basis"], "customers");
    let Some(pb::metric_result::Value::Money(money)) = proto.total.as_ref().unwrap().value.clone()
    else {
        panic!("money expected");
    };
    assert_eq!(money.amount.unwrap().units_minor, 10_000);
    assert_eq!(money.denominator, Some(100.0));
    assert_eq!(proto.series.len(), 1);
    assert_eq!(proto.group_count, 3);
    let group = &proto.groups[0];
    assert_eq!(group.key[0].dimension, "owner_id");
    assert_eq!(group.key[1].value, None);
    let group_total = group.total.as_ref().unwrap();
    assert_eq!(
        group_total.undefined_reason,
        pb::UndefinedReason::ZeroDenominator as i32
    );
    assert_eq!(group_total.value, None);
    let previous = proto.previous.unwrap();
    assert_eq!(previous.absolute_change, Some(0.0));
    assert_eq!(previous.relative_change, None);
    assert_eq!(
        proto.total.unwrap().components[0].value,
        Some(pb::component::Value::Count(100))
    );
}

#[test]
fn breakdown_entries_without_a_value_are_no_data() {
    let result = MetricResult::value(
        Value::Breakdown(vec![
            BreakdownEntry {
                key: "qualified".into(),
                value: Some(Value::Count(3)),
                components: vec![],
            },
            BreakdownEntry {
                key: "won".into(),
                value: None,
                components: vec![],
            },
        ]),
        vec![],
    );
    let Some(pb::metric_result::Value::Breakdown(breakdown)) = result_to_proto(&result).value
    else {
        panic!("breakdown expected");
    };
    assert_eq!(
        breakdown.entries[0]
            .result
            .as_ref()
            .unwrap()
            .undefined_reason,
        0
    );
    assert_eq!(
        breakdown.entries[1]
            .result
            .as_ref()
            .unwrap()
            .undefined_reason,
        pb::UndefinedReason::NoData as i32
    );
}

#[test]
fn every_catalog_entry_converts() {
    for metric in crm_metrics_engine::metrics::catalog() {
        let definition = metric.definition();
        let proto = definition_to_proto(definition);
        assert_eq!(proto.id, definition.id);
        assert_ne!(proto.value_kind, 0);
        assert!(proto.reads.iter().all(|k| *k != 0));
        assert!(proto.dimensions.contains(&"attr.<key>".to_owned()));
    }
}
