//! The evaluator: every metric is a [`Family`] whose [`State`] is built by folding records, merged,
//! and finalized into a value. The driver (`eval/driver.rs`) routes each primary record to the periods (total
//! window, series buckets, previous period) and groups it belongs to, so a formula is written once
//! and gets series, group-by, filters and `compare_previous` for free.
//!
//! The property that keeps states honest (tested per family): for any split of the records,
//! `merge(state(A), state(B)) == state(A ∪ B)`, and the result does not depend on record order.

mod driver;
mod groups;
mod prepare;

pub use driver::{
    CompiledMetric, Frame, GroupReport, Metric, MetricReport, PageOfGroups, PreviousPeriod,
    SeriesPoint,
};
pub use groups::MAX_GROUPS;
pub use prepare::{
    DEFAULT_GROUP_LIMIT, MAX_BUCKETS, MAX_GROUP_LIMIT, MAX_RESULT_VALUES, Prepared, check_catalog,
    prepare,
};

use std::fmt::Debug;

use chrono_tz::Tz;

use crate::calendar::Window;
use crate::catalog::{MetricDefinition, Settings};
use crate::context::{Lookup, RecordRef};
use crate::dataset::ReadPlan;
use crate::query::Problem;
use crate::records::Timestamp;
use crate::value::{EvalError, MetricResult};

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
    /// [`Period::point_in_time`], worked out once: point-in-time formulas ask it per record.
    point_in_time: Timestamp,
}

impl<'a, 'b> FoldContext<'a, 'b> {
    /// The context of one period.
    pub fn new(settings: &'b Settings, period: Period, lookup: &'b Lookup<'a>) -> Self {
        FoldContext {
            settings,
            period,
            lookup,
            point_in_time: period.point_in_time(),
        }
    }

    /// The instant a point-in-time metric is evaluated at ([`Period::point_in_time`]).
    pub fn point_in_time(&self) -> Timestamp {
        self.point_in_time
    }
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

    /// Whether the formula reads money amounts. A request whose metrics read none (counts,
    /// durations, scores) is evaluated without converting amounts into the reporting currency:
    /// it neither pays for the conversion nor fails for a missing exchange rate.
    fn reads_amounts(&self) -> bool {
        true
    }
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
