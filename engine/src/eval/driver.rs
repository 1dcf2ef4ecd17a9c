//! The driver: routes each primary record to the periods and groups it counts in, folds it into
//! their states, and finalizes the report (total, series, groups, previous period).

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::{Family, FoldContext, Period, Route};
use crate::calendar::Window;
use crate::catalog::{MetricDefinition, Settings};
use crate::context::{Lookup, RecordRef, for_each_of_kind};
use crate::dataset::ReadPlan;
use crate::dimension::Dimension;
use crate::query::{Filter, MetricQuery, Problem};
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

fn evaluate_family<'a, F: Family>(
    family: &F,
    settings: &Settings,
    view: &View<'a>,
    lookup: &Lookup<'a>,
    frame: &Frame,
) -> Result<MetricReport, EvalError> {
    let periods = frame.periods();
    let contexts: Vec<FoldContext<'a, '_>> = periods
        .iter()
        .map(|period| FoldContext::new(settings, *period, lookup))
        .collect();
    let mut overall: Vec<F::State> = vec![F::State::default(); periods.len()];
    let mut groups: BTreeMap<Vec<Option<&'a str>>, Vec<F::State>> = BTreeMap::new();
    let mut reached = Vec::new();
    for kind in family.definition().primary {
        for_each_of_kind(view, *kind, |record| {
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
        // A group is listed when one of its records counts somewhere (the window, a bucket, the
        // previous period), not merely because a record was routed to it: whether a record
        // that counts nowhere is read at all depends on the read plan, and the answer must not.
        if states.iter().all(|state| *state == F::State::default()) {
            continue;
        }
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
