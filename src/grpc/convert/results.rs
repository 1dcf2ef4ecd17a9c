//! Engine results and catalog definitions → proto.

use crm_metrics_engine::calendar::Window;
use crm_metrics_engine::catalog::{MetricDefinition, ParamDefault, Term};
use crm_metrics_engine::dimension::Dimension;
use crm_metrics_engine::eval::{GroupReport, MetricReport, PreviousPeriod, SeriesPoint};
use crm_metrics_engine::money::Money;
use crm_metrics_engine::value::{
    BreakdownEntry, Component, ComponentValue, DurationStats, MetricResult, MoneyValue, Ratio,
    Undefined, UndefinedReason, Value,
};

use super::enums::{
    direction_to_proto, kind_to_proto, parameter_kind_to_proto, undefined_reason_to_proto,
    value_kind_to_proto,
};
use super::{pb, timestamp_to_proto};

/// A metric's report. `group_by` is the request's group-by dimensions, in order (the engine's group
/// keys hold only values), so each proto group key carries its dimension's name.
pub fn report_to_proto(report: &MetricReport, group_by: &[Dimension]) -> pb::MetricReport {
    let MetricReport {
        metric,
        definition_version,
        applied_policies,
        total,
        series,
        group_count,
        groups,
        previous,
    } = report;
    pb::MetricReport {
        metric: (*metric).to_owned(),
        definition_version: *definition_version,
        applied_policies: applied_policies.iter().cloned().collect(),
        total: Some(result_to_proto(total)),
        series: series.iter().map(series_point_to_proto).collect(),
        groups: groups.iter().map(|g| group_to_proto(g, group_by)).collect(),
        previous: previous.as_ref().map(previous_to_proto),
        group_count: *group_count as u64,
    }
}

/// A window as a proto `TimeWindow`.
pub fn window_to_proto(window: &Window) -> pb::TimeWindow {
    pb::TimeWindow {
        start: Some(timestamp_to_proto(window.start)),
        end: Some(timestamp_to_proto(window.end)),
    }
}

/// Money as proto money.
pub fn money_to_proto(money: &Money) -> pb::Money {
    pb::Money {
        currency_code: money.currency.as_str().to_owned(),
        units_minor: money.minor_units,
    }
}

fn series_point_to_proto(point: &SeriesPoint) -> pb::SeriesPoint {
    let SeriesPoint { window, result } = point;
    pb::SeriesPoint {
        window: Some(window_to_proto(window)),
        result: Some(result_to_proto(result)),
    }
}

fn group_to_proto(group: &GroupReport, group_by: &[Dimension]) -> pb::GroupResult {
    let GroupReport { key, total, series } = group;
    pb::GroupResult {
        key: key
            .iter()
            .enumerate()
            .map(|(i, value)| pb::GroupKey {
                dimension: group_by.get(i).map(Dimension::name).unwrap_or_default(),
                value: value.clone(),
            })
            .collect(),
        total: Some(result_to_proto(total)),
        series: series.iter().map(series_point_to_proto).collect(),
    }
}

fn previous_to_proto(previous: &PreviousPeriod) -> pb::PreviousPeriod {
    let PreviousPeriod {
        window,
        result,
        absolute_change,
        relative_change,
    } = previous;
    pb::PreviousPeriod {
        window: Some(window_to_proto(window)),
        result: Some(result_to_proto(result)),
        absolute_change: *absolute_change,
        relative_change: *relative_change,
    }
}

/// A value or the reason there is none, with its components.
pub fn result_to_proto(result: &MetricResult) -> pb::MetricResult {
    let MetricResult { value, components } = result;
    let components = components.iter().map(component_to_proto).collect();
    match value {
        Ok(value) => pb::MetricResult {
            value: Some(value_to_proto(value)),
            components,
            undefined_reason: pb::UndefinedReason::Unspecified as i32,
            undefined_detail: String::new(),
        },
        Err(Undefined { reason, detail }) => pb::MetricResult {
            value: None,
            components,
            undefined_reason: undefined_reason_to_proto(*reason) as i32,
            undefined_detail: detail.clone(),
        },
    }
}

fn value_to_proto(value: &Value) -> pb::metric_result::Value {
    use pb::metric_result::Value as V;
    match value {
        Value::Ratio(Ratio {
            value,
            numerator,
            denominator,
        }) => V::Ratio(pb::RatioValue {
            value: *value,
            numerator: *numerator,
            denominator: *denominator,
        }),
        Value::Money(MoneyValue {
            amount,
            numerator,
            denominator,
        }) => V::Money(pb::MoneyValue {
            amount: Some(money_to_proto(amount)),
            numerator: numerator.as_ref().map(money_to_proto),
            denominator: *denominator,
        }),
        Value::Duration(DurationStats {
            count,
            total_seconds,
            mean_seconds,
            median_seconds,
            p90_seconds,
            min_seconds,
            max_seconds,
        }) => V::Duration(pb::DurationStats {
            count: *count,
            total_seconds: *total_seconds,
            mean_seconds: *mean_seconds,
            median_seconds: *median_seconds,
            p90_seconds: *p90_seconds,
            min_seconds: *min_seconds,
            max_seconds: *max_seconds,
        }),
        Value::Score(value) => V::Score(pb::ScoreValue { value: *value }),
        Value::Count(value) => V::Count(pb::CountValue { value: *value }),
        Value::Number(value) => V::Number(pb::NumberValue { value: *value }),
        Value::Breakdown(entries) => V::Breakdown(pb::Breakdown {
            entries: entries.iter().map(breakdown_entry_to_proto).collect(),
        }),
    }
}

/// A breakdown entry; an entry without a value is reported as NO_DATA.
fn breakdown_entry_to_proto(entry: &BreakdownEntry) -> pb::BreakdownEntry {
    let BreakdownEntry {
        key,
        value,
        components,
    } = entry;
    let result = match value {
        Some(value) => MetricResult::value(value.clone(), components.clone()),
        None => MetricResult::undefined(
            UndefinedReason::NoData,
            format!("no value for {key}"),
            components.clone(),
        ),
    };
    pb::BreakdownEntry {
        key: key.clone(),
        result: Some(result_to_proto(&result)),
    }
}

fn component_to_proto(component: &Component) -> pb::Component {
    use pb::component::Value as V;
    let Component { name, value } = component;
    pb::Component {
        name: name.clone(),
        value: Some(match value {
            ComponentValue::Count(n) => V::Count(*n),
            ComponentValue::Number(x) => V::Number(*x),
            ComponentValue::Money(m) => V::Money(money_to_proto(m)),
            ComponentValue::Seconds(s) => V::Seconds(*s),
        }),
    }
}

/// A catalog entry; its dimensions are those that apply to every primary record kind.
pub fn definition_to_proto(definition: &MetricDefinition) -> pb::MetricDefinition {
    let MetricDefinition {
        id,
        family,
        version,
        description,
        formula,
        value_kind,
        unit,
        direction,
        reads,
        primary,
        policies,
        parameters,
        components,
        breakdown_keys,
        undefined,
    } = definition;
    let terms = |terms: &[Term]| -> Vec<pb::MetricTerm> {
        terms
            .iter()
            .map(|t| pb::MetricTerm {
                name: t.name.to_owned(),
                description: t.description.to_owned(),
            })
            .collect()
    };
    pb::MetricDefinition {
        id: (*id).to_owned(),
        family: (*family).to_owned(),
        version: *version,
        description: (*description).to_owned(),
        formula: (*formula).to_owned(),
        value_kind: value_kind_to_proto(*value_kind) as i32,
        unit: (*unit).to_owned(),
        direction: direction_to_proto(*direction) as i32,
        reads: reads.iter().map(|k| kind_to_proto(*k)).collect(),
        policies: policies
            .iter()
            .map(|p| pb::PolicyDefinition {
                name: p.name.to_owned(),
                description: p.description.to_owned(),
                values: p.values.iter().map(|v| (*v).to_owned()).collect(),
                default_value: p.default.to_owned(),
            })
            .collect(),
        parameters: parameters
            .iter()
            .map(|p| pb::ParameterDefinition {
                name: p.name.to_owned(),
                description: p.description.to_owned(),
                kind: parameter_kind_to_proto(p.kind) as i32,
                default_value: p.default.map(|d| match d {
                    ParamDefault::Number(n) => n.to_string(),
                    ParamDefault::List(items) => items.join(","),
                }),
            })
            .collect(),
        dimensions: Dimension::names_for(primary),
        components: terms(components),
        breakdown_keys: terms(breakdown_keys),
        undefined_cases: undefined
            .iter()
            .map(|case| pb::UndefinedCase {
                reason: undefined_reason_to_proto(case.reason) as i32,
                when: case.when.to_owned(),
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "tests/results.rs"]
mod tests;
