//! The subscription metrics over two instants of each period: `mrr_movements`,
//! `net_revenue_retention` and `gross_revenue_retention`, from one customer's MRR just before the
//! window (m0) and at its point in time (m1).

use std::collections::BTreeSet;

use super::{
    NO_SUBSCRIPTIONS, NONE_STARTED, SUBSCRIPTIONS, counted_at, subscriptions_started_before,
};
use crate::by_id::ById;
use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::ReadPlan;
use crate::eval::{CountedBy, Declaration, FoldContext, Period, Reading, State};
use crate::money::{Currency, MoneySum};
use crate::records::Timestamp;
use crate::value::{
    BreakdownEntry, Component, EvalError, MetricResult, MoneyValue, UndefinedReason, Value,
    exact_money, mixed_currencies,
};

/// MRR movements over the window, per movement.
pub static MRR_MOVEMENTS: Declaration<MrrChanges> = Declaration {
    definition: MetricDefinition {
        id: "mrr_movements",
        family: "subscriptions",
        version: 1,
        description: "How MRR moved over the window, per customer: m0 = MRR just before the window's start, m1 = MRR at its last instant (or as_of when earlier). Entries start, new (m0 = 0 < m1, never paid before), reactivation (m0 = 0 < m1, paid before), expansion (m1 > m0 > 0), contraction (0 < m1 < m0), churn (m0 > 0 = m1) and end, each with its amount and customer count; start + new + reactivation + expansion − contraction − churn = end.",
        formula: "per customer m0 = mrr(P.start − 1µs), m1 = mrr(min(as_of, last instant of P)); new/reactivation: m1 when m0 = 0 < m1 (paid before = a paying non-trial subscription with start_time < P.start); expansion: m1 − m0 when m1 > m0 > 0; contraction: m0 − m1 when 0 < m1 < m0; churn: m0 when m0 > 0 = m1",
        value_kind: ValueKind::Breakdown,
        unit: "money",
        direction: Direction::Neutral,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "customers",
                description: "customers with a subscription (trial or not) started by the evaluation instant; in each entry, the customers of that movement (start and end: those paying then)",
            },
            Term {
                name: "unchanged",
                description: "customers whose MRR did not change (m0 = m1)",
            },
        ],
        breakdown_keys: &[
            Term {
                name: "start",
                description: "the MRR just before the window's start (m0)",
            },
            Term {
                name: "new",
                description: "m1 of customers going from 0 to paying who had never paid before",
            },
            Term {
                name: "reactivation",
                description: "m1 of customers going from 0 to paying who had paid before the window",
            },
            Term {
                name: "expansion",
                description: "m1 − m0 of paying customers paying more",
            },
            Term {
                name: "contraction",
                description: "m0 − m1 of paying customers paying less but not 0",
            },
            Term {
                name: "churn",
                description: "m0 of customers no longer paying",
            },
            Term {
                name: "end",
                description: "the MRR at the evaluation instant (m1)",
            },
        ],
        undefined: &[NONE_STARTED],
    },
    reading: MrrChanges,
    finalize: mrr_movements_result,
    relate_group: None,
};

/// The components of both revenue retention rates.
const RETENTION_COMPONENTS: &[Term] = &[
    Term {
        name: "m0_total",
        description: "the MRR just before the window's start of the customers paying then",
    },
    Term {
        name: "expansion",
        description: "their expansion (gross retention reports it but leaves it out)",
    },
    Term {
        name: "contraction",
        description: "their contraction",
    },
    Term {
        name: "churn",
        description: "the MRR of those of them no longer paying",
    },
    Term {
        name: "customers_at_start",
        description: "customers paying just before the window's start",
    },
];

/// Why a revenue retention rate has no denominator.
const NOTHING_AT_START: UndefinedCase = UndefinedCase {
    reason: UndefinedReason::ZeroDenominator,
    when: "subscriptions had started by the evaluation instant, but no MRR was paid just before the window's start",
};

/// Why a revenue retention (net or gross) has no value: the two read the same MRR changes.
const RETENTION_UNDEFINED: &[UndefinedCase] = &[NONE_STARTED, NOTHING_AT_START];

/// Net revenue retention of the MRR paying at the window's start.
pub static NET_REVENUE_RETENTION: Declaration<MrrChanges> = Declaration {
    definition: MetricDefinition {
        id: "net_revenue_retention",
        family: "subscriptions",
        version: 1,
        description: "Net revenue retention: the MRR at the window's end of the customers paying just before its start, including their expansion, as a fraction of their MRR then.",
        formula: "(m0_total + expansion − contraction − churn) / m0_total over customers with m0 > 0 (m0, m1 as in mrr_movements)",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: RETENTION_COMPONENTS,
        breakdown_keys: &[],
        undefined: RETENTION_UNDEFINED,
    },
    reading: MrrChanges,
    finalize: |definition, _, state| retention_result(definition.id, state, false),
    relate_group: None,
};

/// Gross revenue retention of the MRR paying at the window's start.
pub static GROSS_REVENUE_RETENTION: Declaration<MrrChanges> = Declaration {
    definition: MetricDefinition {
        id: "gross_revenue_retention",
        family: "subscriptions",
        version: 1,
        description: "Gross revenue retention: the MRR of the customers paying just before the window's start that was kept (contraction and churn removed, expansion ignored), as a fraction of their MRR then.",
        formula: "(m0_total − contraction − churn) / m0_total over customers with m0 > 0 (m0, m1 as in mrr_movements)",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: RETENTION_COMPONENTS,
        breakdown_keys: &[],
        undefined: RETENTION_UNDEFINED,
    },
    reading: MrrChanges,
    finalize: |definition, _, state| retention_result(definition.id, state, true),
    relate_group: None,
};

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

    /// A subscription counts at every instant it runs, whatever the period.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        subscriptions_started_before(span)
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
pub(super) const ENTRIES: [&str; 7] = [
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

/// The value of `mrr_movements`.
fn mrr_movements_result(
    definition: &MetricDefinition,
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
