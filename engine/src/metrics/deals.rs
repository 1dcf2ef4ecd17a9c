//! Sales outcomes: `win_rate`, `average_deal_size`, `sales_cycle_length` and `deals_won`
//! (docs/metrics.md).
//!
//! A deal is *won in P* when its status is WON and its `closed_time` lies in P. The evaluator looks
//! at the data as of `as_of` (a deal closed later is open); the folds also refuse a close after
//! `as_of` themselves, so a state never counts the future whatever view it is given.

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, PolicyDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Period, Reading, ReadingMetric, Route, State};
use crate::money::MoneySum;
use crate::records::{Deal, DealStatus, RecordKind, Timestamp};
use crate::value::{Component, DurationSet, EvalError, MetricResult, Value, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &WinRate,
    &AVERAGE_DEAL_SIZE_METRIC,
    &SalesCycleLength,
    &DEALS_WON_METRIC,
];

/// The close of a WON or LOST deal that had happened by `as_of`: (closed_time, won).
fn close_of(deal: &Deal, as_of: Timestamp) -> Option<(Timestamp, bool)> {
    let closed = deal.closed_time.filter(|t| *t <= as_of)?;
    match deal.status {
        DealStatus::Won => Some((closed, true)),
        DealStatus::Lost => Some((closed, false)),
        DealStatus::Open => None,
    }
}

/// Routes WON deals to their `closed_time`.
fn won_route(record: RecordRef<'_>) -> Route {
    match record {
        RecordRef::Deal(d) if d.status == DealStatus::Won => {
            d.closed_time.map_or(Route::Nowhere, Route::At)
        }
        _ => Route::Nowhere,
    }
}

/// The deal and its close time when it was won in the period.
fn won_in<'a>(record: RecordRef<'a>, period: &Period) -> Option<(&'a Deal, Timestamp)> {
    let RecordRef::Deal(deal) = record else {
        return None;
    };
    match close_of(deal, period.as_of) {
        Some((closed, true)) if period.window.contains(closed) => Some((deal, closed)),
        _ => None,
    }
}

/// Share of deals won, on the closed or the cohort basis.
pub struct WinRate;

static WIN_RATE: MetricDefinition = MetricDefinition {
    id: "win_rate",
    family: "sales",
    version: 1,
    description: "The share of deals won: among deals won or lost in the window (closed basis), or among all deals created in the window, open ones included (cohort basis, the close rate).",
    formula: "closed: deals won in P / deals won or lost in P (closed_time); cohort: deals created in P that are WON by as_of / deals created in P",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Deal],
    primary: &[RecordKind::Deal],
    policies: &[PolicyDefinition {
        name: "basis",
        description: "closed: won / (won + lost) by closed_time in the window; cohort: deals created in the window that are won by as_of / all deals created in the window",
        values: &["closed", "cohort"],
        default: "closed",
    }],
    parameters: &[],
};

/// Won, lost and (cohort basis) still-open deals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WinRateState {
    won: u64,
    lost: u64,
    open: u64,
}

impl State for WinRateState {
    fn merge(&mut self, other: &Self) {
        self.won += other.won;
        self.lost += other.lost;
        self.open += other.open;
    }
}

fn cohort(settings: &Settings) -> bool {
    settings.policy("basis") == "cohort"
}

impl Family for WinRate {
    type State = WinRateState;

    fn definition(&self) -> &'static MetricDefinition {
        &WIN_RATE
    }

    fn reads_amounts(&self) -> bool {
        false
    }

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let field = if cohort(settings) {
            TimeField::DealCreated
        } else {
            TimeField::DealClosed
        };
        ReadPlan::within(field, span)
    }

    fn route(&self, settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Deal(d) if cohort(settings) => Route::At(d.created_time),
            RecordRef::Deal(d) if d.status != DealStatus::Open => {
                d.closed_time.map_or(Route::Nowhere, Route::At)
            }
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut WinRateState, record: RecordRef<'a>) {
        let RecordRef::Deal(deal) = record else {
            return;
        };
        let period = ctx.period;
        let close = close_of(deal, period.as_of);
        if cohort(ctx.settings) {
            if !period.window.contains(deal.created_time) {
                return;
            }
            match close {
                Some((_, true)) => state.won += 1,
                Some((_, false)) => state.lost += 1,
                None => state.open += 1,
            }
        } else {
            match close {
                Some((t, true)) if period.window.contains(t) => state.won += 1,
                Some((t, false)) if period.window.contains(t) => state.lost += 1,
                _ => {}
            }
        }
    }

    fn finalize(
        &self,
        ctx: &FoldContext<'_, '_>,
        state: &WinRateState,
    ) -> Result<MetricResult, EvalError> {
        let mut components = vec![
            Component::count("won", state.won),
            Component::count("lost", state.lost),
        ];
        let (denominator, what) = if cohort(ctx.settings) {
            components.push(Component::count("open", state.open));
            (state.won + state.lost + state.open, "deals created")
        } else {
            (state.won + state.lost, "deals won or lost")
        };
        Ok(MetricResult::ratio(
            state.won as f64,
            denominator as f64,
            what,
            components,
        ))
    }
}

/// Mean amount of the deals won in the window.
pub static AVERAGE_DEAL_SIZE_METRIC: ReadingMetric<WonDeals> = ReadingMetric {
    definition: &AVERAGE_DEAL_SIZE,
    reading: WonDeals,
    finalize: average_deal_size_result,
};

static AVERAGE_DEAL_SIZE: MetricDefinition = MetricDefinition {
    id: "average_deal_size",
    family: "sales",
    version: 1,
    description: "The mean amount of the deals won in the window (by closed_time), rounded half to even to minor units, with the exact sum and count.",
    formula: "sum of amounts of deals won in P / number of deals won in P",
    value_kind: ValueKind::Money,
    unit: "currency",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Deal],
    primary: &[RecordKind::Deal],
    policies: &[],
    parameters: &[],
};

/// Exact sum of won amounts and the number of won deals (shared by deal size and deals won).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WonDealTotals {
    amount: MoneySum,
    won: u64,
}

impl State for WonDealTotals {
    fn merge(&mut self, other: &Self) {
        self.amount.merge(&other.amount);
        self.won += other.won;
    }
}

/// Deals won in the period: their count and the exact sum of their amounts.
pub struct WonDeals;

impl Reading for WonDeals {
    type State = WonDealTotals;

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::within(TimeField::DealClosed, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        won_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut WonDealTotals,
        record: RecordRef<'a>,
    ) {
        if let Some((deal, _)) = won_in(record, &ctx.period) {
            state.amount.add(deal.amount);
            state.won += 1;
        }
    }
}

/// The value of `average_deal_size` from the shared state.
fn average_deal_size_result(
    definition: &'static MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &WonDealTotals,
) -> Result<MetricResult, EvalError> {
    let components = vec![Component::count("deals_won", state.won)];
    money_result(
        definition.id,
        &state.amount,
        Some((state.won, "deals won in the window")),
        "deals won",
        components,
    )
}

/// Time from a deal's start to its win.
pub struct SalesCycleLength;

static SALES_CYCLE_LENGTH: MetricDefinition = MetricDefinition {
    id: "sales_cycle_length",
    family: "sales",
    version: 1,
    description: "How long the deals won in the window took, from their start to closed_time. A deal whose start is unknown (no linked lead, no activity) or later than its close is left out and counted in unknown_start.",
    formula: "stats of (closed_time − start) over deals won in P; start = deal created_time (deal_created), the linked lead's created_time (lead_created) or the deal's earliest activity (first_activity)",
    value_kind: ValueKind::Duration,
    unit: "seconds",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Deal, RecordKind::Lead, RecordKind::Activity],
    primary: &[RecordKind::Deal],
    policies: &[PolicyDefinition {
        name: "start",
        description: "deal_created: the deal's created_time; lead_created: the linked lead's created_time; first_activity: the earliest activity logged on the deal",
        values: &["deal_created", "lead_created", "first_activity"],
        default: "deal_created",
    }],
    parameters: &[],
};

/// Cycle durations of won deals with a known start, and the count of the others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SalesCycleState {
    durations: DurationSet,
    unknown_start: u64,
}

impl State for SalesCycleState {
    fn merge(&mut self, other: &Self) {
        self.durations.merge(&other.durations);
        self.unknown_start += other.unknown_start;
    }
}

impl Family for SalesCycleLength {
    type State = SalesCycleState;

    fn definition(&self) -> &'static MetricDefinition {
        &SALES_CYCLE_LENGTH
    }

    fn reads_amounts(&self) -> bool {
        false
    }

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::DealClosed, span);
        // A start after the close does not count, so nothing at or after span.end is needed.
        let field = match settings.policy("start") {
            "lead_created" => Some(TimeField::LeadCreated),
            "first_activity" => Some(TimeField::ActivityOccurred),
            _ => None,
        };
        if let Some(field) = field {
            plan.read_bounded(TimeBound {
                field,
                from: None,
                until: Some(span.end),
            });
        }
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        won_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut SalesCycleState,
        record: RecordRef<'a>,
    ) {
        let Some((deal, closed)) = won_in(record, &ctx.period) else {
            return;
        };
        let start = match ctx.settings.policy("start") {
            "lead_created" => deal
                .lead_id
                .as_deref()
                .and_then(|id| ctx.lookup.lead(id))
                .map(|lead| lead.created_time),
            "first_activity" => ctx.lookup.first_activity_on_deal(&deal.meta.id),
            _ => Some(deal.created_time),
        };
        match start.filter(|s| *s <= closed) {
            Some(start) => state.durations.add(closed - start),
            None => state.unknown_start += 1,
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &SalesCycleState,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![
            Component::count("deals_won", state.durations.len() + state.unknown_start),
            Component::count("unknown_start", state.unknown_start),
        ];
        Ok(state
            .durations
            .result("won deals with a known start", components))
    }
}

/// Number of deals won in the window.
pub static DEALS_WON_METRIC: ReadingMetric<WonDeals> = ReadingMetric {
    definition: &DEALS_WON,
    reading: WonDeals,
    finalize: deals_won_result,
};

static DEALS_WON: MetricDefinition = MetricDefinition {
    id: "deals_won",
    family: "sales",
    version: 1,
    description: "The number of deals won in the window (by closed_time); group by owner_id for per-rep counts. A window without any won deal counts 0: a count of events is defined for every window, so it is never NO_DATA.",
    formula: "count of deals with status WON and closed_time in P",
    value_kind: ValueKind::Count,
    unit: "deals",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Deal],
    primary: &[RecordKind::Deal],
    policies: &[],
    parameters: &[],
};

/// The value of `deals_won` from the shared state.
fn deals_won_result(
    _definition: &'static MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &WonDealTotals,
) -> Result<MetricResult, EvalError> {
    // A count of events is defined for every window: no win is a count of 0, not missing data.
    Ok(MetricResult::value(Value::Count(state.won), Vec::new()))
}

#[cfg(test)]
#[path = "tests/deals.rs"]
mod tests;
