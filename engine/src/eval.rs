//! The evaluator: every metric is a [`Declaration`]: a [`Reading`] builds its [`State`] by folding
//! records, states merge, and the declaration's `finalize` turns a state into a value. The driver (`eval/driver.rs`) routes each primary record to the periods (total
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
use crate::dataset::{ReadPlan, TimeField};
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
///
/// The driver relies on exact merging: a grouped query folds each record into its group alone
/// and takes the overall total as the merge of the groups' totals.
pub trait State: Clone + PartialEq + Debug + Default + Send {
    /// Adds everything `other` accumulated.
    fn merge(&mut self, other: &Self);
}

/// When a record counts: the defining time the read plan and the routes derive from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedBy {
    /// A primary record counts in the periods containing this time of it (a deal's
    /// `closed_time`); a record without it counts nowhere. The reading reads the records whose
    /// field lies in the span and routes each to the periods containing its time.
    Time(TimeField),
    /// A primary record may count in any period (point-in-time and customer-state formulas decide
    /// inside `fold`); the reading states which rows it reads by overriding [`Reading::plan`].
    State,
}

impl CountedBy {
    /// The rows a reading counted this way needs for any period inside `span`.
    pub fn plan(self, span: Window) -> ReadPlan {
        match self {
            CountedBy::Time(field) => ReadPlan::within(field, span),
            CountedBy::State => ReadPlan::default(),
        }
    }

    /// The periods `record` can count in.
    pub fn route(self, record: RecordRef<'_>) -> Route {
        match self {
            CountedBy::Time(field) => field.value_of(record).map_or(Route::Nowhere, Route::At),
            CountedBy::State => Route::Everywhere,
        }
    }
}

/// How records are read into a state: the half of a metric that several metrics may share (churn
/// and retention, revenue and its average differ only in how they finalize).
pub trait Reading: Send + Sync + 'static {
    type State: State;

    /// When a record counts ([`CountedBy`]); the plan and the routes derive from it.
    fn counted_by(&self, settings: &Settings) -> CountedBy;

    /// The rows needed to evaluate any period inside `span` (which covers the window, its
    /// buckets and the previous period): by default, the primary rows whose defining time lies
    /// in the span. A reading that looks further (a lookup, a point in time) extends or replaces
    /// it.
    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        self.counted_by(settings).plan(span)
    }

    /// Whether a primary record can count at all, whatever the period (an NPS counts NPS
    /// responses only): the others are routed nowhere and never folded. `fold` still decides
    /// for the rest; this only spares folding records that cannot count.
    fn admits(&self, _record: RecordRef<'_>) -> bool {
        true
    }

    /// Which periods a primary record can count in: by default, nowhere for a record the
    /// reading does not admit, else the periods its defining time ([`CountedBy`]) gives.
    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route {
        if self.admits(record) {
            self.counted_by(settings).route(record)
        } else {
            Route::Nowhere
        }
    }

    /// Folds one primary record (of one of the definition's primary kinds) into the state.
    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut Self::State, record: RecordRef<'a>);

    /// Checks settings beyond what the catalog metadata expresses (`path` is `metrics[i]`).
    fn validate(&self, _settings: &Settings, _path: &str) -> Vec<Problem> {
        Vec::new()
    }

    /// Whether the formula reads money amounts. A request whose metrics read none (counts,
    /// durations, scores) is evaluated without converting amounts into the reporting currency:
    /// it neither pays for the conversion nor fails for a missing exchange rate.
    fn reads_amounts(&self) -> bool {
        true
    }
}

/// Finalizes a reading's state into one metric's value.
pub type Finalize<S> =
    fn(&MetricDefinition, &FoldContext<'_, '_>, &S) -> Result<MetricResult, EvalError>;

/// Adjusts one group's result given the result over all records of the same period (e.g. a
/// group's mean relative to the overall mean).
pub type RelateGroup = fn(&mut MetricResult, &MetricResult);

/// The one way a metric is declared: its published definition, the reading that accumulates its
/// state, and the function that turns a state into its value. Each family file declares its
/// metrics as `Declaration` statics and lists them in its `METRICS`.
pub struct Declaration<R: Reading> {
    pub definition: MetricDefinition,
    pub reading: R,
    pub finalize: Finalize<R::State>,
    /// Called for group totals and group series points; `None` changes nothing.
    pub relate_group: Option<RelateGroup>,
}

/// The evaluator's view of a declared metric (implemented by [`Declaration`] alone).
pub trait Family: Send + Sync + 'static {
    type State: State;

    /// The catalog entry.
    fn definition(&self) -> &MetricDefinition;

    /// See [`Reading::validate`].
    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem>;

    /// See [`Reading::plan`].
    fn plan(&self, settings: &Settings, span: Window, as_of: Timestamp) -> ReadPlan;

    /// See [`Reading::route`].
    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route;

    /// See [`Reading::fold`].
    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut Self::State, record: RecordRef<'a>);

    /// The value of a state.
    fn finalize(
        &self,
        ctx: &FoldContext<'_, '_>,
        state: &Self::State,
    ) -> Result<MetricResult, EvalError>;

    /// See [`Declaration::relate_group`].
    fn relate_group(&self, group: &mut MetricResult, overall: &MetricResult);

    /// See [`Reading::reads_amounts`].
    fn reads_amounts(&self) -> bool;
}

impl<R: Reading> Family for Declaration<R> {
    type State = R::State;

    fn definition(&self) -> &MetricDefinition {
        &self.definition
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        self.reading.validate(settings, path)
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
        (self.finalize)(&self.definition, ctx, state)
    }

    fn relate_group(&self, group: &mut MetricResult, overall: &MetricResult) {
        if let Some(relate) = self.relate_group {
            relate(group, overall);
        }
    }

    fn reads_amounts(&self) -> bool {
        self.reading.reads_amounts()
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
