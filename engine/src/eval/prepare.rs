//! Preparing a request: checking it against the catalog, building its frame (buckets, previous
//! period), its read plan, and evaluating it over one snapshot.

use super::{CompiledMetric, Frame, MetricReport, PageOfGroups};
use crate::calendar::{buckets, previous_window};
use crate::context::Lookup;
use crate::dataset::{Dataset, ReadPlan};
use crate::dimension::Dimension;
use crate::metrics;
use crate::money::Currency;
use crate::query::{ComputeRequest, MetricQuery, Problem};
use crate::value::EvalError;
use crate::view::{Scratch, View};

/// The most buckets one series may have.
pub const MAX_BUCKETS: usize = 1000;

/// The most groups one page of a group-by may list.
pub const MAX_GROUP_LIMIT: usize = 10_000;

/// The page size of a group-by that names none, when the result limit allows that many.
pub const DEFAULT_GROUP_LIMIT: usize = 1_000;

/// The most values one response may carry: every report's total, series points and previous
/// period, and every listed group's total and series points. About 4 MiB encoded at most, what
/// default gRPC clients accept.
pub const MAX_RESULT_VALUES: usize = 50_000;

/// A validated request: its frame and its compiled metrics.
pub struct Prepared {
    pub frame: Frame,
    pub metrics: Vec<Box<dyn CompiledMetric>>,
    /// The currency the tenant's exchange rates convert into.
    pub base_currency: Option<Currency>,
}

impl Prepared {
    /// The rows every metric of the request needs, evaluated with `reporting_currency` (as
    /// [`Prepared::evaluate_view`] will be).
    pub fn plan(&self, reporting_currency: Option<Currency>) -> ReadPlan {
        let mut plan = ReadPlan::default();
        for metric in &self.metrics {
            plan.merge(metric.plan(&self.frame));
        }
        // Converting amounts needs the tenant's rates (few: read whole); without a reporting
        // currency, or without a metric that reads amounts, nothing is converted and they are
        // not read.
        if self.converting_into(reporting_currency).is_some() {
            plan.read_all(crate::records::RecordKind::ExchangeRate);
        }
        // Dimensions that follow a soft reference need the referenced records.
        let dimensions = self
            .frame
            .group_by
            .iter()
            .chain(self.frame.filters.iter().map(|f| &f.dimension));
        for dimension in dimensions {
            match dimension {
                Dimension::CustomerAcquisitionChannel | Dimension::CustomerAttribute(_) => {
                    plan.read_all(crate::records::RecordKind::Customer);
                }
                Dimension::LeadSource => plan.read_all(crate::records::RecordKind::Lead),
                _ => {}
            }
        }
        plan
    }

    /// The currency amounts are converted into: the reporting currency, when a metric of the
    /// request reads amounts.
    fn converting_into(&self, reporting_currency: Option<Currency>) -> Option<Currency> {
        reporting_currency.filter(|_| self.metrics.iter().any(|m| m.reads_amounts()))
    }

    /// Evaluates every metric over one snapshot of the tenant's data (already read by the plan).
    /// With a reporting currency, every amount is first converted into it (see
    /// [`crate::currency`]) unless no metric of the request reads amounts; without one, amounts
    /// keep their currency and a metric that would add different currencies fails.
    pub fn evaluate(
        &self,
        dataset: &Dataset,
        reporting_currency: Option<Currency>,
    ) -> Result<Vec<MetricReport>, EvalError> {
        self.evaluate_view(View::of(dataset), reporting_currency)
    }

    /// Evaluates every metric over borrowed records, like [`Prepared::evaluate`]; records are
    /// copied only where the request sees them changed (`as_of`, converted amounts).
    pub fn evaluate_view(
        &self,
        view: View<'_>,
        reporting_currency: Option<Currency>,
    ) -> Result<Vec<MetricReport>, EvalError> {
        let scratch = Scratch::default();
        let mut seen = crate::as_of::as_of(view, self.frame.as_of, &scratch);
        if let Some(currency) = self.converting_into(reporting_currency) {
            crate::currency::convert_view(
                &mut seen,
                currency,
                self.base_currency,
                self.frame.time_zone,
                &scratch,
            )?;
        }
        let lookup = Lookup::new(&seen);
        self.metrics
            .iter()
            .map(|metric| metric.evaluate(&seen, &lookup, &self.frame))
            .collect()
    }
}

/// Validates a request against the catalog: every problem is reported at its field path.
pub fn prepare(request: &ComputeRequest) -> Result<Prepared, Vec<Problem>> {
    let mut problems = Vec::new();
    if request.metrics.is_empty() {
        problems.push(Problem::new("metrics", "at least one metric is required"));
    }
    let metric_paths = request
        .metrics
        .iter()
        .enumerate()
        .map(|(i, query)| (format!("metrics[{i}]"), query));
    let dimension_paths: Vec<(String, &Dimension)> = request
        .group_by
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("group_by[{i}]"), d))
        .chain(
            request
                .filters
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("filters[{i}].dimension"), &f.dimension)),
        )
        .collect();
    let (compiled, mut found) = check_catalog(metric_paths, &dimension_paths);
    problems.append(&mut found);
    let buckets = buckets(
        request.window,
        request.time_zone,
        request.granularity,
        request.tenant.fiscal_year_start_month,
        MAX_BUCKETS,
    );
    if buckets.is_none() {
        problems.push(Problem::new(
            "granularity",
            format!("the window holds more than {MAX_BUCKETS} buckets of this granularity"),
        ));
    }
    let group_limit = result_size(request, buckets.as_ref().map_or(0, Vec::len), &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let frame = Frame {
        window: request.window,
        buckets: buckets.unwrap_or_default(),
        previous: request
            .compare_previous
            .then(|| previous_window(request.window, request.time_zone)),
        group_by: request.group_by.clone(),
        filters: request.filters.clone(),
        as_of: request.as_of,
        time_zone: request.time_zone,
        group_page: PageOfGroups {
            order: request.groups.order,
            limit: group_limit,
            offset: request.groups.offset,
        },
    };
    Ok(Prepared {
        frame,
        metrics: compiled,
        base_currency: request.tenant.base_currency,
    })
}

/// Checks that the response stays within [`MAX_RESULT_VALUES`] and returns the page size of the
/// group-by: the one asked for, else [`DEFAULT_GROUP_LIMIT`] or as many as fit.
fn result_size(
    request: &ComputeRequest,
    bucket_count: usize,
    problems: &mut Vec<Problem>,
) -> usize {
    let metrics = request.metrics.len().max(1);
    let per_report = 1 + bucket_count + usize::from(request.compare_previous);
    let per_group = 1 + bucket_count;
    let grouped = !request.group_by.is_empty();
    let limit = match request.groups.limit {
        Some(0) => {
            problems.push(Problem::new("group_limit", "must be at least 1"));
            return 0;
        }
        Some(limit) if limit > MAX_GROUP_LIMIT => {
            problems.push(Problem::new(
                "group_limit",
                format!("{limit} is over the most groups one page may list, {MAX_GROUP_LIMIT}"),
            ));
            return 0;
        }
        Some(limit) => limit,
        None if !grouped => 0,
        None => DEFAULT_GROUP_LIMIT
            .min((MAX_RESULT_VALUES / metrics).saturating_sub(per_report) / per_group)
            .max(1),
    };
    let values = metrics.saturating_mul(per_report + if grouped { limit * per_group } else { 0 });
    if values > MAX_RESULT_VALUES {
        let (field, shape) = if grouped {
            (
                "group_limit",
                format!("{metrics} metrics × ({per_report} + {limit} groups × {per_group})"),
            )
        } else {
            ("metrics", format!("{metrics} metrics × {per_report}"))
        };
        problems.push(Problem::new(
            field,
            format!(
                "the response would carry up to {values} values ({shape}); at most \
                 {MAX_RESULT_VALUES} are allowed: lower group_limit, use a coarser granularity \
                 or ask for fewer metrics"
            ),
        ));
    }
    limit
}

/// Checks metric queries (each at its field path) against the catalog, and that every dimension
/// (at its path) applies to each of them; returns the metrics that compile and every problem.
/// Usable on the valid parts of a request that has other problems, so all are reported at once.
pub fn check_catalog<'q>(
    metrics: impl IntoIterator<Item = (String, &'q MetricQuery)>,
    dimensions: &[(String, &Dimension)],
) -> (Vec<Box<dyn CompiledMetric>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut compiled = Vec::new();
    for (path, query) in metrics {
        let Some(metric) = metrics::find(&query.metric) else {
            problems.push(Problem::new(
                format!("{path}.metric"),
                format!(
                    "unknown metric '{}'; allowed: {}",
                    query.metric,
                    metrics::catalog()
                        .iter()
                        .map(|m| m.definition().id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        };
        match metric.compile(query, &path) {
            Ok(c) => compiled.push(c),
            Err(mut found) => problems.append(&mut found),
        }
    }
    for (field, dimension) in dimensions {
        for metric in &compiled {
            let definition = metric.definition();
            if !definition
                .primary
                .iter()
                .all(|kind| dimension.applies_to(*kind))
            {
                problems.push(Problem::new(
                    field.clone(),
                    format!(
                        "dimension {} does not apply to metric {}; allowed: {}",
                        dimension.name(),
                        definition.id,
                        Dimension::names_for(definition.primary).join(", ")
                    ),
                ));
            }
        }
    }
    (compiled, problems)
}
