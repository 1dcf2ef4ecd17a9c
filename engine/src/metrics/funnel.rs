//! The sales funnel: `lead_qualification_rate`, `funnel_conversion` and `stage_duration`
//! (docs/metrics.md).
//!
//! `lead_qualification_rate` is a cohort metric over the leads created in the window, looked at as
//! of `as_of`. The two stage metrics read deals' `stage_history` (sorted by `entered_time`): a deal
//! can enter stages, or end visits, in several buckets of a series, so every deal is routed to every
//! period and `fold` looks at the entries that fall in the period's window. Entries after `as_of`
//! have not happened (the evaluator's `as_of` view drops them; the folds also refuse them).
//!
//! Decisions where docs/metrics.md is silent:
//! - `funnel_conversion` requires the `stages` parameter: a query without it (or with an empty list
//!   or a repeated stage) is rejected by validation with a problem at
//!   `metrics[i].parameters[stages]`. A state finalized without it (engine-internal use) is
//!   undefined with `MISSING_PARAMETER`.
//! - A deal counts at most once per stage and period (re-entering a stage is not a second deal);
//!   it *advanced* when a later entry of its history (after its first entry of the stage in the
//!   window) is the next listed stage, entered by `as_of` (possibly after the window).
//! - A stage visit ends at the next entry's `entered_time`, or, for the last entry, at the deal's
//!   `closed_time` when it was won or lost by `as_of`; an open deal's current visit has not ended.
//!   Visits that would end before they start (inconsistent data) are skipped.
//! - A deal created after the span ends is not read: its stage entries are taken to follow its
//!   creation.

use std::collections::BTreeMap;

use crate::calendar::Window;
use crate::catalog::{
    Direction, MetricDefinition, ParamKind, ParameterDefinition, Settings, ValueKind,
};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Route, State};
use crate::query::Problem;
use crate::records::{Deal, DealStatus, RecordKind, Text, Timestamp};
use crate::value::{
    BreakdownEntry, Component, DurationSet, EvalError, MetricResult, Ratio, UndefinedReason, Value,
};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] =
    &[&LeadQualificationRate, &FunnelConversion, &StageDuration];

/// Share of the leads created in the window that were qualified or converted.
pub struct LeadQualificationRate;

static LEAD_QUALIFICATION_RATE: MetricDefinition = MetricDefinition {
    id: "lead_qualification_rate",
    family: "sales",
    version: 1,
    description: "The share of the leads created in the window that were qualified or converted by as_of (a converted lead counts as qualified even without a qualified_time).",
    formula: "leads created in P with qualified_time <= as_of or converted_time <= as_of / leads created in P",
    value_kind: ValueKind::Ratio,
    unit: "fraction",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Lead],
    primary: &[RecordKind::Lead],
    policies: &[],
    parameters: &[],
};

/// Leads created, and those qualified or converted by `as_of`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QualificationState {
    created: u64,
    qualified: u64,
}

impl State for QualificationState {
    fn merge(&mut self, other: &Self) {
        self.created += other.created;
        self.qualified += other.qualified;
    }
}

impl Family for LeadQualificationRate {
    type State = QualificationState;

    fn definition(&self) -> &'static MetricDefinition {
        &LEAD_QUALIFICATION_RATE
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field: TimeField::LeadCreated,
            from: Some(span.start),
            until: Some(span.end),
        });
        plan
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        match record {
            RecordRef::Lead(lead) => Route::At(lead.created_time),
            _ => Route::Nowhere,
        }
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut QualificationState,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Lead(lead) = record else {
            return;
        };
        if !ctx.period.window.contains(lead.created_time) {
            return;
        }
        let as_of = ctx.period.as_of;
        state.created += 1;
        let by_as_of = |t: Option<Timestamp>| t.is_some_and(|t| t <= as_of);
        if by_as_of(lead.qualified_time) || by_as_of(lead.converted_time) {
            state.qualified += 1;
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &QualificationState,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![
            Component::count("leads_created", state.created),
            Component::count("qualified", state.qualified),
        ];
        Ok(MetricResult::ratio(
            state.qualified as f64,
            state.created as f64,
            "leads created",
            components,
        ))
    }
}

/// Every deal may count in every period (its entries fall in several buckets).
fn stage_route(record: RecordRef<'_>) -> Route {
    match record {
        RecordRef::Deal(_) => Route::Everywhere,
        _ => Route::Nowhere,
    }
}

/// Per listed stage, how many deals entered it in the window and how many advanced.
pub struct FunnelConversion;

static FUNNEL_CONVERSION: MetricDefinition = MetricDefinition {
    id: "funnel_conversion",
    family: "sales",
    version: 1,
    description: "For an ordered list of stages: per stage, the deals that entered it in the window (a stage_history entry with entered_time in the window; a deal counts once per stage), and the share of them that later entered the next listed stage by as_of. The last stage has no next stage to convert to: its entry carries the count of deals that entered it (a count value, not a ratio), so the end of the funnel is visible. Breakdown entries follow the list order.",
    formula: "per stage s_i: entered_i = deals with an entry of s_i in P; advanced_i = those with a later entry of s_(i+1) with entered_time <= as_of; value_i = advanced_i / entered_i; the last stage s_n has no s_(n+1): value_n = entered_n, a count",
    value_kind: ValueKind::Breakdown,
    unit: "fraction per stage",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Deal],
    primary: &[RecordKind::Deal],
    policies: &[],
    parameters: &[ParameterDefinition {
        name: "stages",
        description: "the ordered stage names of the funnel (required, at least one, no repeats)",
        kind: ParamKind::List,
        default: None,
        positive: false,
    }],
};

/// Entered and advanced counts of one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageCounts {
    entered: u64,
    advanced: u64,
}

/// Counts per stage position (only stages some deal entered), and the deals entering any stage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunnelState {
    stages: BTreeMap<usize, StageCounts>,
    deals: u64,
}

impl State for FunnelState {
    fn merge(&mut self, other: &Self) {
        for (index, counts) in &other.stages {
            let mine = self.stages.entry(*index).or_default();
            mine.entered += counts.entered;
            mine.advanced += counts.advanced;
        }
        self.deals += other.deals;
    }
}

impl Family for FunnelConversion {
    type State = FunnelState;

    fn definition(&self) -> &'static MetricDefinition {
        &FUNNEL_CONVERSION
    }

    fn validate(&self, settings: &Settings, path: &str) -> Vec<Problem> {
        let field = format!("{path}.parameters[stages]");
        let Some(stages) = settings.list("stages") else {
            return vec![Problem::new(
                field,
                "parameter stages is required: the ordered stage names of the funnel",
            )];
        };
        if stages.is_empty() {
            return vec![Problem::new(
                field,
                "parameter stages needs at least one stage",
            )];
        }
        stages
            .iter()
            .enumerate()
            .filter(|(i, stage)| stages[..*i].contains(stage))
            .map(|(_, stage)| {
                Problem::new(
                    field.clone(),
                    format!("stage '{stage}' is listed more than once"),
                )
            })
            .collect()
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::DealCreated, span.end)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        stage_route(record)
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut FunnelState, record: RecordRef<'a>) {
        let (RecordRef::Deal(deal), Some(stages)) = (record, ctx.settings.list("stages")) else {
            return;
        };
        let (window, as_of) = (ctx.period.window, ctx.period.as_of);
        let history = &deal.stage_history;
        let mut entered_any = false;
        for (i, stage) in stages.iter().enumerate() {
            let Some(first) = history.iter().position(|e| {
                e.stage == stage && window.contains(e.entered_time) && e.entered_time <= as_of
            }) else {
                continue;
            };
            entered_any = true;
            let counts = state.stages.entry(i).or_default();
            counts.entered += 1;
            if let Some(next) = stages.get(i + 1) {
                let advanced = history[first + 1..]
                    .iter()
                    .any(|e| e.stage == next && e.entered_time <= as_of);
                counts.advanced += u64::from(advanced);
            }
        }
        state.deals += u64::from(entered_any);
    }

    fn finalize(
        &self,
        ctx: &FoldContext<'_, '_>,
        state: &FunnelState,
    ) -> Result<MetricResult, EvalError> {
        let Some(stages) = ctx.settings.list("stages") else {
            return Ok(MetricResult::undefined(
                UndefinedReason::MissingParameter,
                "funnel_conversion needs the ordered stage list in parameter stages",
                Vec::new(),
            ));
        };
        let components = vec![Component::count("deals", state.deals)];
        if state.deals == 0 {
            return Ok(MetricResult::undefined(
                UndefinedReason::NoData,
                "no deal entered any of the stages in the window",
                components,
            ));
        }
        let entries = stages
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                let counts = state.stages.get(&i).copied().unwrap_or_default();
                let entered = Component::count("entered", counts.entered);
                if i + 1 == stages.len() {
                    return BreakdownEntry {
                        key: stage.clone(),
                        value: Some(Value::Count(counts.entered)),
                        components: vec![entered],
                    };
                }
                let value = (counts.entered > 0).then(|| {
                    Value::Ratio(Ratio {
                        value: counts.advanced as f64 / counts.entered as f64,
                        numerator: counts.advanced as f64,
                        denominator: counts.entered as f64,
                    })
                });
                BreakdownEntry {
                    key: stage.clone(),
                    value,
                    components: vec![entered, Component::count("advanced", counts.advanced)],
                }
            })
            .collect();
        Ok(MetricResult::value(Value::Breakdown(entries), components))
    }
}

/// How long deals stayed in each stage.
pub struct StageDuration;

static STAGE_DURATION: MetricDefinition = MetricDefinition {
    id: "stage_duration",
    family: "sales",
    version: 1,
    description: "Per stage, the length of each stage visit that ended in the window (by as_of): exit − entry, where a visit exits at the next stage_history entry or, for the last entry, at the deal's closed_time when it was won or lost. Open visits are not counted. Breakdown entries are sorted by stage name.",
    formula: "per stage: stats of (exit − entered_time) over visits with exit in P and exit <= as_of; exit = next entry's entered_time, else closed_time",
    value_kind: ValueKind::Breakdown,
    unit: "seconds per stage",
    direction: Direction::LowerIsBetter,
    reads: &[RecordKind::Deal],
    primary: &[RecordKind::Deal],
    policies: &[],
    parameters: &[],
};

/// Visit durations per stage name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageDurationState {
    stages: BTreeMap<Text, DurationSet>,
}

impl State for StageDurationState {
    fn merge(&mut self, other: &Self) {
        for (stage, durations) in &other.stages {
            self.stages
                .entry(stage.clone())
                .or_default()
                .merge(durations);
        }
    }
}

/// The instant the deal was won or lost, when it closed by `as_of`.
fn closed_by(deal: &Deal, as_of: Timestamp) -> Option<Timestamp> {
    match deal.status {
        DealStatus::Open => None,
        DealStatus::Won | DealStatus::Lost => deal.closed_time.filter(|t| *t <= as_of),
    }
}

impl Family for StageDuration {
    type State = StageDurationState;

    fn definition(&self) -> &'static MetricDefinition {
        &STAGE_DURATION
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        ReadPlan::before(TimeField::DealCreated, span.end)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        stage_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut StageDurationState,
        record: RecordRef<'a>,
    ) {
        let RecordRef::Deal(deal) = record else {
            return;
        };
        let (window, as_of) = (ctx.period.window, ctx.period.as_of);
        let history = &deal.stage_history;
        for (k, entry) in history.iter().enumerate() {
            let exit = match history.get(k + 1) {
                Some(next) => Some(next.entered_time).filter(|t| *t <= as_of),
                None => closed_by(deal, as_of),
            };
            let Some(exit) = exit.filter(|t| window.contains(*t) && *t >= entry.entered_time)
            else {
                continue;
            };
            state
                .stages
                .entry(entry.stage.clone())
                .or_default()
                .add(exit - entry.entered_time);
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &StageDurationState,
    ) -> Result<MetricResult, EvalError> {
        let mut visits = 0;
        let mut entries = Vec::with_capacity(state.stages.len());
        for (stage, durations) in &state.stages {
            visits += durations.len();
            entries.push(BreakdownEntry {
                key: stage.to_string(),
                value: durations.stats().map(Value::Duration),
                components: vec![Component::count("visits", durations.len())],
            });
        }
        let components = vec![Component::count("visits", visits)];
        if visits == 0 {
            return Ok(MetricResult::undefined(
                UndefinedReason::NoData,
                "no stage visit ended in the window",
                components,
            ));
        }
        Ok(MetricResult::value(Value::Breakdown(entries), components))
    }
}

#[cfg(test)]
#[path = "tests/funnel.rs"]
mod tests;
