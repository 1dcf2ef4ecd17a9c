//! `ComputeMetricsRequest` → the engine's `ComputeRequest`.
//!
//! This checks the request's shape (the tenant is parsed by the handler, with the caller's
//! permission on it): window, time zone, granularity, dimension names,
//! parameter values, reporting currency. Metric ids, policies and parameter names are checked
//! against the catalog later by `eval::prepare`, which reports them at the same field paths.

use std::collections::BTreeMap;

use crm_metrics_engine::Tz;
use crm_metrics_engine::calendar::{Window, parse_time_zone};
use crm_metrics_engine::dimension::{Dimension, FIXED_DIMENSIONS};
use crm_metrics_engine::eval::check_catalog;
use crm_metrics_engine::money::Currency;
use crm_metrics_engine::query::{
    ComputeRequest, Filter, GroupPage, MetricQuery, ParamValue, Problem,
};
use crm_metrics_engine::records::Timestamp;

use super::enums;
use super::fields::Fields;
use super::page;
use super::pb;

/// A validated `ComputeMetrics` call.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeInput {
    pub request: ComputeRequest,
    /// The requested reporting currency; `None` = the tenant's, else the data's own.
    pub reporting_currency: Option<Currency>,
    /// The requested time zone; `None` = the tenant's.
    pub time_zone: Option<Tz>,
    /// The computation must see at least the writes of this token; `None` when not given.
    pub min_consistency_token: Option<String>,
    /// Keep the request and its result as a computation.
    pub save: bool,
    /// The fingerprint page tokens of this request carry.
    pub page_fingerprint: u64,
}

/// Converts and validates a `ComputeMetricsRequest`. `receive_time` is the default `as_of`.
pub fn compute_request_from_proto(
    request: pb::ComputeMetricsRequest,
    receive_time: Timestamp,
) -> Result<ComputeInput, Vec<Problem>> {
    compute_request_at("", request, receive_time)
}

/// Like [`compute_request_from_proto`] for a request nested in another message: problem paths
/// start with `prefix` (`query.`).
pub fn compute_request_at(
    prefix: &str,
    request: pb::ComputeMetricsRequest,
    receive_time: Timestamp,
) -> Result<ComputeInput, Vec<Problem>> {
    // Only a group-by pages: other requests are not encoded again to fingerprint them.
    let page_fingerprint = if request.group_by.is_empty() && request.page_token.is_empty() {
        0
    } else {
        page::request_fingerprint(&request)
    };
    let pb::ComputeMetricsRequest {
        // Parsed by the handler, with the caller's permission on it (`grpc::caller`).
        tenant_id: _,
        metrics,
        window,
        time_zone,
        granularity,
        group_by,
        filters,
        compare_previous,
        as_of,
        reporting_currency,
        min_consistency_token,
        save,
        group_limit,
        group_order,
        page_token,
    } = request;
    let mut problems = Vec::new();
    let mut f = Fields::new(prefix, &mut problems);
    let metrics = metric_queries(&mut f, metrics);
    let window = time_window(&mut f, "window", window);
    let time_zone = zone(&mut f, "time_zone", &time_zone);
    let granularity = f.enumeration(
        "granularity",
        granularity,
        pb::Granularity::as_str_name,
        enums::granularity,
    );
    let group_by: Vec<Option<Dimension>> = group_by
        .iter()
        .enumerate()
        .map(|(i, name)| dimension(&mut f, &format!("group_by[{i}]"), name))
        .collect();
    let filters: Vec<Option<Filter>> = filters
        .into_iter()
        .enumerate()
        .map(|(i, filter)| {
            let pb::Filter {
                dimension: name,
                values,
                exclude,
            } = filter;
            let dimension = dimension(&mut f, &format!("filters[{i}].dimension"), &name);
            if values.is_empty() {
                // An empty keep-list would silently drop every record.
                f.problem(
                    &format!("filters[{i}].values"),
                    "at least one value is required",
                );
                return None;
            }
            let values: Vec<Option<String>> = values
                .into_iter()
                .enumerate()
                .map(|(j, value)| {
                    f.text(&format!("filters[{i}].values[{j}]"), Some(value))
                        .flatten()
                })
                .collect();
            Some(Filter {
                dimension: dimension?,
                values: values.into_iter().collect::<Option<Vec<_>>>()?,
                exclude,
            })
        })
        .collect();
    let as_of = match as_of {
        None => Some(receive_time),
        Some(t) => f.time("as_of", Some(t)),
    };
    let reporting_currency = if reporting_currency.is_empty() {
        Some(None)
    } else {
        f.currency("reporting_currency", &reporting_currency)
            .map(Some)
    };
    let min_consistency_token =
        (!min_consistency_token.is_empty()).then_some(min_consistency_token);
    let group_order = f.enumeration(
        "group_order",
        group_order,
        pb::GroupOrder::as_str_name,
        enums::group_order,
    );
    let offset = if page_token.is_empty() {
        Some(0)
    } else {
        match page::offset_of(&page_token, page_fingerprint) {
            Ok(offset) => Some(offset),
            Err(problem) => {
                f.problem("page_token", problem);
                None
            }
        }
    };
    if !problems.is_empty() {
        problems.extend(catalog_problems(prefix, &metrics, &group_by, &filters));
        return Err(problems);
    }
    let converted = (|| {
        Some(ComputeInput {
            request: ComputeRequest {
                metrics: metrics.into_iter().collect::<Option<Vec<_>>>()?,
                window: window?,
                // The tenant's time zone applies when none is given (see `App::compute`).
                time_zone: time_zone.flatten().unwrap_or(Tz::UTC),
                granularity: granularity?,
                group_by: group_by.iter().cloned().collect::<Option<Vec<_>>>()?,
                filters: filters.iter().cloned().collect::<Option<Vec<_>>>()?,
                compare_previous,
                as_of: as_of?,
                groups: GroupPage {
                    order: group_order?,
                    limit: (group_limit != 0)
                        .then(|| usize::try_from(group_limit).unwrap_or(usize::MAX)),
                    offset: offset?,
                },
                // The tenant's settings fill this in (see `App::compute`).
                tenant: Default::default(),
            },
            reporting_currency: reporting_currency?,
            time_zone: time_zone?,
            min_consistency_token,
            save,
            page_fingerprint,
        })
    })();
    match converted {
        Some(input) if problems.is_empty() => Ok(input),
        _ => Err(problems),
    }
}

/// A required window with `start < end`.
fn time_window(f: &mut Fields<'_>, field: &str, window: Option<pb::TimeWindow>) -> Option<Window> {
    let Some(pb::TimeWindow { start, end }) = window else {
        f.problem(field, "is required");
        return None;
    };
    let mut at = f.nested(field);
    let start = at.time("start", start);
    let end = at.time("end", end);
    let (start, end) = (start?, end?);
    let window = Window::new(start, end);
    if window.is_none() {
        at.problem("end", format!("must be after start ({end} <= {start})"));
    }
    window
}

/// An IANA time zone in `field`; empty means none given.
pub(super) fn zone(f: &mut Fields<'_>, field: &str, name: &str) -> Option<Option<Tz>> {
    if name.is_empty() {
        return Some(None);
    }
    let tz = parse_time_zone(name);
    if tz.is_none() {
        f.problem(
            field,
            format!("unknown IANA time zone '{name}'; use a name such as UTC, Europe/Warsaw or America/New_York"),
        );
    }
    tz.map(Some)
}

/// A dimension name.
fn dimension(f: &mut Fields<'_>, field: &str, name: &str) -> Option<Dimension> {
    let dimension = Dimension::parse(name);
    if dimension.is_none() {
        f.problem(
            field,
            format!(
                "unknown dimension '{name}'; allowed: {}, attr.<key>, customer.attr.<key>",
                FIXED_DIMENSIONS.join(", ")
            ),
        );
    }
    dimension
}

/// The metric queries, with their parameter values converted (names are checked later); `None`
/// for each one with a problem.
fn metric_queries(f: &mut Fields<'_>, metrics: Vec<pb::MetricQuery>) -> Vec<Option<MetricQuery>> {
    let mut converted = Vec::with_capacity(metrics.len());
    for (i, query) in metrics.into_iter().enumerate() {
        let mut valid = true;
        let pb::MetricQuery {
            metric,
            policies,
            parameters,
        } = query;
        let mut at = f.nested(&format!("metrics[{i}]"));
        if metric.is_empty() {
            at.problem("metric", "is required (see ListMetrics for the ids)");
            valid = false;
        }
        let mut values = BTreeMap::new();
        for (name, value) in parameters {
            match parameter_value(value) {
                Some(value) => {
                    values.insert(name, value);
                }
                None => {
                    at.problem(
                        &format!("parameters[{name}]"),
                        "a value is required: set one of number, text, list, number_map",
                    );
                    valid = false;
                }
            }
        }
        converted.push(valid.then_some(MetricQuery {
            metric,
            policies,
            parameters: values,
        }));
    }
    converted
}

/// The catalog's problems with the parts of a request that converted (metric ids, policies,
/// parameter names, dimensions that do not apply), so a request with other problems gets them
/// all in one answer.
fn catalog_problems(
    prefix: &str,
    metrics: &[Option<MetricQuery>],
    group_by: &[Option<Dimension>],
    filters: &[Option<Filter>],
) -> Vec<Problem> {
    let at = |path: String| {
        if prefix.is_empty() {
            path
        } else {
            format!("{prefix}.{path}")
        }
    };
    let metric_paths = metrics
        .iter()
        .enumerate()
        .filter_map(|(i, query)| Some((at(format!("metrics[{i}]")), query.as_ref()?)));
    let dimension_paths: Vec<(String, &Dimension)> = group_by
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((at(format!("group_by[{i}]")), d.as_ref()?)))
        .chain(filters.iter().enumerate().filter_map(|(i, f)| {
            Some((
                at(format!("filters[{i}].dimension")),
                &f.as_ref()?.dimension,
            ))
        }))
        .collect();
    check_catalog(metric_paths, &dimension_paths).1
}

/// A parameter value; `None` when the oneof is unset.
fn parameter_value(value: pb::ParameterValue) -> Option<ParamValue> {
    use pb::parameter_value::Value;
    let pb::ParameterValue { value } = value;
    Some(match value? {
        Value::Number(n) => ParamValue::Number(n),
        Value::Text(text) => ParamValue::Text(text),
        Value::List(pb::StringList { values }) => ParamValue::List(values),
        Value::NumberMap(pb::NumberMap { values }) => ParamValue::NumberMap(values),
    })
}

#[cfg(test)]
#[path = "tests/query.rs"]
mod tests;
