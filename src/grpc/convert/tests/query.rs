//! Unit tests of `query`.

use super::*;
use chrono::{TimeZone, Utc};
use crm_metrics_engine::query::GroupOrder;

fn ts(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

fn valid() -> pb::ComputeMetricsRequest {
    let mut parameters = BTreeMap::new();
    parameters.insert(
        "stages".to_owned(),
        pb::ParameterValue {
            value: Some(pb::parameter_value::Value::List(pb::StringList {
                values: vec!["a".into(), "b".into()],
            })),
        },
    );
    pb::ComputeMetricsRequest {
        tenant_id: "acme".into(),
        metrics: vec![pb::MetricQuery {
            metric: "funnel_conversion".into(),
            policies: BTreeMap::new(),
            parameters,
        }],
        window: Some(pb::TimeWindow {
            start: Some(ts(1_767_225_600)),
            end: Some(ts(1_769_904_000)),
        }),
        time_zone: "Europe/Warsaw".into(),
        granularity: pb::Granularity::Week as i32,
        group_by: vec!["owner_id".into(), "customer.attr.plan".into()],
        filters: vec![pb::Filter {
            dimension: "attr.region".into(),
            values: vec!["emea".into()],
            exclude: true,
        }],
        compare_previous: true,
        as_of: None,
        reporting_currency: "EUR".into(),
        min_consistency_token: "42".into(),
        save: false,
        group_limit: 25,
        group_order: pb::GroupOrder::ValueDescending as i32,
        page_token: String::new(),
    }
}

fn fields(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.field.as_str()).collect()
}

#[test]
fn a_valid_request_converts() {
    let receive = Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap();
    let input = compute_request_from_proto(valid(), receive).unwrap();
    assert_eq!(input.request.as_of, receive);
    assert_eq!(
        input.request.time_zone,
        "Europe/Warsaw".parse::<Tz>().unwrap()
    );
    assert_eq!(
        input.request.group_by,
        vec![
            Dimension::OwnerId,
            Dimension::CustomerAttribute("plan".into())
        ]
    );
    assert!(input.request.filters[0].exclude);
    assert_eq!(
        input.request.metrics[0].parameters["stages"],
        ParamValue::List(vec!["a".into(), "b".into()])
    );
    assert_eq!(input.reporting_currency, Currency::parse("EUR"));
    assert_eq!(input.min_consistency_token.as_deref(), Some("42"));
    assert_eq!(
        input.request.groups,
        GroupPage {
            order: GroupOrder::ValueDescending,
            limit: Some(25),
            offset: 0,
        }
    );
}

#[test]
fn a_page_token_gives_the_offset_for_the_same_request_only() {
    let first = compute_request_from_proto(valid(), Utc::now()).unwrap();
    let mut next = valid();
    next.page_token = crate::grpc::convert::page::page_token(50, first.page_fingerprint);
    let input = compute_request_from_proto(next.clone(), Utc::now()).unwrap();
    assert_eq!(input.request.groups.offset, 50);
    next.group_limit = 26;
    let problems = compute_request_from_proto(next, Utc::now()).unwrap_err();
    assert_eq!(fields(&problems), ["page_token"]);
    assert!(problems[0].description.contains("different request"));
}

#[test]
fn defaults_apply() {
    let mut request = valid();
    request.time_zone = String::new();
    request.granularity = 0;
    request.reporting_currency = String::new();
    request.min_consistency_token = String::new();
    request.as_of = Some(ts(1_767_225_600));
    request.group_limit = 0;
    request.group_order = 0;
    let input = compute_request_from_proto(request, Utc::now()).unwrap();
    assert_eq!(input.request.time_zone, Tz::UTC);
    assert_eq!(
        input.request.granularity,
        crm_metrics_engine::calendar::Granularity::None
    );
    assert_eq!(input.request.as_of.timestamp(), 1_767_225_600);
    assert_eq!(input.reporting_currency, None);
    assert_eq!(input.min_consistency_token, None);
    assert_eq!(input.request.groups, GroupPage::default());
}

#[test]
fn unknown_time_zone_is_named() {
    let mut request = valid();
    request.time_zone = "Mars/Base".into();
    let problems = compute_request_from_proto(request, Utc::now()).unwrap_err();
    assert_eq!(fields(&problems), ["time_zone"]);
    assert!(
        problems[0]
            .description
            .contains("unknown IANA time zone 'Mars/Base'")
    );
}

#[test]
fn unknown_dimensions_are_named_with_the_allowed_ones() {
    let mut request = valid();
    request.group_by = vec!["owner_id".into(), "region".into()];
    request.filters[0].dimension = "attr.".into();
    request.filters.push(pb::Filter {
        dimension: "stage".into(),
        values: vec![],
        exclude: false,
    });
    let problems = compute_request_from_proto(request, Utc::now()).unwrap_err();
    assert_eq!(
        fields(&problems),
        ["group_by[1]", "filters[0].dimension", "filters[1].values"]
    );
    assert!(
        problems[0]
            .description
            .contains("unknown dimension 'region'")
    );
    assert!(problems[0].description.contains("lead.source"));
    assert!(problems[0].description.contains("customer.attr.<key>"));
}

#[test]
fn every_shape_problem_is_reported() {
    // (The tenant is parsed by the handler, before conversion.)
    let mut request = valid();
    request.window = Some(pb::TimeWindow {
        start: Some(ts(1_769_904_000)),
        end: Some(ts(1_767_225_600)),
    });
    request.granularity = 42;
    request.reporting_currency = "eur".into();
    request.as_of = Some(ts(-5));
    request.metrics[0]
        .parameters
        .insert("x".into(), pb::ParameterValue { value: None });
    let problems = compute_request_from_proto(request, Utc::now()).unwrap_err();
    assert_eq!(
        fields(&problems),
        [
            "metrics[0].parameters[x]",
            "window.end",
            "granularity",
            "as_of",
            "reporting_currency"
        ]
    );
}

#[test]
fn a_missing_window_is_required() {
    let mut request = valid();
    request.window = None;
    let problems = compute_request_from_proto(request, Utc::now()).unwrap_err();
    assert_eq!(fields(&problems), ["window"]);
    let mut request = valid();
    request.window = Some(pb::TimeWindow {
        start: None,
        end: Some(ts(5)),
    });
    let problems = compute_request_from_proto(request, Utc::now()).unwrap_err();
    assert_eq!(fields(&problems), ["window.start"]);
}

#[test]
fn shape_and_catalog_problems_come_in_one_answer() {
    // A bad time zone and an unknown dimension (shape), an unknown metric, an unknown policy of a
    // known one, and a known dimension that does not apply to it (catalog): all five at once.
    let mut request = valid();
    request.time_zone = "Mars/Base".into();
    request.metrics = vec![
        pb::MetricQuery {
            metric: "no_such_metric".into(),
            ..Default::default()
        },
        pb::MetricQuery {
            metric: "win_rate".into(),
            policies: BTreeMap::from([("flavour".to_owned(), "sweet".to_owned())]),
            ..Default::default()
        },
        pb::MetricQuery {
            metric: "revenue".into(),
            ..Default::default()
        },
    ];
    request.group_by = vec!["stage".into(), "nowhere".into()];
    request.filters.clear();
    let problems = compute_request_from_proto(request, Utc::now()).unwrap_err();
    assert_eq!(
        fields(&problems),
        [
            "time_zone",
            "group_by[1]",
            "metrics[0].metric",
            "metrics[1].policies[flavour]",
            "group_by[0]",
        ],
        "{problems:#?}"
    );
    assert!(
        problems[4]
            .description
            .contains("does not apply to metric revenue")
    );
}
