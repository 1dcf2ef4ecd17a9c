//! Sales performance: `pipeline_velocity`, `quota_attainment` and `deals_won_per_rep`
//! (docs/metrics.md).
//!
//! A deal is *won in P* when its status is WON and its `closed_time` lies in P and is not after
//! `as_of` (the evaluator's `as_of` view reopens later closes; the folds refuse them too).
//!
//! Decisions where docs/metrics.md is silent:
//! - `pipeline_velocity` is money per day, computed exactly from its inputs and rounded half to
//!   even once: `open × won × Σwon_amount × 86 400 s / (closed × Σcycle_seconds)`, which is
//!   `open × win_rate × average_deal_size / mean_cycle_days` with the average deal size and the mean
//!   cycle unrounded. Deals open at P.end are open at [`Period::point_in_time`]
//!   (min(as_of, last instant of P)), as for `pipeline_value`. The cycle is `closed_time −
//!   created_time` (the default `sales_cycle_length` policy). When an input is undefined (no deal
//!   won or lost, no deal won) the velocity is `UNDEFINED_INPUT`; a mean cycle of 0 days is
//!   `ZERO_DENOMINATOR`.
//! - `quota_attainment` counts a won deal of an owner once when its `closed_time` lies in at least
//!   one of that owner's quota periods overlapping P (a monthly and a quarterly quota of the same
//!   owner do not count a deal twice); the quota amounts of all overlapping quotas are added. The
//!   deal's close may lie outside P (a quarterly quota over a monthly window counts the whole
//!   quarter's wins), so every closed deal is read.
//! - `deals_won_per_rep`: a SALES user is active during P when `created_time < P.end` (and by
//!   `as_of`) and not deactivated by `P.start` (deactivated absent, after `as_of`, or after
//!   `P.start`). Zero reps is `ZERO_DENOMINATOR`.

use std::collections::{BTreeMap, BTreeSet};

use super::deals::{DEAL_KINDS, DEALS_WON_IN_WINDOW, close_of};
use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Period, Reading, Route, State};
use crate::money::{Money, MoneySum, divide_half_even};
use crate::records::{Deal, DealStatus, RecordKind, Text, Timestamp, UserRole};
use crate::value::{Component, EvalError, MetricResult, MoneyValue, UndefinedReason, Value};
use crate::value::{exact_money, single_currency};

mod quota;

use quota::QUOTA_ATTAINMENT;

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] =
    &[&PIPELINE_VELOCITY, &QUOTA_ATTAINMENT, &DEALS_WON_PER_REP];

/// Microseconds in a day.
const DAY_MICROS: i128 = 86_400_000_000;

/// The close time of a deal won by `as_of`.
fn won_by(deal: &Deal, as_of: Timestamp) -> Option<Timestamp> {
    close_of(deal, as_of).and_then(|(t, won)| won.then_some(t))
}

/// The deal's close (time, won) when it was won or lost in the period.
fn closed_in(deal: &Deal, period: &Period) -> Option<(Timestamp, bool)> {
    close_of(deal, period.as_of).filter(|(t, _)| period.window.contains(*t))
}

fn overflow(metric: &str) -> EvalError {
    EvalError::Overflow {
        metric: metric.to_owned(),
    }
}

/// How much money the pipeline turns into per day.
pub static PIPELINE_VELOCITY: Declaration<VelocityInputs> = Declaration {
    definition: MetricDefinition {
        id: "pipeline_velocity",
        family: "sales",
        version: 1,
        description: "How much money the pipeline produces per day: deals open at the end of the window × win rate (closed basis) × average deal size / mean sales cycle in days, all over the window. Open deals are counted at min(as_of, the window's last instant); the sales cycle is closed_time − created_time of the deals won in the window. Computed exactly and rounded half to even once; undefined (UNDEFINED_INPUT) when no deal was won or lost or none was won.",
        formula: "(open at P.end × won/(won + lost) × Σ won amount / won) / (Σ (closed_time − created_time) of won deals / won / 86400 s), deals won or lost in P by closed_time",
        value_kind: ValueKind::Money,
        unit: "currency per day",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "open_deals",
                description: "deals open at min(as_of, the window's last instant)",
            },
            DEALS_WON_IN_WINDOW,
            Term {
                name: "deals_lost",
                description: "deals lost in the window",
            },
            Term {
                name: "win_rate",
                description: "deals_won / (deals_won + deals_lost); only when a deal was won or lost in the window",
            },
            Term {
                name: "average_deal_size",
                description: "mean amount of the deals won, rounded half to even; only when a deal was won in the window",
            },
            Term {
                name: "mean_sales_cycle_days",
                description: "mean closed_time − created_time of the deals won, in days (unrounded); only when a deal was won in the window",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            UndefinedCase {
                reason: UndefinedReason::UndefinedInput,
                when: "no deal was won or lost in the window (no win rate), or none was won (no average deal size or sales cycle)",
            },
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "the deals won in the window have a mean sales cycle of 0 days (each closed when it was created)",
            },
        ],
    },
    reading: VelocityInputs,
    finalize: pipeline_velocity_result,
    relate_group: None,
};

/// The exact inputs of the velocity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VelocityState {
    open: u64,
    won: u64,
    lost: u64,
    won_amount: MoneySum,
    cycle_micros: i128,
}

impl State for VelocityState {
    fn merge(&mut self, other: &Self) {
        self.open += other.open;
        self.won += other.won;
        self.lost += other.lost;
        self.won_amount.merge(&other.won_amount);
        self.cycle_micros += other.cycle_micros;
    }
}

/// The deals open at the period's point in time, and those won or lost in the period.
pub struct VelocityInputs;

impl Reading for VelocityInputs {
    type State = VelocityState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Deals created before the span's end: the open ones and those closed in the span.
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::DealCreated, span.end)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut VelocityState,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Deal(deal) = record else {
            return;
        };
        let t = ctx.point_in_time();
        if deal.created_time <= t && deal.closed_time.is_none_or(|closed| closed > t) {
            state.open += 1;
        }
        match closed_in(deal, &ctx.period) {
            Some((closed, true)) => {
                state.won += 1;
                state.won_amount.add(deal.amount);
                let cycle = (closed - deal.created_time).num_microseconds().unwrap_or(0);
                state.cycle_micros += i128::from(cycle.max(0));
            }
            Some((_, false)) => state.lost += 1,
            None => {}
        }
    }
}

/// The value of `pipeline_velocity`.
fn pipeline_velocity_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &VelocityState,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
    let closed = state.won + state.lost;
    let mut components = vec![
        Component::count("open_deals", state.open),
        Component::count("deals_won", state.won),
        Component::count("deals_lost", state.lost),
    ];
    if closed > 0 {
        let win_rate = state.won as f64 / closed as f64;
        components.push(Component::number("win_rate", win_rate));
    }
    let amount = single_currency(id, &state.won_amount)?;
    if let (Some((currency, total)), true) = (amount, state.won > 0) {
        let average = divide_half_even(total, i128::from(state.won)).ok_or_else(|| overflow(id))?;
        components.push(Component::money(
            "average_deal_size",
            Money::new(currency, average),
        ));
        components.push(Component::number(
            "mean_sales_cycle_days",
            state.cycle_micros as f64 / DAY_MICROS as f64 / state.won as f64,
        ));
    }
    let undefined = if closed == 0 {
        Some((
            UndefinedReason::UndefinedInput,
            "the win rate is undefined: no deal was won or lost in the window",
        ))
    } else if state.won == 0 {
        Some((
            UndefinedReason::UndefinedInput,
            "the average deal size and sales cycle are undefined: no deal was won in the window",
        ))
    } else if state.cycle_micros == 0 {
        Some((
            UndefinedReason::ZeroDenominator,
            "the mean sales cycle of the deals won in the window is 0 days",
        ))
    } else {
        None
    };
    // A won deal always registers its currency, so `amount` is `None` only when no deal was
    // won, which `undefined` already explains: the NO_DATA fallback cannot occur.
    let (Some((currency, total)), None) = (amount, undefined) else {
        let (reason, detail) = undefined.unwrap_or((UndefinedReason::NoData, "no deal won"));
        return Ok(MetricResult::undefined(reason, detail, components));
    };
    let numerator = i128::from(state.open)
        .checked_mul(i128::from(state.won))
        .and_then(|n| n.checked_mul(total))
        .and_then(|n| n.checked_mul(DAY_MICROS))
        .ok_or_else(|| overflow(id))?;
    let denominator = i128::from(closed)
        .checked_mul(state.cycle_micros)
        .ok_or_else(|| overflow(id))?;
    let per_day = divide_half_even(numerator, denominator).ok_or_else(|| overflow(id))?;
    let value = MoneyValue {
        amount: Money::new(currency, per_day),
        numerator: None,
        denominator: None,
    };
    Ok(MetricResult::value(Value::Money(value), components))
}

/// Deals won per active sales rep.
pub static DEALS_WON_PER_REP: Declaration<WinsAndReps> = Declaration {
    definition: MetricDefinition {
        id: "deals_won_per_rep",
        family: "sales",
        version: 1,
        description: "Deals won in the window (by closed_time) per CRM user with role SALES active during the window (created before its end, not deactivated by its start).",
        formula: "deals won in P / CrmUsers with role SALES, created_time < P.end and (deactivated_time absent or > P.start)",
        value_kind: ValueKind::Number,
        unit: "deals per rep",
        direction: Direction::HigherIsBetter,
        reads: &[RecordKind::Deal, RecordKind::CrmUser],
        primary: &[RecordKind::Deal, RecordKind::CrmUser],
        policies: &[],
        parameters: &[],
        components: &[
            DEALS_WON_IN_WINDOW,
            Term {
                name: "sales_reps",
                description: "CRM users with role SALES active during the window",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no sales rep was active during the window",
        }],
    },
    reading: WinsAndReps,
    finalize: deals_won_per_rep_result,
    relate_group: None,
};

/// Won deals and the ids of the active sales reps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PerRepState {
    won: u64,
    reps: BTreeSet<Text>,
}

impl State for PerRepState {
    fn merge(&mut self, other: &Self) {
        self.won += other.won;
        self.reps.extend(other.reps.iter().cloned());
    }
}

/// The deals won in the period and the sales reps active during it.
pub struct WinsAndReps;

impl Reading for WinsAndReps {
    type State = PerRepState;

    /// A rep counts in every period it is active in, whatever its times.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Deals closed in the span, and every CRM user (few, and not time-indexed).
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::DealClosed, span);
        plan.read_all(RecordKind::CrmUser);
        plan
    }

    /// Won deals at their close, sales reps everywhere.
    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Deal(d) if d.status == DealStatus::Won => {
                d.closed_time.map_or(Route::Nowhere, Route::At)
            }
            RecordRef::CrmUser(u) if u.role == UserRole::Sales => Route::Everywhere,
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut PerRepState, record: RecordRef<'a>) {
        let Period { window, as_of, .. } = ctx.period;
        match record {
            RecordRef::Deal(deal) => {
                if let Some((_, true)) = closed_in(deal, &ctx.period) {
                    state.won += 1;
                }
            }
            RecordRef::CrmUser(user) => {
                let active = user.role == UserRole::Sales
                    && user.created_time < window.end
                    && user.created_time <= as_of
                    && user
                        .deactivated_time
                        .filter(|t| *t <= as_of)
                        .is_none_or(|t| t > window.start);
                if active {
                    state.reps.insert(user.meta.id.clone());
                }
            }
            _ => {}
        }
    }
}

/// The value of `deals_won_per_rep`.
fn deals_won_per_rep_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &PerRepState,
) -> Result<MetricResult, EvalError> {
    let reps = state.reps.len() as u64;
    let components = vec![
        Component::count("deals_won", state.won),
        Component::count("sales_reps", reps),
    ];
    if reps == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::ZeroDenominator,
            "no sales rep active during the window",
            components,
        ));
    }
    Ok(MetricResult::value(
        Value::Number(state.won as f64 / reps as f64),
        components,
    ))
}

#[cfg(test)]
#[path = "tests/sales_performance.rs"]
mod tests;
