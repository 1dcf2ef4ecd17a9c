//! Return on the CRM investment: `crm_roi` (docs/metrics.md).
//!
//! The gain is the caller's `gain` parameter when given, else the revenue growth over the
//! previous period of equal calendar length times `gross_margin`. Both the window's and the
//! previous period's orders are folded into each period's state (orders are routed everywhere),
//! so a series bucket compares itself with the bucket-length period before it.

use crate::calendar::{Window, previous_window};
use crate::catalog::{
    Direction, MetricDefinition, ParamDefault, ParamKind, ParameterDefinition, Settings, Term,
    UndefinedCase, ValueKind,
};
use crate::context::RecordRef;
use crate::currency::minor_unit_digits;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, Route, State};
use crate::money::MoneySum;
use crate::query::Problem;
use crate::records::{CostCategory, RecordKind, Timestamp};
use crate::value::{Component, EvalError, MetricResult, UndefinedReason};
use crate::value::{mixed_currencies, single_currency};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&CRM_ROI];

/// The gain attributed to the CRM, overriding the revenue-growth estimate.
const GAIN: ParameterDefinition = ParameterDefinition {
    name: "gain",
    description: "the gain attributed to the CRM, in major units of the investment's currency (e.g. 50000 for 50,000.00 USD); overrides the revenue-growth estimate",
    kind: ParamKind::Number,
    default: None,
    positive: false,
};

/// The share of revenue growth counted as gain.
const GROSS_MARGIN: ParameterDefinition = ParameterDefinition {
    name: "gross_margin",
    description: "share of revenue growth counted as gain, 0..1",
    kind: ParamKind::Number,
    default: Some(ParamDefault::Number(1.0)),
    positive: false,
};

/// `(gain − investment) / investment`.
pub static CRM_ROI: Declaration<InvestmentAndRevenue> = Declaration {
    definition: MetricDefinition {
        id: "crm_roi",
        family: "revenue",
        version: 1,
        description: "Return on the CRM investment in the window: the gain net of the investment, per unit invested. The gain is the `gain` parameter (in major units of the investment's currency) when given, else the revenue growth over the previous period of equal calendar length times `gross_margin`.",
        formula: "(gain − investment) / investment; investment = sum of Cost with category CRM_INVESTMENT in P; gain = parameter gain, else (revenue(P) − revenue(previous period)) × gross_margin",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: &[RecordKind::Cost, RecordKind::Order],
        primary: &[RecordKind::Cost, RecordKind::Order],
        policies: &[],
        parameters: &[GAIN, GROSS_MARGIN],
        components: &[
            Term {
                name: "investment_minor_units",
                description: "the CRM investment in the window (costs with category CRM_INVESTMENT), in minor units; absent when there is none",
            },
            Term {
                name: "revenue_minor_units",
                description: "only without the gain parameter: the revenue (order amounts) in the window, in minor units",
            },
            Term {
                name: "previous_revenue_minor_units",
                description: "only without the gain parameter: the revenue in the previous period of equal calendar length, in minor units",
            },
            Term {
                name: "gain_minor_units",
                description: "the gain in minor units: the gain parameter, else (revenue_minor_units − previous_revenue_minor_units) × gross_margin; absent when there is no investment",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no CRM investment cost was incurred in the window, or the window's CRM investment costs sum to zero",
        }],
    },
    reading: InvestmentAndRevenue,
    finalize: crm_roi_result,
    relate_group: None,
};

/// The investment in the window and the revenue of the window and of the period before it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoiState {
    investment: MoneySum,
    revenue: MoneySum,
    previous_revenue: MoneySum,
}

impl State for RoiState {
    fn merge(&mut self, other: &Self) {
        self.investment.merge(&other.investment);
        self.revenue.merge(&other.revenue);
        self.previous_revenue.merge(&other.previous_revenue);
    }
}

/// CRM investment costs by `incurred_time`, and orders of the window and of its previous period.
pub struct InvestmentAndRevenue;

impl Reading for InvestmentAndRevenue {
    type State = RoiState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        // An order counts in the period containing it and, as previous revenue, in the period
        // after it: orders are routed everywhere (costs only by `incurred_time`, see `route`).
        CountedBy::State
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        match settings.number(&GROSS_MARGIN) {
            Some(m) if !(0.0..=1.0).contains(&m) => vec![Problem::new(
                format!("{path}.parameters[{}]", GROSS_MARGIN.name),
                "gross_margin must lie in 0..1",
            )],
            _ => Vec::new(),
        }
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::within(TimeField::CostIncurred, span);
        // The previous period of any period in the span starts at most a span (plus a month's
        // slack for calendar months of different lengths) before it.
        let reach = span.duration() + chrono::Duration::days(31);
        plan.read_bounded(TimeBound {
            field: TimeField::OrderOrdered,
            from: Some(span.start - reach),
            until: Some(span.end),
        });
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        // Only CRM investment costs count, in the periods containing their `incurred_time`.
        match record {
            RecordRef::Cost(c) if c.category == CostCategory::CrmInvestment => {
                Route::At(c.incurred_time)
            }
            RecordRef::Order(_) => Route::Everywhere,
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut RoiState, record: RecordRef<'a>) {
        let window = ctx.period.window;
        match record {
            RecordRef::Cost(c)
                if c.category == CostCategory::CrmInvestment
                    && window.contains(c.incurred_time) =>
            {
                state.investment.add(c.amount);
            }
            RecordRef::Order(o) if window.contains(o.ordered_time) => state.revenue.add(o.amount),
            RecordRef::Order(o)
                if previous_window(window, ctx.period.time_zone).contains(o.ordered_time) =>
            {
                state.previous_revenue.add(o.amount);
            }
            _ => {}
        }
    }
}

/// The value of `crm_roi`.
fn crm_roi_result(
    definition: &MetricDefinition,
    ctx: &FoldContext<'_, '_>,
    state: &RoiState,
) -> Result<MetricResult, EvalError> {
    let Some((currency, investment)) = single_currency(definition.id, &state.investment)? else {
        return Ok(MetricResult::undefined(
            UndefinedReason::ZeroDenominator,
            "no CRM investment in the window",
            Vec::new(),
        ));
    };
    let mut components = vec![Component::number(
        "investment_minor_units",
        investment as f64,
    )];
    let gain = match ctx.settings.number(&GAIN) {
        Some(major) => major * 10f64.powi(minor_unit_digits(currency) as i32),
        None => {
            // Revenue and investment must share one currency (convert with reporting_currency).
            let mut currencies = state.revenue.currencies();
            currencies.extend(state.previous_revenue.currencies());
            currencies.push(currency);
            currencies.sort_unstable();
            currencies.dedup();
            if currencies.len() > 1 {
                return Err(mixed_currencies(definition.id, currencies));
            }
            let sum = |s: &MoneySum| s.single().ok().flatten().map_or(0, |(_, v)| v);
            let (now, before) = (sum(&state.revenue), sum(&state.previous_revenue));
            components.push(Component::number("revenue_minor_units", now as f64));
            components.push(Component::number(
                "previous_revenue_minor_units",
                before as f64,
            ));
            (now - before) as f64 * ctx.settings.number(&GROSS_MARGIN).unwrap_or(1.0)
        }
    };
    components.push(Component::number("gain_minor_units", gain));
    Ok(MetricResult::ratio(
        gain - investment as f64,
        investment as f64,
        "CRM investment",
        components,
    ))
}

#[cfg(test)]
#[path = "tests/roi.rs"]
mod tests;
