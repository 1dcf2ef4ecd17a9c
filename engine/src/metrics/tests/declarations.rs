//! Every metric's published declaration says what its results carry, and nothing else: over
//! generated data of every kind, for every policy value, each component name, breakdown key and
//! undefined reason a result carries is declared, and each declared one occurs. The text of the
//! description and formula names no undefined reason the declaration leaves out.

use std::collections::{BTreeMap, BTreeSet};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::plans::{arb_frame, every_query, required_parameter};
use crate::calendar::{Granularity, Window};
use crate::catalog::{MetricDefinition, Term};
use crate::dimension::Dimension;
use crate::eval::MetricReport;
use crate::eval::prepare;
use crate::metrics::arb_records::arb_records;
use crate::metrics::catalog;
use crate::metrics::test_support::*;
use crate::query::ComputeRequest;
use crate::query::MetricQuery;
use crate::records::Timestamp;
use crate::value::{MetricResult, UndefinedReason, Value};

/// Generated data sets each query runs over (besides an empty one).
const CASES: usize = 160;

/// What the results of one metric carried.
#[derive(Default)]
struct Seen {
    components: BTreeSet<String>,
    breakdown_keys: BTreeSet<String>,
    reasons: BTreeSet<&'static str>,
}

fn reason_name(reason: UndefinedReason) -> &'static str {
    match reason {
        UndefinedReason::NoData => "NO_DATA",
        UndefinedReason::ZeroDenominator => "ZERO_DENOMINATOR",
        UndefinedReason::MissingParameter => "MISSING_PARAMETER",
        UndefinedReason::UndefinedInput => "UNDEFINED_INPUT",
    }
}

const REASONS: [UndefinedReason; 4] = [
    UndefinedReason::NoData,
    UndefinedReason::ZeroDenominator,
    UndefinedReason::MissingParameter,
    UndefinedReason::UndefinedInput,
];

impl Seen {
    fn result(&mut self, result: &MetricResult) {
        self.components
            .extend(result.components.iter().map(|c| c.name.clone()));
        match &result.value {
            Err(undefined) => {
                self.reasons.insert(reason_name(undefined.reason));
            }
            Ok(Value::Breakdown(entries)) => {
                for entry in entries {
                    self.breakdown_keys.insert(entry.key.clone());
                    self.components
                        .extend(entry.components.iter().map(|c| c.name.clone()));
                }
            }
            Ok(_) => {}
        }
    }

    fn report(&mut self, report: &MetricReport) {
        self.result(&report.total);
        for point in &report.series {
            self.result(&point.result);
        }
        for group in &report.groups {
            self.result(&group.total);
            for point in &group.series {
                self.result(&point.result);
            }
        }
        if let Some(previous) = &report.previous {
            self.result(&previous.result);
        }
    }
}

/// Whether a declared term admits `name`: the same name, or a placeholder (`<stage>`) for a
/// name that no literal term of the list claims.
fn admits(terms: &[Term], name: &str) -> bool {
    terms.iter().any(|t| t.name == name)
        || terms
            .iter()
            .any(|t| t.name.starts_with('<') && t.name.ends_with('>'))
}

/// The differences between what `definition` declares and what its results carried.
fn mismatches(definition: &MetricDefinition, seen: &Seen) -> Vec<String> {
    let mut problems = Vec::new();
    let mut compare = |what: &str, terms: &[Term], names: &BTreeSet<String>| {
        for name in names {
            if !admits(terms, name) {
                problems.push(format!("{what} {name} occurs but is not declared"));
            }
        }
        for term in terms {
            let placeholder = term.name.starts_with('<');
            let occurs = if placeholder {
                names
                    .iter()
                    .any(|n| !terms.iter().any(|t| t.name == n.as_str()))
            } else {
                names.contains(term.name)
            };
            if !occurs {
                problems.push(format!("{what} {} is declared but never occurs", term.name));
            }
        }
    };
    compare("component", definition.components, &seen.components);
    compare(
        "breakdown key",
        definition.breakdown_keys,
        &seen.breakdown_keys,
    );
    let declared: BTreeSet<&str> = definition
        .undefined
        .iter()
        .map(|case| reason_name(case.reason))
        .collect();
    for reason in &seen.reasons {
        if !declared.contains(reason) {
            problems.push(format!("reason {reason} occurs but is not declared"));
        }
    }
    for reason in &declared {
        if !seen.reasons.contains(reason) {
            problems.push(format!("reason {reason} is declared but never occurs"));
        }
    }
    for reason in REASONS.map(reason_name) {
        let named = definition.description.contains(reason) || definition.formula.contains(reason);
        if named && !declared.contains(reason) {
            problems.push(format!("the text names {reason}, which is not declared"));
        }
    }
    problems
}

/// Every query of [`every_query`], and for each metric with parameters the same query with every
/// parameter given (optional ones change what a result carries, e.g. a horizon).
fn queries_with_parameters() -> Vec<MetricQuery> {
    let mut queries = every_query();
    for metric in catalog() {
        let definition = metric.definition();
        if definition.parameters.is_empty() {
            continue;
        }
        let mut query = MetricQuery::new(definition.id);
        for parameter in definition.parameters {
            query = query.parameter(parameter.name, required_parameter(parameter.kind));
        }
        queries.push(query);
    }
    queries
}

/// The whole span of the generated data, by month: where every record counts somewhere.
fn whole_span() -> (Window, Granularity, Timestamp) {
    let window = Window::new(ymd(2025, 1, 1), ymd(2027, 1, 1)).expect("a window");
    (window, Granularity::Month, ymd(2100, 1, 1))
}

#[test]
fn every_declaration_lists_exactly_what_its_results_carry() {
    let queries = queries_with_parameters();
    let mut seen: BTreeMap<&str, Seen> = BTreeMap::new();
    let mut runner = TestRunner::deterministic();
    let records = arb_records();
    let frames = arb_frame();
    for case in 0..=CASES {
        let data = if case == 0 {
            Vec::new()
        } else {
            records.new_tree(&mut runner).expect("records").current()
        };
        let random_frame = frames.new_tree(&mut runner).expect("frame").current();
        let (window, granularity, as_of) = if case % 2 == 0 {
            whole_span()
        } else {
            random_frame
        };
        for query in &queries {
            let plain = ComputeRequest {
                granularity,
                as_of,
                compare_previous: case % 4 == 1,
                ..request(query.clone(), window)
            };
            // Grouped too: a group's result may carry what the total does not.
            let grouped =
                [Dimension::CustomerId, Dimension::OwnerId].map(|dimension| ComputeRequest {
                    group_by: vec![dimension],
                    ..plain.clone()
                });
            for request in std::iter::once(plain).chain(grouped) {
                if prepare(&request).is_ok() {
                    let report = run(data.clone(), &request);
                    seen.entry(report.metric).or_default().report(&report);
                }
            }
        }
    }
    let mut problems = Vec::new();
    for metric in catalog() {
        let definition = metric.definition();
        let empty = Seen::default();
        let seen = seen.get(definition.id).unwrap_or(&empty);
        problems.extend(
            mismatches(definition, seen)
                .into_iter()
                .map(|problem| format!("{}: {problem}", definition.id)),
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
