//! Subscription metrics: `mrr`, `arr`, `arpa`, `mrr_movements`, `net_revenue_retention` and
//! `gross_revenue_retention` (docs/metrics.md).
//!
//! A subscription is *counted at instant t* when it is not a trial and `start_time <= t <
//! end_time` (no `end_time`: still running). Every subscription is routed to every period and
//! `fold` looks at it at the period's instants, so a monthly series is the MRR at each month's
//! last instant. Two readings are shared:
//!
//! - [`MrrAt`] (`mrr`, `arr`, `arpa`): at `t = Period::point_in_time` (the last instant of the
//!   window or bucket, never after `as_of`), the exact per-currency MRR sum and the set of
//!   customers with a counted subscription.
//! - [`MrrChanges`] (`mrr_movements`, NRR, GRR): per customer, m0 and m1 (MRR at the period's
//!   two instants) and whether the customer paid before the period. Each customer is classified
//!   once, so `start + new + reactivation + expansion − contraction − churn = end` holds by
//!   construction (and is checked when finalizing).
//!
//! Decisions where docs/metrics.md is ambiguous:
//! - m0 is the MRR *just before* `P.start` (its last instant before the window, `P.start − 1 µs`),
//!   not at `P.start` itself: a subscription starting exactly at `P.start` (a typical monthly
//!   start at midnight) is new in P, and one ending exactly at `P.start` is churned in P. Read at
//!   `P.start`, both changes would fall between two consecutive buckets and be counted in none.
//!   With this rule the end of a bucket is the start of the next, and movements chain.
//! - m1 is the MRR at `Period::point_in_time` (the last instant of P, or `as_of` when earlier),
//!   and m0 is also clamped to `as_of`: an end after `as_of` has not happened yet, so a
//!   scheduled cancellation is not churn before it takes effect.
//! - "Paid before" means a non-trial subscription with a positive `mrr` that started before
//!   `P.start` and ran for a positive time (a free plan is not paying).
//! - When subscriptions exist but none is counted, MRR is 0 in their currency (not NO_DATA), and
//!   ARPA has a zero denominator; without any subscription started by t, all are NO_DATA.
//! - Amounts in several currencies are never added: any mix is `MixedCurrencies` naming them
//!   (convert with a reporting currency first).

use std::collections::BTreeSet;

use crate::by_id::ById;

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{FoldContext, Metric, Period, Reading, ReadingMetric, Route, State};
use crate::money::{Currency, MoneySum};
use crate::records::{RecordKind, Subscription, Timestamp};
use crate::value::{
    BreakdownEntry, Component, EvalError, MetricResult, MoneyValue, UndefinedReason, Value,
    money_result,
};
use crate::value::{exact_money, mixed_currencies, single_currency};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &MRR_METRIC,
    &ARR_METRIC,
    &ARPA_METRIC,
    &MRR_MOVEMENTS_METRIC,
    &NET_REVENUE_RETENTION_METRIC,
    &GROSS_REVENUE_RETENTION_METRIC,
];

/// A subscription metric's definition: it reads (and filters and groups) subscriptions only,
/// and has no policies or parameters.
const fn definition(
    id: &'static str,
    description: &'static str,
    formula: &'static str,
    (value_kind, unit, direction): (ValueKind, &'static str, Direction),
) -> MetricDefinition {
    MetricDefinition {
        id,
        family: "subscriptions",
        version: 1,
        description,
        formula,
        value_kind,
        unit,
        direction,
        reads: &[RecordKind::Subscription],
        primary: &[RecordKind::Subscription],
        policies: &[],
        parameters: &[],
    }
}

fn subscription_route(record: RecordRef<'_>) -> Route {
    match record {
        RecordRef::Subscription(_) => Route::Everywhere,
        _ => Route::Nowhere,
    }
}

/// Whether the subscription counts as recurring revenue at `t`.
fn counted_at(subscription: &Subscription, t: Timestamp) -> bool {
    !subscription.trial
        && subscription.start_time <= t
        && subscription.end_time.is_none_or(|end| t < end)
}

/// The MRR at one instant: the exact sum, the counted subscriptions and their customers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MrrSnapshot {
    /// Sum of counted `mrr` per currency; every subscription started by t registers its currency.
    mrr: MoneySum,
    subscriptions: u64,
    customers: ById<()>,
}

impl State for MrrSnapshot {
    fn merge(&mut self, other: &Self) {
        self.mrr.merge(&other.mrr);
        self.subscriptions += other.subscriptions;
        self.customers.merge_with(&other.customers, |_, _| {});
    }
}

/// Every subscription, looked at the period's point in time (shared by MRR, ARR and ARPA).
pub struct MrrAt;

impl Reading for MrrAt {
    type State = MrrSnapshot;

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::SubscriptionStart, span.end)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        subscription_route(record)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut MrrSnapshot, record: RecordRef<'a>) {
        let RecordRef::Subscription(s) = record else {
            return;
        };
        let t = ctx.point_in_time();
        if s.start_time > t {
            return;
        }
        if counted_at(s, t) {
            state.mrr.add(s.mrr);
            state.subscriptions += 1;
            state.customers.entry(&s.customer_id);
        } else {
            // Known but not paying at t: MRR 0 in its currency, not "no data".
            state.mrr.add_minor(s.mrr.currency, 0);
        }
    }
}

const NO_SUBSCRIPTIONS: &str = "subscriptions started by the evaluation instant";

/// What a point-in-time value is made of the MRR snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Snapshot {
    Mrr,
    Arr,
    Arpa,
}

/// The value of `mrr`, `arr` (12 × MRR) or `arpa` (MRR per paying customer).
fn snapshot_result(
    id: &str,
    state: &MrrSnapshot,
    what: Snapshot,
) -> Result<MetricResult, EvalError> {
    let customers = state.customers.len() as u64;
    let mut components = vec![
        Component::count("subscriptions", state.subscriptions),
        Component::count("customers", customers),
    ];
    let Some((currency, mrr)) = single_currency(id, &state.mrr)? else {
        return money_result(id, &state.mrr, None, NO_SUBSCRIPTIONS, components);
    };
    if what != Snapshot::Mrr {
        components.push(Component::money("mrr", exact_money(id, currency, mrr)?));
    }
    let mut sum = MoneySum::default();
    sum.add_minor(currency, if what == Snapshot::Arr { 12 * mrr } else { mrr });
    let paying = "paying customers at the evaluation instant";
    let count = (what == Snapshot::Arpa).then_some((customers, paying));
    money_result(id, &sum, count, paying, components)
}

/// Monthly recurring revenue at the period's point in time.
pub static MRR_METRIC: ReadingMetric<MrrAt> = ReadingMetric {
    definition: &MRR,
    reading: MrrAt,
    finalize: |definition, _, state| snapshot_result(definition.id, state, Snapshot::Mrr),
};

static MRR: MetricDefinition = definition(
    "mrr",
    "Monthly recurring revenue at an instant: the sum of the monthly-normalised amounts of non-trial subscriptions running then. The instant is the last instant of the window (of each bucket in a series), or as_of when earlier. 0 when subscriptions exist but none runs; NO_DATA when none had started.",
    "sum of mrr of non-trial subscriptions with start_time <= t < end_time (end_time absent: running), t = min(as_of, last instant of P)",
    (ValueKind::Money, "money", Direction::HigherIsBetter),
);

/// Annual recurring revenue: twelve times the MRR, exactly.
pub static ARR_METRIC: ReadingMetric<MrrAt> = ReadingMetric {
    definition: &ARR,
    reading: MrrAt,
    finalize: |definition, _, state| snapshot_result(definition.id, state, Snapshot::Arr),
};

static ARR: MetricDefinition = definition(
    "arr",
    "Annual recurring revenue: 12 × MRR at the same instant (exact, no rounding).",
    "12 × mrr(t), t = min(as_of, last instant of P)",
    (ValueKind::Money, "money", Direction::HigherIsBetter),
);

/// Average revenue per account: MRR per paying customer.
pub static ARPA_METRIC: ReadingMetric<MrrAt> = ReadingMetric {
    definition: &ARPA,
    reading: MrrAt,
    finalize: |definition, _, state| snapshot_result(definition.id, state, Snapshot::Arpa),
};

static ARPA: MetricDefinition = definition(
    "arpa",
    "Average revenue per account: MRR divided by the customers with at least one counted (non-trial, running) subscription at the same instant, rounded half to even to minor units.",
    "mrr(t) / customers with >= 1 counted subscription at t, t = min(as_of, last instant of P)",
    (ValueKind::Money, "money", Direction::HigherIsBetter),
);

/// MRR movements over the window, per movement.
pub static MRR_MOVEMENTS_METRIC: ReadingMetric<MrrChanges> = ReadingMetric {
    definition: &MRR_MOVEMENTS,
    reading: MrrChanges,
    finalize: movements_result,
};

/// Net revenue retention of the MRR paying at the window's start.
pub static NET_REVENUE_RETENTION_METRIC: ReadingMetric<MrrChanges> = ReadingMetric {
    definition: &NET_REVENUE_RETENTION,
    reading: MrrChanges,
    finalize: |definition, _, state| retention_result(definition.id, state, false),
};

/// Gross revenue retention of the MRR paying at the window's start.
pub static GROSS_REVENUE_RETENTION_METRIC: ReadingMetric<MrrChanges> = ReadingMetric {
    definition: &GROSS_REVENUE_RETENTION,
    reading: MrrChanges,
    finalize: |definition, _, state| retention_result(definition.id, state, true),
};

static MRR_MOVEMENTS: MetricDefinition = definition(
    "mrr_movements",
    "How MRR moved over the window, per customer: m0 = MRR just before the window's start, m1 = MRR at its last instant (or as_of when earlier). Entries start, new (m0 = 0 < m1, never paid before), reactivation (m0 = 0 < m1, paid before), expansion (m1 > m0 > 0), contraction (0 < m1 < m0), churn (m0 > 0 = m1) and end, each with its amount and customer count; start + new + reactivation + expansion − contraction − churn = end.",
    "per customer m0 = mrr(P.start − 1µs), m1 = mrr(min(as_of, last instant of P)); new/reactivation: m1 when m0 = 0 < m1 (paid before = a paying non-trial subscription with start_time < P.start); expansion: m1 − m0 when m1 > m0 > 0; contraction: m0 − m1 when 0 < m1 < m0; churn: m0 when m0 > 0 = m1",
    (ValueKind::Breakdown, "money", Direction::Neutral),
);

static NET_REVENUE_RETENTION: MetricDefinition = definition(
    "net_revenue_retention",
    "Net revenue retention: the MRR at the window's end of the customers paying just before its start, including their expansion, as a fraction of their MRR then.",
    "(m0_total + expansion − contraction − churn) / m0_total over customers with m0 > 0 (m0, m1 as in mrr_movements)",
    (ValueKind::Ratio, "fraction", Direction::HigherIsBetter),
);

static GROSS_REVENUE_RETENTION: MetricDefinition = definition(
    "gross_revenue_retention",
    "Gross revenue retention: the MRR of the customers paying just before the window's start that was kept (contraction and churn removed, expansion ignored), as a fraction of their MRR then.",
    "(m0_total − contraction − churn) / m0_total over customers with m0 > 0 (m0, m1 as in mrr_movements)",
    (ValueKind::Ratio, "fraction", Direction::HigherIsBetter),
);

/// The two instants of a period's movements: just before the window, and its point in time
/// (both never after `as_of`).
fn movement_instants(period: Period) -> (Timestamp, Timestamp) {
    let before = period.window.start - chrono::Duration::microseconds(1);
    (before.min(period.as_of), period.point_in_time())
}

/// One customer's MRR at the period's two instants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerMrr {
    m0: MoneySum,
    m1: MoneySum,
    paid_before: bool,
}

/// Per customer, m0, m1 and "paid before"; merged by adding sums and or-ing flags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MrrChangesState {
    customers: ById<CustomerMrr>,
}

impl State for MrrChangesState {
    fn merge(&mut self, other: &Self) {
        self.customers.merge_with(&other.customers, |ours, theirs| {
            ours.m0.merge(&theirs.m0);
            ours.m1.merge(&theirs.m1);
            ours.paid_before |= theirs.paid_before;
        });
    }
}

/// Every subscription, per customer at the period's two instants (shared by the movements and
/// the revenue retention rates).
pub struct MrrChanges;

impl Reading for MrrChanges {
    type State = MrrChangesState;

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::SubscriptionStart, span.end)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        subscription_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut MrrChangesState,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Subscription(s) = record else {
            return;
        };
        let (t0, t1) = movement_instants(ctx.period);
        if s.start_time > t1 {
            return;
        }
        let entry = state.customers.entry(&s.customer_id);
        let currency = s.mrr.currency;
        let at = |t| i128::from(s.mrr.minor_units) * i128::from(counted_at(s, t));
        entry.m0.add_minor(currency, at(t0));
        entry.m1.add_minor(currency, at(t1));
        entry.paid_before |= !s.trial
            && s.mrr.minor_units > 0
            && s.start_time < ctx.period.window.start
            && s.end_time.is_none_or(|end| end > s.start_time);
    }
}

/// The breakdown's entries: the movements between the start and end totals.
const ENTRIES: [&str; 7] = [
    "start",
    "new",
    "reactivation",
    "expansion",
    "contraction",
    "churn",
    "end",
];
const START: usize = 0;
const NEW: usize = 1;
const REACTIVATION: usize = 2;
const EXPANSION: usize = 3;
const CONTRACTION: usize = 4;
const CHURN: usize = 5;
const END: usize = 6;

/// The movement (index into [`ENTRIES`]) and its positive amount; `None` when unchanged. Total
/// over all inputs, so every change of MRR lands in exactly one movement.
fn classify(m0: i128, m1: i128, paid_before: bool) -> Option<(usize, i128)> {
    let movement = match (m0 > 0, m1 > 0) {
        _ if m0 == m1 => return None,
        (false, true) if paid_before => REACTIVATION,
        (false, true) => NEW,
        (true, false) => CHURN,
        _ if m1 > m0 => EXPANSION,
        _ => CONTRACTION,
    };
    Some((movement, (m1 - m0).abs()))
}

/// The totals of one period's movements, in one currency.
#[derive(Debug, Default)]
struct Tally {
    /// Amount and customers per entry of [`ENTRIES`] (start and end: customers with MRR > 0).
    entries: [(i128, u64); 7],
    unchanged: u64,
    /// The same amounts over the customers with m0 > 0 only (the revenue retention base).
    base: [i128; 7],
}

/// The amount of a single-currency sum (0 when empty).
fn amount(sum: &MoneySum) -> i128 {
    match sum.single() {
        Ok(Some((_, amount))) => amount,
        _ => 0,
    }
}

/// The tallied movements, `None` when no subscription had started (NO_DATA).
fn tally(metric: &str, state: &MrrChangesState) -> Result<Option<(Currency, Tally)>, EvalError> {
    let currencies: BTreeSet<Currency> = state
        .customers
        .values()
        .flat_map(|c| c.m0.currencies().into_iter().chain(c.m1.currencies()))
        .collect();
    if currencies.len() > 1 {
        return Err(mixed_currencies(metric, currencies));
    }
    let Some(currency) = currencies.first().copied() else {
        return Ok(None);
    };
    let mut t = Tally::default();
    for customer in state.customers.values() {
        let (m0, m1) = (amount(&customer.m0), amount(&customer.m1));
        let change = classify(m0, m1, customer.paid_before);
        t.unchanged += u64::from(change.is_none());
        let parts = [(START, m0), (END, m1)].into_iter().chain(change);
        for (index, value) in parts {
            let customers = &mut t.entries[index].1;
            *customers += u64::from(!matches!(index, START | END) || value > 0);
            t.entries[index].0 += value;
            if m0 > 0 {
                t.base[index] += value;
            }
        }
    }
    let e = t.entries.map(|(amount, _)| amount);
    let moved = e[NEW] + e[REACTIVATION] + e[EXPANSION] - e[CONTRACTION] - e[CHURN];
    debug_assert_eq!(e[START] + moved, e[END], "MRR movements identity");
    Ok(Some((currency, t)))
}

fn movements_result(
    definition: &'static MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &MrrChangesState,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
    let Some((currency, t)) = tally(id, state)? else {
        return Ok(no_data(NO_SUBSCRIPTIONS));
    };
    let entries = ENTRIES
        .iter()
        .zip(t.entries)
        .map(|(key, (value, customers))| {
            Ok(BreakdownEntry {
                key: (*key).to_owned(),
                value: Some(Value::Money(MoneyValue {
                    amount: exact_money(id, currency, value)?,
                    numerator: None,
                    denominator: None,
                })),
                components: vec![Component::count("customers", customers)],
            })
        })
        .collect::<Result<Vec<_>, EvalError>>()?;
    let components = vec![
        Component::count("customers", state.customers.len() as u64),
        Component::count("unchanged", t.unchanged),
    ];
    Ok(MetricResult::value(Value::Breakdown(entries), components))
}

/// A revenue retention ratio; `gross` leaves expansion out of the numerator.
fn retention_result(
    id: &str,
    state: &MrrChangesState,
    gross: bool,
) -> Result<MetricResult, EvalError> {
    let Some((currency, t)) = tally(id, state)? else {
        return Ok(no_data(NO_SUBSCRIPTIONS));
    };
    let mut components = Vec::new();
    for (name, index) in [
        ("m0_total", START),
        ("expansion", EXPANSION),
        ("contraction", CONTRACTION),
        ("churn", CHURN),
    ] {
        let value = exact_money(id, currency, t.base[index])?;
        components.push(Component::money(name, value));
    }
    components.push(Component::count("customers_at_start", t.entries[START].1));
    let (base, expansion) = (t.base[START], t.base[EXPANSION]);
    if base == 0 {
        return Ok(MetricResult::undefined(
            UndefinedReason::ZeroDenominator,
            "no MRR just before the window start",
            components,
        ));
    }
    let kept = base - t.base[CONTRACTION] - t.base[CHURN] + if gross { 0 } else { expansion };
    Ok(MetricResult::ratio(
        kept as f64,
        base as f64,
        "MRR at the window start",
        components,
    ))
}

fn no_data(what: &str) -> MetricResult {
    MetricResult::undefined(UndefinedReason::NoData, format!("no {what}"), Vec::new())
}

#[cfg(test)]
#[path = "tests/subscriptions.rs"]
mod tests;
