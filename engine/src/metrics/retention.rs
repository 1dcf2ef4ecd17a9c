//! Retention and churn: `customer_churn_rate` and `customer_retention_rate` (docs/metrics.md).
//!
//! Both are customer-state metrics: every customer is routed to every period and `fold` classifies
//! it against the period's window (active at `P.start`, active at the last instant of P, new in P,
//! churned in P). The state is a handful of counts, so states merge exactly in any order.
//!
//! Churn base at the window's edges: the churn rate's denominator is the customers active at
//! `P.start`, except that (a) a customer acquired and churned within P counts in neither side, even
//! when acquired exactly at `P.start`, and (b) a customer churned exactly at `P.start` (acquired
//! before) is churned in P and so also counts in the base, keeping churned ⊆ base (the rate never
//! exceeds 1, and a churn at a midnight bucket boundary is counted in exactly one bucket).
//! Retention's N is, by default, "new in P and still active at its end" (E's members that were
//! not in S), so `E − N` is exactly the customers of `P.start` still there at the end. Read
//! literally ("acquired in P"), a customer acquired and lost inside P would be subtracted without
//! ever being in E, understating retention and even driving it negative; churn already counts such
//! customers in neither side, and retention follows the same rule. The policy
//! `new_customers = acquired_in_window` gives the formula exactly as the sources print it, for
//! users reconciling with a spreadsheet built that way.

use crate::calendar::Window;
use crate::catalog::{
    Choice, Direction, MetricDefinition, PolicyDefinition, Settings, Term, UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Period, Reading, State};
use crate::records::{Customer, RecordKind, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&CUSTOMER_CHURN_RATE, &CUSTOMER_RETENTION_RATE];

/// Both metrics read (and filter and group) customers only.
const CUSTOMER_KINDS: &[RecordKind] = &[RecordKind::Customer];

/// Why both metrics have no data.
const NO_CUSTOMER_YET: UndefinedCase = UndefinedCase {
    reason: UndefinedReason::NoData,
    when: "no customer was acquired before the window's end",
};

/// Whether the customer is active at `t`: acquired at or before `t` and not churned by `t`.
fn active_at(customer: &Customer, t: Timestamp) -> bool {
    customer.acquired_time <= t && customer.churned_time.is_none_or(|churned| churned > t)
}

/// The customer-state counts of one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerCounts {
    /// Customers acquired before the window ends (none: the period has no customer data).
    known: u64,
    /// S: active at `P.start`.
    active_at_start: u64,
    /// E: active at the last instant of P.
    active_at_end: u64,
    /// Active at both `P.start` and the last instant of P.
    retained: u64,
    /// N: acquired in P.
    new: u64,
    /// Churned in P and acquired before `P.start`.
    churned: u64,
    /// Acquired and churned within P (counted in neither side of the churn rate).
    acquired_and_churned: u64,
    /// Acquired before `P.start` and churned exactly at `P.start`: churned in P, though not
    /// active at `P.start` under the strict `churned_time > t` rule.
    churned_at_start: u64,
    /// The churn rate's denominator: the customers that could churn in P.
    churn_base: u64,
}

impl State for CustomerCounts {
    fn merge(&mut self, other: &Self) {
        self.known += other.known;
        self.active_at_start += other.active_at_start;
        self.active_at_end += other.active_at_end;
        self.retained += other.retained;
        self.new += other.new;
        self.churned += other.churned;
        self.acquired_and_churned += other.acquired_and_churned;
        self.churned_at_start += other.churned_at_start;
        self.churn_base += other.churn_base;
    }
}

/// Classifies one customer against `period` and counts it.
fn count_customer(period: Period, counts: &mut CustomerCounts, record: RecordRef<'_>) {
    let RecordRef::Customer(c) = record else {
        return;
    };
    let window = period.window;
    if c.acquired_time >= window.end {
        return;
    }
    let at_start = active_at(c, window.start);
    let at_end = active_at(c, period.last_instant());
    let new = window.contains(c.acquired_time);
    let churned_in_window = window.contains_opt(c.churned_time);
    let churned = churned_in_window && c.acquired_time < window.start;
    let acquired_and_churned = new && churned_in_window;
    let churned_at_start = churned && c.churned_time == Some(window.start);
    counts.known += 1;
    counts.active_at_start += u64::from(at_start);
    counts.active_at_end += u64::from(at_end);
    counts.retained += u64::from(at_start && at_end);
    counts.new += u64::from(new);
    counts.churned += u64::from(churned);
    counts.acquired_and_churned += u64::from(acquired_and_churned);
    counts.churned_at_start += u64::from(churned_at_start);
    // Active at the start, plus those churning exactly at the start (so that churned ⊆ base),
    // minus those acquired and churned within the window (which count in neither).
    counts.churn_base += u64::from((at_start || churned_at_start) && !acquired_and_churned);
}

/// NO_DATA when no customer existed before the window ended, ZERO_DENOMINATOR otherwise.
fn no_base(counts: &CustomerCounts, components: Vec<Component>) -> MetricResult {
    if counts.known == 0 {
        MetricResult::undefined(
            UndefinedReason::NoData,
            "no customers acquired before the window end",
            components,
        )
    } else {
        MetricResult::undefined(
            UndefinedReason::ZeroDenominator,
            "no customers active at the window start",
            components,
        )
    }
}

/// Share of the customers active at the start of the window who churned in it.
pub static CUSTOMER_CHURN_RATE: Declaration<CustomerStates> = Declaration {
    definition: MetricDefinition {
        id: "customer_churn_rate",
        family: "retention",
        version: 1,
        description: "Share of the customers active at the start of the window who churned in the window. Customers both acquired and churned within the window count in neither the numerator nor the denominator.",
        formula: "customers churned in P (churned_time in P, acquired_time < P.start) / customers active at P.start (acquired_time <= P.start, churned_time absent or > P.start; a customer churned exactly at P.start is included, one acquired and churned within P is not)",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::LowerIsBetter,
        reads: CUSTOMER_KINDS,
        primary: CUSTOMER_KINDS,
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "active_at_start",
                description: "customers active at the window's start (churned_time strictly after it)",
            },
            Term {
                name: "churned",
                description: "customers acquired before the window's start and churned in the window (the numerator)",
            },
            Term {
                name: "churned_at_start",
                description: "of the churned, those churned exactly at the window's start (in the denominator though not active at the start)",
            },
            Term {
                name: "new",
                description: "customers acquired in the window",
            },
            Term {
                name: "acquired_and_churned",
                description: "customers acquired and churned within the window (in neither side)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            NO_CUSTOMER_YET,
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "customers exist but none could churn in the window: none was active at its start or churned exactly at it, leaving aside those acquired and churned within it",
            },
        ],
    },
    reading: CustomerStates,
    finalize: customer_churn_rate_result,
    relate_group: None,
};

/// Every customer, classified against each period's window (shared by churn and retention).
pub struct CustomerStates;

impl Reading for CustomerStates {
    type State = CustomerCounts;

    /// Customers count against any period (their state at its edges).
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Every customer acquired before the span ends (later ones exist in no period of it).
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::CustomerAcquired, span.end)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut CustomerCounts,
        record: RecordRef<'a>,
    ) {
        count_customer(ctx.period, state, record);
    }
}

/// The value of `customer_churn_rate` from the shared state.
fn customer_churn_rate_result(
    _definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &CustomerCounts,
) -> Result<MetricResult, EvalError> {
    let components = vec![
        Component::count("active_at_start", state.active_at_start),
        Component::count("churned", state.churned),
        Component::count("churned_at_start", state.churned_at_start),
        Component::count("new", state.new),
        Component::count("acquired_and_churned", state.acquired_and_churned),
    ];
    if state.churn_base == 0 {
        return Ok(no_base(state, components));
    }
    Ok(MetricResult::ratio(
        state.churned as f64,
        state.churn_base as f64,
        "customers active at the window start",
        components,
    ))
}

/// Which new customers retention's N subtracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewCustomers {
    /// The customers acquired in the window and still active at its end (E's members not
    /// active at its start).
    StillActive,
    /// Every customer acquired in the window, as the formula is usually printed.
    AcquiredInWindow,
}

impl Choice for NewCustomers {
    const POLICY: PolicyDefinition = PolicyDefinition {
        name: "new_customers",
        description: "still_active: N counts the customers acquired in the window and still active at its end, so E − N is exactly the customers of the window's start still there; acquired_in_window: N counts every customer acquired in the window, as the formula is usually printed, which also subtracts customers acquired and lost inside the window (they were never in E) and so can understate retention, even below zero",
        values: &["still_active", "acquired_in_window"],
        default: "still_active",
    };
    const ALL: &'static [NewCustomers] =
        &[NewCustomers::StillActive, NewCustomers::AcquiredInWindow];
}

/// `(E − N) / S`: the classic customer retention rate, with N the new customers still active.
pub static CUSTOMER_RETENTION_RATE: Declaration<CustomerStates> = Declaration {
    definition: MetricDefinition {
        id: "customer_retention_rate",
        family: "retention",
        version: 1,
        description: "Customer retention rate: the share of the customers active at the window's start that are still active at its last instant. By default new customers acquired and lost inside the window count in neither side, as for churn; the policy new_customers = acquired_in_window subtracts every customer acquired in the window, as the formula is usually printed.",
        formula: "(E − N) / S; S = customers active at P.start, E = customers active at the last instant of P, N = still_active (default): customers of E not active at P.start (new in P and still active at its end); acquired_in_window: every customer acquired in P (acquired_time in P), so the value can fall below zero",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: CUSTOMER_KINDS,
        primary: CUSTOMER_KINDS,
        policies: &[NewCustomers::POLICY],
        parameters: &[],
        components: &[
            Term {
                name: "active_at_start",
                description: "S: customers active at the window's start",
            },
            Term {
                name: "active_at_end",
                description: "E: customers active at the window's last instant",
            },
            Term {
                name: "new_still_active",
                description: "customers of E not active at the window's start (N under still_active)",
            },
            Term {
                name: "retained",
                description: "customers active at both the window's start and its last instant (E − N under still_active)",
            },
            Term {
                name: "acquired",
                description: "customers acquired in the window (N under acquired_in_window)",
            },
        ],
        breakdown_keys: &[],
        undefined: &[
            NO_CUSTOMER_YET,
            UndefinedCase {
                reason: UndefinedReason::ZeroDenominator,
                when: "customers exist but none was active at the window's start",
            },
        ],
    },
    reading: CustomerStates,
    finalize: customer_retention_rate_result,
    relate_group: None,
};

/// The value of `customer_retention_rate` from the shared state.
fn customer_retention_rate_result(
    _definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &CustomerCounts,
) -> Result<MetricResult, EvalError> {
    let components = vec![
        Component::count("active_at_start", state.active_at_start),
        Component::count("active_at_end", state.active_at_end),
        Component::count("new_still_active", state.active_at_end - state.retained),
        Component::count("retained", state.retained),
        Component::count("acquired", state.new),
    ];
    if state.active_at_start == 0 {
        return Ok(no_base(state, components));
    }
    let numerator = match ctx.settings.choice::<NewCustomers>() {
        // E − N with N = every customer acquired in P, as printed.
        NewCustomers::AcquiredInWindow => state.active_at_end as f64 - state.new as f64,
        // E − N with N = E's members not active at the start: the retained customers.
        NewCustomers::StillActive => state.retained as f64,
    };
    Ok(MetricResult::ratio(
        numerator,
        state.active_at_start as f64,
        "customers active at the window start",
        components,
    ))
}

#[cfg(test)]
#[path = "tests/retention.rs"]
mod tests;
