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
//! - [`MrrChanges`](movements::MrrChanges) (`mrr_movements`, NRR, GRR; in `movements.rs`): per
//!   customer, m0 and m1 (MRR at the period's two instants) and whether the customer paid before
//!   the period. Each customer is classified once, so `start + new + reactivation + expansion −
//!   contraction − churn = end` holds by construction (and is checked when finalizing).
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

use crate::by_id::ById;

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, Settings, Term, UndefinedCase, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::money::MoneySum;
use crate::records::{RecordKind, Subscription, Timestamp};
use crate::value::{
    Component, EvalError, MetricResult, UndefinedReason, exact_money, money_result, single_currency,
};

mod movements;

pub use movements::{GROSS_REVENUE_RETENTION, MRR_MOVEMENTS, NET_REVENUE_RETENTION};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[
    &MRR,
    &ARR,
    &ARPA,
    &MRR_MOVEMENTS,
    &NET_REVENUE_RETENTION,
    &GROSS_REVENUE_RETENTION,
];

/// Every subscription metric reads (and filters and groups) subscriptions only, and so does
/// `renewal_rate` (in `renewals`).
pub(super) const SUBSCRIPTIONS: &[RecordKind] = &[RecordKind::Subscription];

/// The subscriptions started before the span's end: any of them may run at a period's instants.
fn subscriptions_started_before(span: Window) -> ReadPlan {
    ReadPlan::before(TimeField::SubscriptionStart, span.end)
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

    /// A subscription counts at every instant it runs, whatever the period.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        subscriptions_started_before(span)
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

/// The subscriptions counted at the evaluation instant: a component of every point-in-time value.
const RUNNING_SUBSCRIPTIONS: Term = Term {
    name: "subscriptions",
    description: "non-trial subscriptions running at the evaluation instant",
};

/// Their customers: a component of every point-in-time value.
const PAYING_CUSTOMERS: Term = Term {
    name: "customers",
    description: "customers with at least one of them",
};

/// The MRR a point-in-time value is made of, as a component.
const MRR_COMPONENT: Term = Term {
    name: "mrr",
    description: "the MRR at the evaluation instant; only when a subscription had started by then",
};

/// Why a subscription metric (a point-in-time value, or a value over the movements) has no data.
const NONE_STARTED: UndefinedCase = UndefinedCase {
    reason: UndefinedReason::NoData,
    when: "no subscription, trial or not, had started by the evaluation instant",
};

/// Monthly recurring revenue at the period's point in time.
pub static MRR: Declaration<MrrAt> = Declaration {
    definition: MetricDefinition {
        id: "mrr",
        family: "subscriptions",
        version: 1,
        description: "Monthly recurring revenue at an instant: the sum of the monthly-normalised amounts of non-trial subscriptions running then. The instant is the last instant of the window (of each bucket in a series), or as_of when earlier. 0 when subscriptions exist but none runs; NO_DATA when none had started.",
        formula: "sum of mrr of non-trial subscriptions with start_time <= t < end_time (end_time absent: running), t = min(as_of, last instant of P)",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: &[RUNNING_SUBSCRIPTIONS, PAYING_CUSTOMERS],
        breakdown_keys: &[],
        undefined: &[NONE_STARTED],
    },
    reading: MrrAt,
    finalize: |definition, _, state| snapshot_result(definition.id, state, Snapshot::Mrr),
    relate_group: None,
};

/// Annual recurring revenue: twelve times the MRR, exactly.
pub static ARR: Declaration<MrrAt> = Declaration {
    definition: MetricDefinition {
        id: "arr",
        family: "subscriptions",
        version: 1,
        description: "Annual recurring revenue: 12 × MRR at the same instant (exact, no rounding).",
        formula: "12 × mrr(t), t = min(as_of, last instant of P)",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: &[RUNNING_SUBSCRIPTIONS, PAYING_CUSTOMERS, MRR_COMPONENT],
        breakdown_keys: &[],
        undefined: &[NONE_STARTED],
    },
    reading: MrrAt,
    finalize: |definition, _, state| snapshot_result(definition.id, state, Snapshot::Arr),
    relate_group: None,
};

/// Average revenue per account: MRR per paying customer.
pub static ARPA: Declaration<MrrAt> = Declaration {
    definition: MetricDefinition {
        id: "arpa",
        family: "subscriptions",
        version: 1,
        description: "Average revenue per account: MRR divided by the customers with at least one counted (non-trial, running) subscription at the same instant, rounded half to even to minor units.",
        formula: "mrr(t) / customers with >= 1 counted subscription at t, t = min(as_of, last instant of P)",
        value_kind: ValueKind::Money,
        unit: "money",
        direction: Direction::HigherIsBetter,
        reads: SUBSCRIPTIONS,
        primary: SUBSCRIPTIONS,
        policies: &[],
        parameters: &[],
        components: &[
            RUNNING_SUBSCRIPTIONS,
            PAYING_CUSTOMERS,
            MRR_COMPONENT,
            Term {
                name: "total",
                description: "the MRR that had no customer to divide among; only when none pays at the evaluation instant",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            NONE_STARTED,
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "subscriptions had started by the evaluation instant, but none runs then (trials, ended)",
            },
        ],
    },
    reading: MrrAt,
    finalize: |definition, _, state| snapshot_result(definition.id, state, Snapshot::Arpa),
    relate_group: None,
};

#[cfg(test)]
#[path = "tests/subscriptions.rs"]
mod tests;
