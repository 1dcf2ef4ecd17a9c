//! Read plans are sound: for every metric of the catalog, under every policy value, evaluating
//! only the records the request's read plan selects gives the same report as evaluating every
//! record. The service evaluates exactly the selected records (read from storage or taken from a
//! snapshot), so a plan that leaves out a record the formula looks at is a wrong answer.
//!
//! The records come from [`arb_records`]: every kind, tied together by references.

use proptest::prelude::*;

use crate::calendar::{Granularity, Window};
use crate::catalog::ParamKind;
use crate::dimension::Dimension;
use crate::eval::prepare;
use crate::metrics::arb_records::{STAGES, arb_records};
use crate::metrics::catalog;
use crate::metrics::test_support::*;
use crate::query::{ComputeRequest, Filter, MetricQuery, ParamValue};
use crate::records::*;

/// A window of one to six months starting in 2025 or 2026, a granularity and an `as_of`
/// somewhere from inside the window to long after it.
pub(super) fn arb_frame() -> impl Strategy<Value = (Window, Granularity, Timestamp)> {
    (0i64..20, 1i64..7, 0u8..3, prop::option::of(0i64..400)).prop_map(
        |(first_month, months, granularity, as_of_days)| {
            let month = |n: i64| ymd(2025 + (n / 12) as i32, (n % 12) as u32 + 1, 1);
            let window = Window::new(month(first_month), month(first_month + months)).unwrap();
            let as_of = as_of_days.map_or(ymd(2100, 1, 1), |days| {
                window.start + chrono::Duration::days(days)
            });
            let granularity = [Granularity::None, Granularity::Month, Granularity::Week]
                [usize::from(granularity)];
            (window, granularity, as_of)
        },
    )
}

/// A dimension to group and filter by, among those that follow references and those that do
/// not.
fn arb_dimension() -> impl Strategy<Value = Dimension> {
    prop_oneof![
        Just(Dimension::CustomerId),
        Just(Dimension::OwnerId),
        Just(Dimension::LeadSource),
        Just(Dimension::CustomerAcquisitionChannel),
        Just(Dimension::Channel),
        Just(Dimension::Stage),
        Just(Dimension::CustomerAttribute("tier".to_owned())),
    ]
}

/// A value for a parameter that has no default, so that every metric can be asked.
pub(super) fn required_parameter(kind: ParamKind) -> ParamValue {
    match kind {
        ParamKind::Number => ParamValue::Number(2.0),
        ParamKind::Text => ParamValue::Text("x".to_owned()),
        ParamKind::List => ParamValue::List(STAGES.iter().map(|s| (*s).to_owned()).collect()),
        ParamKind::NumberMap => ParamValue::NumberMap(
            STAGES
                .iter()
                .enumerate()
                .map(|(i, s)| ((*s).to_owned(), 20.0 * (i + 1) as f64))
                .collect(),
        ),
    }
}

fn test_window() -> Window {
    Window::new(ymd(2026, 1, 1), ymd(2026, 2, 1)).unwrap()
}

/// One request per metric and policy value (other policies at their defaults).
pub(super) fn every_query() -> Vec<MetricQuery> {
    let mut queries = Vec::new();
    for metric in catalog() {
        let definition = metric.definition();
        let mut base = MetricQuery::new(definition.id);
        // Parameters without a default are optional for most metrics; a metric that needs one
        // gets a value for each.
        if prepare(&request(base.clone(), test_window())).is_err() {
            for parameter in definition.parameters {
                if parameter.default.is_none() {
                    base = base.parameter(parameter.name, required_parameter(parameter.kind));
                }
            }
        }
        queries.push(base.clone());
        for policy in definition.policies {
            for value in policy.values {
                if *value != policy.default {
                    queries.push(base.clone().policy(policy.name, value));
                }
            }
        }
    }
    queries
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_plan_selects_every_record_its_formula_reads(
        records in arb_records(),
        (window, granularity, as_of) in arb_frame(),
        compare_previous in any::<bool>(),
        dimension in arb_dimension(),
        filter_value in 0u8..2,
    ) {
        for query in every_query() {
            let plain = ComputeRequest {
                granularity,
                as_of,
                compare_previous,
                ..request(query.clone(), window)
            };
            let prepared = prepare(&plain);
            prop_assert!(prepared.is_ok(), "{:?}: {:?}", query, prepared.err());
            // The same request grouped by a dimension and filtered on it, where the metric
            // accepts that dimension (following a reference reads the referenced kind).
            let grouped = ComputeRequest {
                group_by: vec![dimension.clone()],
                filters: vec![Filter {
                    dimension: dimension.clone(),
                    values: vec![format!("{}", filter_value)],
                    exclude: true,
                }],
                ..plain.clone()
            };
            for request in std::iter::once(plain).chain(prepare(&grouped).is_ok().then_some(grouped)) {
                let everything = run(records.clone(), &request);
                let planned = run_planned(records.clone(), &request);
                prop_assert_eq!(planned, everything, "metric {:?}", query);
            }
        }
    }
}
