//! Sales outcomes: `win_rate`, `average_deal_size`, `sales_cycle_length`, `deals_won` and
//! `deals_lost` (docs/metrics.md).
//!
//! A deal is *won in P* when its status is WON and its `closed_time` lies in P (*lost in P* alike
//! with LOST). The evaluator looks at the data as of `as_of` (a deal closed later is open); the
//! folds also refuse a close after `as_of` themselves, so a state never counts the future whatever
//! view it is given.

use crate::calendar::Window;
use crate::catalog::{
    Choice, Direction, MetricDefinition, PolicyDefinition, Settings, Term, UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Period, Reading, State};
use crate::money::MoneySum;
use crate::records::{Deal, DealStatus, RecordKind, Timestamp};
use crate::value::{
    Component, DurationSet, EvalError, MetricResult, UndefinedReason, Value, money_result,
};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &WIN_RATE,
    &AVERAGE_DEAL_SIZE,
    &SALES_CYCLE_LENGTH,
    &DEALS_WON,
    &DEALS_LOST,
];

/// The kinds read (and filtered and grouped) by the deal metrics, here and in `pipeline`,
/// `funnel` and `sales_performance`.
pub(super) const DEAL_KINDS: &[RecordKind] = &[RecordKind::Deal];

/// The deals won in the window, as a component (here and in `sales_performance`).
pub(super) const DEALS_WON_IN_WINDOW: Term = Term {
    name: "deals_won",
    description: "deals won in the window",
};

/// The close of a WON or LOST deal that had happened by `as_of`: (closed_time, won).
pub(super) fn close_of(deal: &Deal, as_of: Timestamp) -> Option<(Timestamp, bool)> {
    let closed = deal.closed_time.filter(|t| *t <= as_of)?;
    match deal.status {
        DealStatus::Won => Some((closed, true)),
        DealStatus::Lost => Some((closed, false)),
        DealStatus::Open => None,
    }
}

/// The deal, its close time and whether it was won, when it closed in the period.
fn closed_in<'a>(record: RecordRef<'a>, period: &Period) -> Option<(&'a Deal, Timestamp, bool)> {
    let RecordRef::Deal(deal) = record else {
        return None;
    };
    close_of(deal, period.as_of)
        .filter(|(closed, _)| period.window.contains(*closed))
        .map(|(closed, won)| (deal, closed, won))
}

/// Which deals `win_rate` divides among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Basis {
    /// Won / (won + lost), by `closed_time` in the window.
    Closed,
    /// Deals created in the window that are won by `as_of` / all deals created in the window.
    Cohort,
}

impl Choice for Basis {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "basis",
        description: "closed: won / (won + lost) by closed_time in the window; cohort: deals created in the window that are won by as_of / all deals created in the window",
        values: &["closed", "cohort"],
        default: "closed",
    };
    const ALL: &'static [Basis] = &[Basis::Closed, Basis::Cohort];
}

/// Share of deals won, on the closed or the cohort basis.
pub static WIN_RATE: Declaration<WinRateReading> = Declaration {
    definition: MetricDefinition {
        id: "win_rate",
        family: "sales",
        version: 1,
        description: "The share of deals won: among deals won or lost in the window (closed basis), or among all deals created in the window, open ones included (cohort basis, the close rate).",
        formula: "closed: deals won in P / deals won or lost in P (closed_time); cohort: deals created in P that are WON by as_of / deals created in P",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[Basis::POLICY],
        parameters: &[],
        components: &[
            Term {
                name: "won",
                description: "deals won (closed basis: in the window; cohort basis: created in the window and won by as_of)",
            },
            Term {
                name: "lost",
                description: "deals lost, counted like won",
            },
            Term {
                name: "open",
                description: "cohort basis only: deals created in the window still open at as_of",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no deal was won or lost in the window (closed basis), or none was created in it (cohort basis)",
        }],
    },
    reading: WinRateReading,
    finalize: win_rate_result,
    relate_group: None,
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

/// Deals closed in the period (closed basis) or created in it (cohort basis), by outcome.
pub struct WinRateReading;

impl Reading for WinRateReading {
    type State = WinRateState;

    fn counted_by(&self, settings: &Settings) -> CountedBy {
        match settings.choice::<Basis>() {
            Basis::Closed => CountedBy::Time(TimeField::DealClosed),
            Basis::Cohort => CountedBy::Time(TimeField::DealCreated),
        }
    }

    fn reads_amounts(&self) -> bool {
        false
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut WinRateState, record: RecordRef<'a>) {
        let RecordRef::Deal(deal) = record else {
            return;
        };
        match ctx.settings.choice::<Basis>() {
            Basis::Cohort if ctx.period.window.contains(deal.created_time) => {
                match close_of(deal, ctx.period.as_of) {
                    Some((_, true)) => state.won += 1,
                    Some((_, false)) => state.lost += 1,
                    None => state.open += 1,
                }
            }
            Basis::Cohort => {}
            Basis::Closed => match closed_in(record, &ctx.period) {
                Some((_, _, true)) => state.won += 1,
                Some((_, _, false)) => state.lost += 1,
                None => {}
            },
        }
    }
}

/// The value of `win_rate`.
fn win_rate_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &WinRateState,
) -> Result<MetricResult, EvalError> {
    let mut components = vec![
        Component::count("won", state.won),
        Component::count("lost", state.lost),
    ];
    let (denominator, what) = match ctx.settings.choice::<Basis>() {
        Basis::Cohort => {
            components.push(Component::count("open", state.open));
            (state.won + state.lost + state.open, "deals created")
        }
        Basis::Closed => (state.won + state.lost, "deals won or lost"),
    };
    Ok(MetricResult::ratio(
        state.won as f64,
        denominator as f64,
        what,
        components,
    ))
}

/// The deals of one outcome closed in the period: their count and the exact sum of their amounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClosedDealTotals {
    amount: MoneySum,
    deals: u64,
}

impl State for ClosedDealTotals {
    fn merge(&mut self, other: &Self) {
        self.amount.merge(&other.amount);
        self.deals += other.deals;
    }
}

/// The deals won (`won: true`) or lost in the period, by `closed_time`.
pub struct ClosedDeals {
    pub won: bool,
}

impl Reading for ClosedDeals {
    type State = ClosedDealTotals;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::DealClosed)
    }

    fn admits(&self, record: RecordRef<'_>) -> bool {
        let outcome = if self.won {
            DealStatus::Won
        } else {
            DealStatus::Lost
        };
        matches!(record, RecordRef::Deal(d) if d.status == outcome)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut ClosedDealTotals,
        record: RecordRef<'a>,
    ) {
        if let Some((deal, _, won)) = closed_in(record, &ctx.period)
            && won == self.won
        {
            state.amount.add(deal.amount);
            state.deals += 1;
        }
    }
}

/// Mean amount of the deals won in the window.
pub static AVERAGE_DEAL_SIZE: Declaration<ClosedDeals> = Declaration {
    definition: MetricDefinition {
        id: "average_deal_size",
        family: "sales",
        version: 1,
        description: "The mean amount of the deals won in the window (by closed_time), rounded half to even to minor units, with the exact sum and count.",
        formula: "sum of amounts of deals won in P / number of deals won in P",
        value_kind: ValueKind::Money,
        unit: "currency",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[],
        components: &[DEALS_WON_IN_WINDOW],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no deal was won in the window",
        }],
    },
    reading: ClosedDeals { won: true },
    finalize: average_deal_size_result,
    relate_group: None,
};

/// The value of `average_deal_size`.
fn average_deal_size_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &ClosedDealTotals,
) -> Result<MetricResult, EvalError> {
    let components = vec![Component::count("deals_won", state.deals)];
    money_result(
        definition.id,
        &state.amount,
        Some((state.deals, "deals won in the window")),
        "deals won",
        components,
    )
}

/// Where a sales cycle starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CycleStart {
    DealCreated,
    LeadCreated,
    FirstActivity,
}

impl Choice for CycleStart {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "start",
        description: "deal_created: the deal's created_time; lead_created: the linked lead's created_time; first_activity: the earliest activity logged on the deal",
        values: &["deal_created", "lead_created", "first_activity"],
        default: "deal_created",
    };
    const ALL: &'static [CycleStart] = &[
        CycleStart::DealCreated,
        CycleStart::LeadCreated,
        CycleStart::FirstActivity,
    ];
}

/// Time from a deal's start to its win.
pub static SALES_CYCLE_LENGTH: Declaration<SalesCycles> = Declaration {
    definition: MetricDefinition {
        id: "sales_cycle_length",
        family: "sales",
        version: 1,
        description: "How long the deals won in the window took, from their start to closed_time. A deal whose start is unknown (no linked lead, no activity) or later than its close is left out and counted in unknown_start.",
        formula: "stats of (closed_time − start) over deals won in P; start = deal created_time (deal_created), the linked lead's created_time (lead_created) or the deal's earliest activity (first_activity)",
        value_kind: ValueKind::Duration,
        unit: "seconds",
        direction: Direction::LowerIsBetter,
        reads: &[RecordKind::Deal, RecordKind::Lead, RecordKind::Activity],
        primary: DEAL_KINDS,
        policies: &[CycleStart::POLICY],
        parameters: &[],
        components: &[
            Term {
                name: "deals_won",
                description: "deals won in the window, with a known start or not",
            },
            Term {
                name: "unknown_start",
                description: "won deals left out: no start under the policy, or a start after the close",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no deal with a known start was won in the window",
        }],
    },
    reading: SalesCycles,
    finalize: sales_cycle_result,
    relate_group: None,
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

/// Won deals and the start of each one's cycle.
pub struct SalesCycles;

impl Reading for SalesCycles {
    type State = SalesCycleState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::Time(TimeField::DealClosed)
    }

    fn reads_amounts(&self) -> bool {
        false
    }

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = self.counted_by(settings).plan(span);
        // A start after the close does not count, so nothing at or after span.end is needed.
        let field = match settings.choice::<CycleStart>() {
            CycleStart::LeadCreated => Some(TimeField::LeadCreated),
            CycleStart::FirstActivity => Some(TimeField::ActivityOccurred),
            CycleStart::DealCreated => None,
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

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut SalesCycleState,
        record: RecordRef<'a>,
    ) {
        let Some((deal, closed, true)) = closed_in(record, &ctx.period) else {
            return;
        };
        let start = match ctx.settings.choice::<CycleStart>() {
            CycleStart::LeadCreated => deal
                .lead_id
                .as_deref()
                .and_then(|id| ctx.lookup.lead(id))
                .map(|lead| lead.created_time),
            CycleStart::FirstActivity => ctx.lookup.first_activity_on_deal(&deal.meta.id),
            CycleStart::DealCreated => Some(deal.created_time),
        };
        match start.filter(|s| *s <= closed) {
            Some(start) => state.durations.add(closed - start),
            None => state.unknown_start += 1,
        }
    }
}

/// The value of `sales_cycle_length`.
fn sales_cycle_result(
    _definition: &MetricDefinition,
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

/// Number of deals won in the window.
pub static DEALS_WON: Declaration<ClosedDeals> = Declaration {
    definition: MetricDefinition {
        id: "deals_won",
        family: "sales",
        version: 1,
        description: "The number of deals won in the window (by closed_time); group by owner_id for per-rep counts. A window without any won deal counts 0: a count of events is defined for every window, so it is never undefined.",
        formula: "count of deals with status WON and closed_time in P",
        value_kind: ValueKind::Count,
        unit: "deals",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[],
        components: &[],
        breakdown_keys: &[],
        undefined: &[],
    },
    reading: ClosedDeals { won: true },
    finalize: deal_count,
    relate_group: None,
};

/// Number of deals lost in the window.
pub static DEALS_LOST: Declaration<ClosedDeals> = Declaration {
    definition: MetricDefinition {
        id: "deals_lost",
        family: "sales",
        version: 1,
        description: "The number of deals lost in the window (by closed_time); group by owner_id for per-rep counts or by deal_type. Like deals_won, a window without any lost deal counts 0, never undefined.",
        formula: "count of deals with status LOST and closed_time in P",
        value_kind: ValueKind::Count,
        unit: "deals",
        direction: Direction::LowerIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[],
        components: &[],
        breakdown_keys: &[],
        undefined: &[],
    },
    reading: ClosedDeals { won: false },
    finalize: deal_count,
    relate_group: None,
};

/// The value of `deals_won` and `deals_lost`: a count of events is defined for every window, so
/// none is a count of 0, not missing data.
fn deal_count(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &ClosedDealTotals,
) -> Result<MetricResult, EvalError> {
    Ok(MetricResult::value(Value::Count(state.deals), Vec::new()))
}

#[cfg(test)]
#[path = "tests/deals.rs"]
mod tests;
