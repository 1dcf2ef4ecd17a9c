//! The driver: routes each primary record to the periods and groups it counts in, folds it into
//! their states, and finalizes the report (total, series, groups, previous period).

use chrono_tz::Tz;

use super::groups::Groups;
use super::{Family, FoldContext, Period, Route};
use crate::calendar::Window;
use crate::catalog::{MetricDefinition, Settings};
use crate::context::{Lookup, RecordRef, for_each_of_kind};
use crate::dataset::ReadPlan;
use crate::dimension::Dimension;
use crate::query::{Filter, GroupOrder, MetricQuery, Problem};
use crate::records::Timestamp;
use crate::value::{EvalError, MetricResult};
use crate::view::View;

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
    /// How many groups the group-by yields over all pages.
    pub group_count: usize,
    /// The page of groups asked for.
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
    /// The page of groups each report lists.
    pub group_page: PageOfGroups,
}

/// The page of groups a report lists: the `limit` groups after the first `offset`, in `order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageOfGroups {
    pub order: GroupOrder,
    pub limit: usize,
    pub offset: usize,
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
    /// Whether the formula reads money amounts ([`Family::reads_amounts`]).
    fn reads_amounts(&self) -> bool;
    fn evaluate<'a>(
        &self,
        view: &View<'a>,
        lookup: &Lookup<'a>,
        frame: &Frame,
    ) -> Result<MetricReport, EvalError>;
}

/// A catalog entry that can compile queries (implemented for every [`Family`]).
pub trait Metric: Send + Sync {
    fn definition(&self) -> &MetricDefinition;
    fn compile(
        &'static self,
        query: &MetricQuery,
        path: &str,
    ) -> Result<Box<dyn CompiledMetric>, Vec<Problem>>;
}

impl<F: Family> Metric for F {
    fn definition(&self) -> &MetricDefinition {
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
        let family: &'static F = self.family;
        family.definition()
    }

    fn plan(&self, frame: &Frame) -> ReadPlan {
        self.family.plan(&self.settings, frame.span(), frame.as_of)
    }

    fn reads_amounts(&self) -> bool {
        self.family.reads_amounts()
    }

    fn evaluate<'a>(
        &self,
        view: &View<'a>,
        lookup: &Lookup<'a>,
        frame: &Frame,
    ) -> Result<MetricReport, EvalError> {
        evaluate_family(self.family, &self.settings, view, lookup, frame)
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

/// What every pass over one metric's records shares: the formula, the request's frame, and a
/// fold context per period (0 = the window, then the buckets, then the previous period).
pub(super) struct Evaluation<'a, 'b, F> {
    pub family: &'b F,
    pub settings: &'b Settings,
    pub view: &'b View<'a>,
    pub lookup: &'b Lookup<'a>,
    pub frame: &'b Frame,
    pub contexts: Vec<FoldContext<'a, 'b>>,
}

impl<'a, F: Family> Evaluation<'a, '_, F> {
    /// Calls `visit` with every primary record that passes the filters and the periods it
    /// reaches, when it reaches any.
    pub(super) fn for_each_routed(&self, mut visit: impl FnMut(RecordRef<'a>, &[usize])) {
        let mut reached = Vec::new();
        for kind in self.family.definition().primary {
            for_each_of_kind(self.view, *kind, |record| {
                if !passes_filters(&self.frame.filters, record, self.lookup) {
                    return;
                }
                targets(
                    self.family.route(self.settings, record),
                    self.frame,
                    &mut reached,
                );
                if !reached.is_empty() {
                    visit(record, &reached);
                }
            });
        }
    }

    /// Folds `record` into `state` as counted in period `index`.
    pub(super) fn fold(&self, index: usize, state: &mut F::State, record: RecordRef<'a>) {
        self.family.fold(&self.contexts[index], state, record);
    }

    /// The value of `state` over period `index`.
    pub(super) fn finalize(
        &self,
        index: usize,
        state: &F::State,
    ) -> Result<MetricResult, EvalError> {
        self.family.finalize(&self.contexts[index], state)
    }

    /// The series of one state per bucket, in bucket order.
    pub(super) fn series(&self, buckets: &[F::State]) -> Result<Vec<SeriesPoint>, EvalError> {
        buckets
            .iter()
            .zip(&self.frame.buckets)
            .enumerate()
            .map(|(i, (state, window))| {
                Ok(SeriesPoint {
                    window: *window,
                    result: self.finalize(i + 1, state)?,
                })
            })
            .collect()
    }
}

fn evaluate_family<'a, F: Family>(
    family: &F,
    settings: &Settings,
    view: &View<'a>,
    lookup: &Lookup<'a>,
    frame: &Frame,
) -> Result<MetricReport, EvalError> {
    let periods = frame.periods();
    let evaluation = Evaluation {
        family,
        settings,
        view,
        lookup,
        frame,
        contexts: periods
            .iter()
            .map(|period| FoldContext::new(settings, *period, lookup))
            .collect(),
    };
    let mut overall: Vec<F::State> = vec![F::State::default(); periods.len()];
    let mut groups = Groups::new();
    // Grouped, the window's state is the merge of the groups' (below), not a second fold.
    let grouped = !frame.group_by.is_empty();
    evaluation.for_each_routed(|record, reached| {
        for index in reached {
            if !(grouped && *index == 0) {
                evaluation.fold(*index, &mut overall[*index], record);
            }
        }
        groups.fold(&evaluation, record, reached);
    });
    if grouped {
        overall[0] = groups.merged_total();
    }
    let bucket_count = frame.buckets.len();
    let total = evaluation.finalize(0, &overall[0])?;
    let previous = match frame.previous {
        None => None,
        Some(window) => {
            let result = evaluation.finalize(bucket_count + 1, &overall[bucket_count + 1])?;
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
    let series = evaluation.series(&overall[1..=bucket_count])?;
    let (group_count, groups) = groups.report(&evaluation, &total, &series)?;
    Ok(MetricReport {
        metric: family.definition().id,
        definition_version: family.definition().version,
        applied_policies: settings.applied_policies(),
        series,
        total,
        group_count,
        groups,
        previous,
    })
}
