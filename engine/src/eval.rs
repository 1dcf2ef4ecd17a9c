//! The evaluator: every metric is a [`Family`] whose [`State`] is built by folding records, merged,
//! and finalized into a value. The driver here routes each primary record to the periods (total
//! window, series buckets, previous period) and groups it belongs to, so a formula is written once
//! and gets series, group-by, filters and `compare_previous` for free.
//!
//! The property that keeps states honest (tested per family): for any split of the records,
//! `merge(state(A), state(B)) == state(A ∪ B)`, and the result does not depend on record order.

use std::collections::BTreeMap;
use std::fmt::Debug;

use chrono_tz::Tz;

use crate::calendar::{Window, buckets, previous_window};
use crate::catalog::{MetricDefinition, Settings};
use crate::context::{Lookup, RecordRef, for_each_of_kind};
use crate::dataset::{Dataset, ReadPlan};
use crate::dimension::Dimension;
use crate::metrics;
use crate::money::Currency;
use crate::query::{ComputeRequest, Filter, MetricQuery, Problem};
use crate::records::Timestamp;
use crate::value::{EvalError, MetricResult};

/// The most buckets one series may have.
pub const MAX_BUCKETS: usize = 1000;

/// The window a state is computed for, and the instant the data is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub window: Window,
    pub as_of: Timestamp,
    /// The request's time zone, for formulas that need calendar arithmetic of their own (the
    /// previous period of a growth rate, the months of a window).
    pub time_zone: Tz,
}

impl Period {
    /// The last instant of the window (`end` minus one microsecond, the storage precision).
    pub fn last_instant(&self) -> Timestamp {
        self.window.end - chrono::Duration::microseconds(1)
    }

    /// The instant a point-in-time metric (pipeline, MRR) is evaluated at: the last instant of
    /// the window, but never after `as_of` (the future has not happened).
    pub fn point_in_time(&self) -> Timestamp {
        self.last_instant().min(self.as_of)
    }
}

/// Where a record counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Only in periods containing this instant (the record's defining timestamp).
    At(Timestamp),
    /// In every period (point-in-time and customer-state metrics decide inside `fold`).
    Everywhere,
    /// Nowhere (the record cannot count, e.g. a deal that never closed for a closed-basis rate).
    Nowhere,
}

/// What `fold` and `finalize` see besides the state.
pub struct FoldContext<'a, 'b> {
    pub settings: &'b Settings,
    pub period: Period,
    pub lookup: &'b Lookup<'a>,
}

/// A mergeable accumulation of records for one metric, one period and one group.
pub trait State: Clone + PartialEq + Debug + Default + Send {
    /// Adds everything `other` accumulated.
    fn merge(&mut self, other: &Self);
}

/// A metric's formula as fold / merge / finalize.
pub trait Family: Send + Sync + 'static {
    type State: State;

    /// The catalog entry.
    fn definition(&self) -> &'static MetricDefinition;

    /// Checks settings beyond what the catalog metadata expresses (`path` is `metrics[i]`).
    fn validate(&self, _settings: &Settings, _path: &str) -> Vec<Problem> {
        Vec::new()
    }

    /// The rows needed to evaluate any period inside `span` (which covers the window, its
    /// buckets and the previous period).
    fn plan(&self, settings: &Settings, span: Window, as_of: Timestamp) -> ReadPlan;

    /// Which periods a primary record can count in.
    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route;

    /// Folds one primary record (of one of the definition's primary kinds) into the state.
    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut Self::State, record: RecordRef<'a>);

    /// The value of a state.
    fn finalize(
        &self,
        ctx: &FoldContext<'_, '_>,
        state: &Self::State,
    ) -> Result<MetricResult, EvalError>;

    /// Adjusts one group's result given the result over all records of the same period (e.g. a
    /// group's mean relative to the overall mean). Called for group totals and group series
    /// points; the default changes nothing.
    fn relate_group(&self, _group: &mut MetricResult, _overall: &MetricResult) {}
}

/// How several metrics read the same records into the same state (churn and retention, revenue
/// and its average): they differ only in their definition and in how they finalize.
pub trait Reading: Send + Sync + 'static {
    type State: State;

    /// The rows needed for any period inside `span`.
    fn plan(&self, settings: &Settings, span: Window, as_of: Timestamp) -> ReadPlan;

    /// Which periods a primary record can count in.
    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route;

    /// Folds one primary record into the state.
    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut Self::State, record: RecordRef<'a>);
}

/// Finalizes a shared reading's state into one metric's value.
pub type Finalize<S> =
    fn(&'static MetricDefinition, &FoldContext<'_, '_>, &S) -> Result<MetricResult, EvalError>;

/// A metric made of a shared [`Reading`] and its own definition and finalize.
pub struct ReadingMetric<R: Reading> {
    pub definition: &'static MetricDefinition,
    pub reading: R,
    pub finalize: Finalize<R::State>,
}

impl<R: Reading> Family for ReadingMetric<R> {
    type State = R::State;

    fn definition(&self) -> &'static MetricDefinition {
        self.definition
    }

    fn plan(&self, settings: &Settings, span: Window, as_of: Timestamp) -> ReadPlan {
        self.reading.plan(settings, span, as_of)
    }

    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route {
        self.reading.route(settings, record)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut R::State, record: RecordRef<'a>) {
        self.reading.fold(ctx, state, record);
    }

    fn finalize(
        &self,
        ctx: &FoldContext<'_, '_>,
        state: &R::State,
    ) -> Result<MetricResult, EvalError> {
        (self.finalize)(self.definition, ctx, state)
    }
}

/// Builds the state of `records` for one period (tests and benchmarks use it directly).
pub fn state_of<'a, F: Family>(
    family: &F,
    ctx: &FoldContext<'a, '_>,
    records: &[RecordRef<'a>],
) -> F::State {
    let mut state = F::State::default();
    for record in records {
        family.fold(ctx, &mut state, *record);
    }
    state
}

/// One point of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub window: Window,
    pub result: MetricResult,
}

/// The result for one group of records.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    /// One value per group-by dimension, in request order; `None` where the record had none.
    pub key: Vec<Option<String>>,
    pub total: MetricResult,
    pub series: Vec<SeriesPoint>,
}

/// The value of the previous period and the change to it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousPeriod {
    pub window: Window,
    pub result: MetricResult,
    pub absolute_change: Option<f64>,
    pub relative_change: Option<f64>,
}

/// Everything computed for one metric query.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricReport {
    pub metric: &'static str,
    pub definition_version: u32,
    pub applied_policies: Vec<(String, String)>,
    pub total: MetricResult,
    pub series: Vec<SeriesPoint>,
    pub groups: Vec<GroupReport>,
    pub previous: Option<PreviousPeriod>,
}

/// The periods and selection shared by every metric of a request.
#[derive(Debug, Clone)]
pub struct Frame {
    pub window: Window,
    pub buckets: Vec<Window>,
    pub previous: Option<Window>,
    pub group_by: Vec<Dimension>,
    pub filters: Vec<Filter>,
    pub as_of: Timestamp,
    pub time_zone: Tz,
}

impl Frame {
    /// The smallest window covering every period.
    pub fn span(&self) -> Window {
        let start = self
            .previous
            .map_or(self.window.start, |p| p.start.min(self.window.start));
        Window {
            start,
            end: self.window.end,
        }
    }

    fn periods(&self) -> Vec<Period> {
        std::iter::once(self.window)
            .chain(self.buckets.iter().copied())
            .chain(self.previous)
            .map(|window| Period {
                window,
                as_of: self.as_of,
                time_zone: self.time_zone,
            })
            .collect()
    }
}

/// A metric ready to run: definition plus resolved settings.
pub trait CompiledMetric: Send + Sync {
    fn definition(&self) -> &'static MetricDefinition;
    fn plan(&self, frame: &Frame) -> ReadPlan;
    fn evaluate(
        &self,
        dataset: &Dataset,
        lookup: &Lookup<'_>,
        frame: &Frame,
    ) -> Result<MetricReport, EvalError>;
}

/// A catalog entry that can compile queries (implemented for every [`Family`]).
pub trait Metric: Send + Sync {
    fn definition(&self) -> &'static MetricDefinition;
    fn compile(
        &'static self,
        query: &MetricQuery,
        path: &str,
    ) -> Result<Box<dyn CompiledMetric>, Vec<Problem>>;
}

impl<F: Family> Metric for F {
    fn definition(&self) -> &'static MetricDefinition {
        Family::definition(self)
    }

    fn compile(
        &'static self,
        query: &MetricQuery,
        path: &str,
    ) -> Result<Box<dyn CompiledMetric>, Vec<Problem>> {
        let settings = Settings::resolve(Family::definition(self), query, path)?;
        let problems = self.validate(&settings, path);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Box::new(Compiled {
            family: self,
            settings,
        }))
    }
}

struct Compiled<F: Family> {
    family: &'static F,
    settings: Settings,
}

impl<F: Family> CompiledMetric for Compiled<F> {
    fn definition(&self) -> &'static MetricDefinition {
        self.family.definition()
    }

    fn plan(&self, frame: &Frame) -> ReadPlan {
        self.family.plan(&self.settings, frame.span(), frame.as_of)
    }

    fn evaluate(
        &self,
        dataset: &Dataset,
        lookup: &Lookup<'_>,
        frame: &Frame,
    ) -> Result<MetricReport, EvalError> {
        evaluate_family(self.family, &self.settings, dataset, lookup, frame)
    }
}

fn passes_filters<'a>(filters: &[Filter], record: RecordRef<'a>, lookup: &Lookup<'a>) -> bool {
    filters.iter().all(|filter| {
        let matched = filter
            .dimension
            .value_of(record, lookup)
            .is_some_and(|value| filter.values.iter().any(|v| v == value));
        matched != filter.exclude
    })
}

/// The indexes of `periods` a route reaches; buckets are contiguous and sorted.
fn targets(route: Route, frame: &Frame, out: &mut Vec<usize>) {
    out.clear();
    let bucket_count = frame.buckets.len();
    match route {
        Route::Nowhere => {}
        Route::Everywhere => {
            out.extend(0..bucket_count + 1 + usize::from(frame.previous.is_some()))
        }
        Route::At(t) => {
            if frame.window.contains(t) {
                out.push(0);
                let index = frame.buckets.partition_point(|b| b.end <= t);
                if index < bucket_count && frame.buckets[index].contains(t) {
                    out.push(index + 1);
                }
            }
            if frame.previous.is_some_and(|p| p.contains(t)) {
                out.push(bucket_count + 1);
            }
        }
    }
}

fn evaluate_family<'a, F: Family>(
    family: &F,
    settings: &Settings,
    dataset: &'a Dataset,
    lookup: &Lookup<'a>,
    frame: &Frame,
) -> Result<MetricReport, EvalError> {
    let periods = frame.periods();
    let contexts: Vec<FoldContext<'a, '_>> = periods
        .iter()
        .map(|period| FoldContext {
            settings,
            period: *period,
            lookup,
        })
        .collect();
    let mut overall: Vec<F::State> = vec![F::State::default(); periods.len()];
    let mut groups: BTreeMap<Vec<Option<&'a str>>, Vec<F::State>> = BTreeMap::new();
    let mut reached = Vec::new();
    for kind in family.definition().primary {
        for_each_of_kind(dataset, *kind, |record| {
            if !passes_filters(&frame.filters, record, lookup) {
                return;
            }
            targets(family.route(settings, record), frame, &mut reached);
            if reached.is_empty() {
                return;
            }
            for index in &reached {
                family.fold(&contexts[*index], &mut overall[*index], record);
            }
            if !frame.group_by.is_empty() {
                let key: Vec<Option<&'a str>> = frame
                    .group_by
                    .iter()
                    .map(|d| d.value_of(record, lookup))
                    .collect();
                let states = groups
                    .entry(key)
                    .or_insert_with(|| vec![F::State::default(); periods.len()]);
                for index in &reached {
                    family.fold(&contexts[*index], &mut states[*index], record);
                }
            }
        });
    }
    let bucket_count = frame.buckets.len();
    let finalize_series = |states: &[F::State]| -> Result<Vec<SeriesPoint>, EvalError> {
        (0..bucket_count)
            .map(|i| {
                Ok(SeriesPoint {
                    window: frame.buckets[i],
                    result: family.finalize(&contexts[i + 1], &states[i + 1])?,
                })
            })
            .collect()
    };
    let total = family.finalize(&contexts[0], &overall[0])?;
    let previous = match frame.previous {
        None => None,
        Some(window) => {
            let result =
                family.finalize(&contexts[bucket_count + 1], &overall[bucket_count + 1])?;
            let (absolute_change, relative_change) = match (total.scalar(), result.scalar()) {
                (Some(now), Some(before)) => (
                    Some(now - before),
                    (before != 0.0).then(|| (now - before) / before.abs()),
                ),
                _ => (None, None),
            };
            Some(PreviousPeriod {
                window,
                result,
                absolute_change,
                relative_change,
            })
        }
    };
    let mut group_reports = Vec::with_capacity(groups.len());
    let overall_series = finalize_series(&overall)?;
    for (key, states) in &groups {
        let mut group_total = family.finalize(&contexts[0], &states[0])?;
        family.relate_group(&mut group_total, &total);
        let mut series = finalize_series(states)?;
        for (point, overall_point) in series.iter_mut().zip(&overall_series) {
            family.relate_group(&mut point.result, &overall_point.result);
        }
        group_reports.push(GroupReport {
            key: key.iter().map(|v| v.map(str::to_owned)).collect(),
            total: group_total,
            series,
        });
    }
    Ok(MetricReport {
        metric: family.definition().id,
        definition_version: family.definition().version,
        applied_policies: settings.applied_policies(),
        series: overall_series,
        total,
        groups: group_reports,
        previous,
    })
}

/// A validated request: its frame and its compiled metrics.
pub struct Prepared {
    pub frame: Frame,
    pub metrics: Vec<Box<dyn CompiledMetric>>,
}

impl Prepared {
    /// The rows every metric of the request needs.
    pub fn plan(&self) -> ReadPlan {
        let mut plan = ReadPlan::default();
        for metric in &self.metrics {
            plan.merge(metric.plan(&self.frame));
        }
        // Amounts may need converting: the tenant's rates are few and always read.
        plan.read_all(crate::records::RecordKind::ExchangeRate);
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

    /// Evaluates every metric over one snapshot of the tenant's data (already read by the plan).
    /// With a reporting currency, every amount is first converted into it (see
    /// [`crate::currency`]); without one, amounts keep their currency and a metric that would add
    /// different currencies fails.
    pub fn evaluate(
        &self,
        dataset: &Dataset,
        reporting_currency: Option<Currency>,
    ) -> Result<Vec<MetricReport>, EvalError> {
        let mut seen = crate::as_of::as_of(dataset, self.frame.as_of);
        if let Some(currency) = reporting_currency {
            crate::currency::convert_dataset(&mut seen, currency, self.frame.time_zone)?;
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
    let mut compiled = Vec::new();
    for (i, query) in request.metrics.iter().enumerate() {
        let path = format!("metrics[{i}]");
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
    for (field, dimension) in request
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
    {
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
    let buckets = buckets(
        request.window,
        request.time_zone,
        request.granularity,
        MAX_BUCKETS,
    );
    if buckets.is_none() {
        problems.push(Problem::new(
            "granularity",
            format!("the window holds more than {MAX_BUCKETS} buckets of this granularity"),
        ));
    }
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
    };
    Ok(Prepared {
        frame,
        metrics: compiled,
    })
}
