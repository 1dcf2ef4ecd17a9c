//! Open pipeline: `pipeline_value` and `weighted_pipeline_value` (docs/metrics.md).
//!
//! Both are point-in-time metrics. The spec evaluates them at `as_of`; the engine evaluates each
//! period at [`Period::point_in_time`](crate::eval::Period::point_in_time) = min(`as_of`, the
//! period's last instant), which is `as_of` whenever the window contains it and gives a series the
//! pipeline as it stood at the end of each bucket. A deal is *open at t* when `created_time <= t`
//! and it had not closed by `t` (the `as_of` view already reopens deals closed after `as_of`).

use super::deals::DEAL_KINDS;
use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamKind, ParameterDefinition, Settings, Term, UndefinedCase,
    ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeField};
use crate::eval::{CountedBy, Declaration, FoldContext, Metric, Reading, State};
use crate::money::{Money, MoneySum, divide_half_even};
use crate::query::Problem;
use crate::records::{Deal, Timestamp};
use crate::value::{
    Component, EvalError, MetricResult, MoneyValue, UndefinedReason, Value, money_result,
};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] = &[&PIPELINE_VALUE, &WEIGHTED_PIPELINE_VALUE];

/// The deal when it is open at the period's evaluation instant.
fn open_deal<'a>(record: RecordRef<'a>, ctx: &FoldContext<'a, '_>) -> Option<&'a Deal> {
    let RecordRef::Deal(deal) = record else {
        return None;
    };
    let t = ctx.point_in_time();
    let open = deal.created_time <= t && deal.closed_time.is_none_or(|closed| closed > t);
    open.then_some(deal)
}

/// The deal's stage at `t`: the last stage entered by `t`, else its current stage.
fn stage_at(deal: &Deal, t: Timestamp) -> &str {
    deal.stage_history
        .iter()
        .rev()
        .find(|entry| entry.entered_time <= t)
        .map_or(deal.stage.as_str(), |entry| entry.stage.as_str())
}

/// The deals created before the span's end: any of them may be open at a period's instant (here),
/// or enter or leave a stage in a period (`funnel`).
pub(super) fn deals_created_before(span: Window) -> ReadPlan {
    ReadPlan::before(TimeField::DealCreated, span.end)
}

/// Sum of the amounts of open deals.
pub static PIPELINE_VALUE: Declaration<OpenDeals> = Declaration {
    definition: MetricDefinition {
        id: "pipeline_value",
        family: "sales",
        version: 1,
        description: "The total amount of the deals open at the evaluation instant (created by then and not yet won or lost). Evaluated at min(as_of, the last instant of the window or bucket): at as_of whenever the window contains it, at each bucket's end in a series.",
        formula: "sum of amounts of deals with created_time <= t and no closed_time <= t, t = min(as_of, last instant of P)",
        value_kind: ValueKind::Money,
        unit: "currency",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[],
        components: &[Term {
            name: "open_deals",
            description: "deals open at the evaluation instant",
        }],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no deal is open at the evaluation instant",
        }],
    },
    reading: OpenDeals,
    finalize: pipeline_value_result,
    relate_group: None,
};

/// Exact sum of open amounts and the number of open deals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipelineState {
    amount: MoneySum,
    open: u64,
}

impl State for PipelineState {
    fn merge(&mut self, other: &Self) {
        self.amount.merge(&other.amount);
        self.open += other.open;
    }
}

/// The deals open at the period's evaluation instant, and their amounts.
pub struct OpenDeals;

impl Reading for OpenDeals {
    type State = PipelineState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        deals_created_before(span)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut PipelineState,
        record: RecordRef<'a>,
    ) {
        if let Some(deal) = open_deal(record, ctx) {
            state.amount.add(deal.amount);
            state.open += 1;
        }
    }
}

/// The value of `pipeline_value`.
fn pipeline_value_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &PipelineState,
) -> Result<MetricResult, EvalError> {
    let components = vec![Component::count("open_deals", state.open)];
    money_result(definition.id, &state.amount, None, "open deals", components)
}

/// The default win probability per stage, for deals without their own.
const STAGE_PROBABILITIES: ParameterDefinition = ParameterDefinition {
    name: "stage_probabilities",
    description: "stage name → default win probability in whole percent (0–100), for deals without their own probability",
    kind: ParamKind::NumberMap,
    default: None,
    positive: false,
};

/// Sum of open amounts weighted by win probability.
pub static WEIGHTED_PIPELINE_VALUE: Declaration<WeightedOpenDeals> = Declaration {
    definition: MetricDefinition {
        id: "weighted_pipeline_value",
        family: "sales",
        version: 1,
        description: "The open pipeline weighted by win probability: each open deal counts amount × probability / 100, using the deal's own probability, else its stage's default from stage_probabilities (the stage the deal was in at the evaluation instant); deals with neither are left out and counted. Summed exactly and rounded half to even once. Evaluated at min(as_of, the last instant of the window or bucket): at as_of whenever the window contains it, at each bucket's end in a series.",
        formula: "sum(amount × probability_percent) / 100 over deals open at t = min(as_of, last instant of P); probability_percent = deal's probability, else stage_probabilities[stage at t], else excluded",
        value_kind: ValueKind::Money,
        unit: "currency",
        direction: Direction::HigherIsBetter,
        reads: DEAL_KINDS,
        primary: DEAL_KINDS,
        policies: &[],
        parameters: &[STAGE_PROBABILITIES],
        components: &[
            Term {
                name: "open_deals",
                description: "deals open at the evaluation instant, weighted or not",
            },
            Term {
                name: "weighted_deals",
                description: "open deals with a probability (their own, else their stage's default)",
            },
            Term {
                name: "without_probability",
                description: "open deals left out: no probability of their own and none for their stage",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::NoData,
            when: "no deal open at the evaluation instant has a probability",
        }],
    },
    reading: WeightedOpenDeals,
    finalize: weighted_pipeline_value_result,
    relate_group: None,
};

/// The exact sum of amount × percent, and how many open deals were weighted or left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WeightedPipelineState {
    amount_percent: MoneySum,
    weighted: u64,
    without_probability: u64,
}

impl State for WeightedPipelineState {
    fn merge(&mut self, other: &Self) {
        self.amount_percent.merge(&other.amount_percent);
        self.weighted += other.weighted;
        self.without_probability += other.without_probability;
    }
}

/// The deal's win probability in percent at `t`: its own, else its stage's default.
fn probability(settings: &Settings, deal: &Deal, t: Timestamp) -> Option<i128> {
    if let Some(percent) = deal.probability_percent {
        return Some(i128::from(percent));
    }
    let percent = *settings
        .number_map(&STAGE_PROBABILITIES)?
        .get(stage_at(deal, t))?;
    // Validated: a whole number from 0 to 100.
    Some(percent as i128)
}

/// The deals open at the period's evaluation instant, weighted by their win probability.
pub struct WeightedOpenDeals;

impl Reading for WeightedOpenDeals {
    type State = WeightedPipelineState;

    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        let Some(map) = settings.number_map(&STAGE_PROBABILITIES) else {
            return Vec::new();
        };
        map.iter()
            .filter(|(_, p)| !(0.0..=100.0).contains(*p) || p.fract() != 0.0)
            .map(|(stage, p)| {
                Problem::new(
                    format!("{path}.parameters[{}]", STAGE_PROBABILITIES.name),
                    format!("stage '{stage}' has probability {p}; a stage probability is a whole percent from 0 to 100"),
                )
            })
            .collect()
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        deals_created_before(span)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut WeightedPipelineState,
        record: RecordRef<'a>,
    ) {
        let Some(deal) = open_deal(record, ctx) else {
            return;
        };
        match probability(ctx.settings, deal, ctx.point_in_time()) {
            Some(percent) => {
                let product = i128::from(deal.amount.minor_units) * percent;
                state
                    .amount_percent
                    .add_minor(deal.amount.currency, product);
                state.weighted += 1;
            }
            None => state.without_probability += 1,
        }
    }
}

/// The value of `weighted_pipeline_value`.
fn weighted_pipeline_value_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &WeightedPipelineState,
) -> Result<MetricResult, EvalError> {
    let metric = definition.id;
    let components = vec![
        Component::count("open_deals", state.weighted + state.without_probability),
        Component::count("weighted_deals", state.weighted),
        Component::count("without_probability", state.without_probability),
    ];
    let single = state
        .amount_percent
        .single()
        .map_err(|mixed| EvalError::MixedCurrencies {
            metric: metric.to_owned(),
            currencies: mixed.0.iter().map(|c| c.to_string()).collect(),
        })?;
    let Some((currency, total)) = single else {
        return Ok(MetricResult::undefined(
            UndefinedReason::NoData,
            "no open deals with a probability at the evaluation instant",
            components,
        ));
    };
    let amount = divide_half_even(total, 100).ok_or_else(|| EvalError::Overflow {
        metric: metric.to_owned(),
    })?;
    let value = MoneyValue {
        amount: Money::new(currency, amount),
        numerator: None,
        denominator: None,
    };
    Ok(MetricResult::value(Value::Money(value), components))
}

#[cfg(test)]
#[path = "tests/pipeline.rs"]
mod tests;
