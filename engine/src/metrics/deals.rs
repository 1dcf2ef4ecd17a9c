//! Sales outcomes: `win_rate`, `average_deal_size`, `sales_cycle_length` and `deals_won`
//! (METRICS.md §5, and §3 for `average_deal_size`).
//!
//! A deal is *won in P* when its status is WON and its `closed_time` lies in P. The evaluator looks
//! at the data as of `as_of` (a deal closed later is open); the folds also refuse a close after
//! `as_of` themselves, so a state never counts the future whatever view it is given.

use crate::calendar::Window;
use crate::catalog::{Direction, MetricDefinition, PolicyDefinition, Settings, ValueKind};
use crate::context::RecordRef;
use crate::dataset::{ReadPlan, TimeBound, TimeField};
use crate::eval::{Family, FoldContext, Metric, Period, Route, State};
use crate::money::MoneySum;
use crate::records::{Deal, DealStatus, RecordKind, Timestamp};
use crate::value::{Component, DurationSet, EvalError, MetricResult, Value, money_result};

/// The metrics of this family, registered in the catalog.
pub(crate) static METRICS: &[&dyn Metric] =
    &[&WinRate, &AverageDealSize, &SalesCycleLength, &DealsWon];

/// Reads deals whose `field` lies in the span.
fn deal_plan(field: TimeField, span: Window) -> ReadPlan {
    let mut plan = ReadPlan::default();
    plan.read_bounded(TimeBound {
        field,
        from: Some(span.start),
        until: Some(span.end),
    });
    plan
}

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

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let field = if cohort(settings) {
            TimeField::DealCreated
        } else {
            TimeField::DealClosed
        };
        deal_plan(field, span)
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
pub struct AverageDealSize;

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

/// Exact sum of won amounts and the number of won deals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AverageDealSizeState {
    amount: MoneySum,
    won: u64,
}

impl State for AverageDealSizeState {
    fn merge(&mut self, other: &Self) {
        self.amount.merge(&other.amount);
        self.won += other.won;
    }
}

impl Family for AverageDealSize {
    type State = AverageDealSizeState;

    fn definition(&self) -> &'static MetricDefinition {
        &AVERAGE_DEAL_SIZE
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        deal_plan(TimeField::DealClosed, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        won_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut AverageDealSizeState,
        record: RecordRef<'a>,
    ) {
        if let Some((deal, _)) = won_in(record, &ctx.period) {
            state.amount.add(deal.amount);
            state.won += 1;
        }
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &AverageDealSizeState,
    ) -> Result<MetricResult, EvalError> {
        let components = vec![Component::count("deals_won", state.won)];
        money_result(
            AVERAGE_DEAL_SIZE.id,
            &state.amount,
            Some(state.won),
            "deals won",
            components,
        )
    }
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

    fn plan(&self, settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = deal_plan(TimeField::DealClosed, span);
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
pub struct DealsWon;

static DEALS_WON: MetricDefinition = MetricDefinition {
    id: "deals_won",
    family: "sales",
    version: 1,
    description: "The number of deals won in the window (by closed_time); group by owner_id for per-rep counts. A window without any won deal has no value (NO_DATA).",
    formula: "count of deals with status WON and closed_time in P",
    value_kind: ValueKind::Count,
    unit: "deals",
    direction: Direction::HigherIsBetter,
    reads: &[RecordKind::Deal],
    primary: &[RecordKind::Deal],
    policies: &[],
    parameters: &[],
};

/// The number of won deals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DealsWonState {
    won: u64,
}

impl State for DealsWonState {
    fn merge(&mut self, other: &Self) {
        self.won += other.won;
    }
}

impl Family for DealsWon {
    type State = DealsWonState;

    fn definition(&self) -> &'static MetricDefinition {
        &DEALS_WON
    }

    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        deal_plan(TimeField::DealClosed, span)
    }

    fn route(&self, _settings: &Settings, record: RecordRef<'_>) -> Route {
        won_route(record)
    }

    fn fold<'a>(
        &self,
        ctx: &FoldContext<'a, '_>,
        state: &mut DealsWonState,
        record: RecordRef<'a>,
    ) {
        state.won += u64::from(won_in(record, &ctx.period).is_some());
    }

    fn finalize(
        &self,
        _ctx: &FoldContext<'_, '_>,
        state: &DealsWonState,
    ) -> Result<MetricResult, EvalError> {
        // A count of events is defined for every window: no win is a count of 0, not missing data.
        Ok(MetricResult::value(Value::Count(state.won), Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::calendar::Granularity;
    use crate::dataset::KindRead;
    use crate::dimension::Dimension;
    use crate::eval::{MetricReport, prepare};
    use crate::metrics::test_support::*;
    use crate::query::{Filter, MetricQuery};
    use crate::records::{ActivityDirection, DealType, Record};
    use crate::value::UndefinedReason;
    use crate::value::{DurationStats, MoneyValue, Ratio};

    fn won(id: &str, created: Timestamp, closed: Timestamp, amount: i64) -> Record {
        deal(id, DealStatus::Won, created, Some(closed), amount)
    }

    fn lost(id: &str, created: Timestamp, closed: Timestamp) -> Record {
        deal(id, DealStatus::Lost, created, Some(closed), 1)
    }

    fn open(id: &str, created: Timestamp) -> Record {
        deal(id, DealStatus::Open, created, None, 1)
    }

    fn owned(record: Record, owner: &str) -> Record {
        edit_sales_deal(record, |d| d.owner_id = Some(owner.to_owned()))
    }

    fn ratio(numerator: f64, denominator: f64) -> Result<Value, crate::value::Undefined> {
        Ok(Value::Ratio(Ratio {
            value: numerator / denominator,
            numerator,
            denominator,
        }))
    }

    fn cohort() -> MetricQuery {
        MetricQuery::new("win_rate").policy("basis", "cohort")
    }

    fn reason(report: &MetricReport) -> UndefinedReason {
        report.total.value.as_ref().unwrap_err().reason
    }

    #[test]
    fn win_rate_worked_example_both_bases() {
        // METRICS.md: 10 won, 12 lost, 18 open, all created and closed in P
        // → closed basis 10 / (10 + 12) = 10/22; cohort basis 10 / (10 + 12 + 18) = 10/40.
        let mut records = Vec::new();
        for i in 0..10 {
            records.push(won(&format!("w{i}"), at(3, 2, 0), at(3, 20, 0), 100));
        }
        for i in 0..12 {
            records.push(lost(&format!("l{i}"), at(3, 3, 0), at(3, 21, 0)));
        }
        for i in 0..18 {
            records.push(open(&format!("o{i}"), at(3, 4, 0)));
        }
        let closed = run(
            records.clone(),
            &request(MetricQuery::new("win_rate"), march()),
        );
        assert_eq!(closed.total.value, ratio(10.0, 22.0));
        assert_eq!(
            closed.applied_policies,
            vec![("basis".to_owned(), "closed".to_owned())]
        );
        let report = run(records, &request(cohort(), march()));
        assert_eq!(report.total.value, ratio(10.0, 40.0));
        assert_eq!(report.total.components[2], Component::count("open", 18));
    }

    #[test]
    fn win_rate_window_is_half_open() {
        // closed: won at 03-01 00:00 (in), lost 03-15 (in), won at 04-01 00:00 (out), lost 02-28 23:00
        // (out) → 1 / 2.
        let records = vec![
            won("a", at(2, 1, 0), at(3, 1, 0), 1),
            lost("b", at(2, 1, 0), at(3, 15, 0)),
            won("c", at(2, 1, 0), at(4, 1, 0), 1),
            lost("d", at(2, 1, 0), at(2, 28, 23)),
        ];
        assert_eq!(
            run(records, &request(MetricQuery::new("win_rate"), march()))
                .total
                .value,
            ratio(1.0, 2.0)
        );
        // cohort: created 03-01 00:00 and won later in April (in, won by as_of), created 03-31 23:00
        // open (in), created 04-01 00:00 won (out) → 1 / 2.
        let records = vec![
            won("a", at(3, 1, 0), at(4, 5, 0), 1),
            open("b", at(3, 31, 23)),
            won("c", at(4, 1, 0), at(4, 2, 0), 1),
        ];
        assert_eq!(
            run(records, &request(cohort(), march())).total.value,
            ratio(1.0, 2.0)
        );
    }

    #[test]
    fn win_rate_as_of_reopens_later_closes() {
        // as_of 03-25: won 03-05 (counts), won 03-28 (after as_of → still open), lost 03-06.
        // closed: 1 won / 2 closed; cohort (all created 03-02): 1 won of 3, 1 open.
        let records = vec![
            won("a", at(3, 2, 0), at(3, 5, 0), 1),
            won("b", at(3, 2, 0), at(3, 28, 0), 1),
            lost("c", at(3, 2, 0), at(3, 6, 0)),
        ];
        let mut req = request(MetricQuery::new("win_rate"), march());
        req.as_of = at(3, 25, 0);
        assert_eq!(run(records.clone(), &req).total.value, ratio(1.0, 2.0));
        req.metrics = vec![cohort()];
        let report = run(records, &req);
        assert_eq!(report.total.value, ratio(1.0, 3.0));
        assert_eq!(report.total.components[2], Component::count("open", 1));
    }

    #[test]
    fn win_rate_without_deals_is_undefined_and_groups_by_deal_type() {
        let none = vec![won("x", at(2, 1, 0), at(2, 2, 0), 1)];
        let report = run(
            none.clone(),
            &request(MetricQuery::new("win_rate"), march()),
        );
        assert_eq!(reason(&report), UndefinedReason::ZeroDenominator);
        assert_eq!(
            reason(&run(none, &request(cohort(), march()))),
            UndefinedReason::ZeroDenominator
        );
        // upsell: 1 won, 1 lost → 0.5; new_business: 1 won → 1.0 (keys sort by name).
        let upsell = |r| edit_sales_deal(r, |d| d.deal_type = DealType::Upsell);
        let records = vec![
            upsell(won("a", at(3, 1, 0), at(3, 2, 0), 1)),
            upsell(lost("b", at(3, 1, 0), at(3, 2, 0))),
            won("c", at(3, 1, 0), at(3, 2, 0), 1),
        ];
        let mut req = request(MetricQuery::new("win_rate"), march());
        req.group_by = vec![Dimension::DealType];
        let report = run(records, &req);
        assert_eq!(report.total.value, ratio(2.0, 3.0));
        assert_eq!(report.groups[0].key, vec![Some("new_business".to_owned())]);
        assert_eq!(report.groups[0].total.value, ratio(1.0, 1.0));
        assert_eq!(report.groups[1].key, vec![Some("upsell".to_owned())]);
        assert_eq!(report.groups[1].total.value, ratio(1.0, 2.0));
    }

    #[test]
    fn average_deal_size_rounds_half_to_even() {
        // Won in March: alice 100 + 101, bob 103 → 304 / 3 = 101.33 → 101. Lost, open and a win
        // at 04-01 00:00 do not count.
        let records = vec![
            owned(won("a", at(2, 1, 0), at(3, 1, 0), 100), "alice"),
            owned(won("b", at(2, 1, 0), at(3, 31, 23), 101), "alice"),
            owned(won("c", at(2, 1, 0), at(3, 10, 0), 103), "bob"),
            lost("d", at(2, 1, 0), at(3, 10, 0)),
            open("e", at(3, 1, 0)),
            won("f", at(2, 1, 0), at(4, 1, 0), 5000),
        ];
        let money = |amount, sum, n| {
            Ok(Value::Money(MoneyValue {
                amount: usd(amount),
                numerator: Some(usd(sum)),
                denominator: Some(n),
            }))
        };
        let report = run(
            records.clone(),
            &request(MetricQuery::new("average_deal_size"), march()),
        );
        assert_eq!(report.total.value, money(101, 304, 3.0));
        // Filter owner_id = alice: 201 / 2 = 100.5 → half to even → 100.
        let mut req = request(MetricQuery::new("average_deal_size"), march());
        req.filters = vec![Filter {
            dimension: Dimension::OwnerId,
            values: vec!["alice".to_owned()],
            exclude: false,
        }];
        assert_eq!(run(records.clone(), &req).total.value, money(100, 201, 2.0));
        // Excluding alice: bob's 103 / 1; 100 + 103 alone would be 101.5 → 102 (tested via groups).
        req.filters[0].exclude = true;
        assert_eq!(run(records, &req).total.value, money(103, 103, 1.0));
        let empty = run(
            vec![open("e", at(3, 1, 0))],
            &request(MetricQuery::new("average_deal_size"), march()),
        );
        assert_eq!(reason(&empty), UndefinedReason::NoData);
    }

    fn cycle_records() -> Vec<Record> {
        vec![
            // d1: created 02-01, won 03-11 → 38 d; lead created 01-22 → 48 d; first activity 02-11 → 28 d.
            edit_sales_deal(won("d1", at(2, 1, 0), at(3, 11, 0), 1), |d| {
                d.lead_id = Some("l1".into())
            }),
            lead("l1", at(1, 22, 0)),
            sales_activity(
                "a1",
                ActivityDirection::Inbound,
                at(3, 1, 0),
                None,
                Some("d1"),
            ),
            sales_activity(
                "a2",
                ActivityDirection::Outbound,
                at(2, 11, 0),
                None,
                Some("d1"),
            ),
            // d2: created 03-01, won 03-03 → 2 d; no lead, no activity.
            won("d2", at(3, 1, 0), at(3, 3, 0), 1),
            // d3: created 03-05, won 03-06 → 1 d; its lead and its only activity come after the close.
            edit_sales_deal(won("d3", at(3, 5, 0), at(3, 6, 0), 1), |d| {
                d.lead_id = Some("l3".into())
            }),
            lead("l3", at(3, 7, 0)),
            sales_activity(
                "a3",
                ActivityDirection::Outbound,
                at(3, 8, 0),
                None,
                Some("d3"),
            ),
            lost("x", at(1, 1, 0), at(3, 10, 0)),
        ]
    }

    fn cycle(start: &str) -> (DurationStats, Vec<Component>) {
        let query = MetricQuery::new("sales_cycle_length").policy("start", start);
        let report = run(cycle_records(), &request(query, march()));
        match report.total.value {
            Ok(Value::Duration(stats)) => (stats, report.total.components),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sales_cycle_length_per_start_policy() {
        const DAY: f64 = 86_400.0;
        // deal_created: [1, 2, 38] d; mean 41/3 d; median rank ceil(1.5) = 2 → 2 d; p90 rank
        // ceil(2.7) = 3 → 38 d.
        let (stats, components) = cycle("deal_created");
        let expected = DurationStats {
            count: 3,
            total_seconds: 41.0 * DAY,
            mean_seconds: 41.0 * DAY / 3.0,
            median_seconds: 2.0 * DAY,
            p90_seconds: 38.0 * DAY,
            min_seconds: DAY,
            max_seconds: 38.0 * DAY,
        };
        assert_eq!(stats, expected);
        assert_eq!(components[1], Component::count("unknown_start", 0));
        // lead_created: only d1 (48 d); d2 has no lead, d3's lead comes after its close.
        let (stats, components) = cycle("lead_created");
        assert_eq!((stats.count, stats.mean_seconds), (1, 48.0 * DAY));
        assert_eq!(
            components,
            vec![
                Component::count("deals_won", 3),
                Component::count("unknown_start", 2)
            ]
        );
        // first_activity: only d1 (earliest activity 02-11 → 28 d); d2 has none, d3's is after close.
        let (stats, components) = cycle("first_activity");
        assert_eq!((stats.count, stats.mean_seconds), (1, 28.0 * DAY));
        assert_eq!(components[1], Component::count("unknown_start", 2));
        let empty = run(
            Vec::new(),
            &request(MetricQuery::new("sales_cycle_length"), march()),
        );
        assert_eq!(reason(&empty), UndefinedReason::NoData);
    }

    #[test]
    fn deals_won_series_groups_and_filters() {
        // Q1 by month: won 01-10 (alice), 02-05 (alice), 02-06 (bob, upsell); carol's deal is lost.
        // Series: Jan 1, Feb 2, Mar 0; total 3; alice 2, bob 1; upsell only: 1.
        let records = vec![
            owned(won("a", at(1, 1, 0), at(1, 10, 0), 1), "alice"),
            owned(won("b", at(1, 1, 0), at(2, 5, 0), 1), "alice"),
            edit_sales_deal(owned(won("c", at(1, 1, 0), at(2, 6, 0), 1), "bob"), |d| {
                d.deal_type = DealType::Upsell;
            }),
            owned(lost("d", at(1, 1, 0), at(3, 3, 0)), "carol"),
        ];
        let mut req = request(
            MetricQuery::new("deals_won"),
            window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
        );
        req.granularity = Granularity::Month;
        req.group_by = vec![Dimension::OwnerId];
        let report = run(records.clone(), &req);
        assert_eq!(report.total.value, Ok(Value::Count(3)));
        let series: Vec<_> = report
            .series
            .iter()
            .map(|p| p.result.value.clone().ok())
            .collect();
        assert_eq!(
            series,
            vec![
                Some(Value::Count(1)),
                Some(Value::Count(2)),
                Some(Value::Count(0))
            ]
        );
        assert_eq!(report.groups.len(), 2);
        assert_eq!(report.groups[0].key, vec![Some("alice".to_owned())]);
        assert_eq!(report.groups[0].total.value, Ok(Value::Count(2)));
        assert_eq!(report.groups[1].total.value, Ok(Value::Count(1)));
        req.group_by.clear();
        req.filters = vec![Filter {
            dimension: Dimension::DealType,
            values: vec!["upsell".to_owned()],
            exclude: false,
        }];
        assert_eq!(run(records, &req).total.value, Ok(Value::Count(1)));
        let empty = run(Vec::new(), &request(MetricQuery::new("deals_won"), march()));
        assert_eq!(empty.total.value, Ok(Value::Count(0)));
    }

    #[test]
    fn plans_read_only_the_needed_ranges() {
        // Closed basis reads deals closed in the window, cohort deals created in it; the
        // lead_created cycle also reads leads created before the window's end.
        let plan = |query| prepare(&request(query, march())).unwrap().plan().kinds;
        let bound = |field, from| TimeBound {
            field,
            from,
            until: Some(march().end),
        };
        let in_march = |field| KindRead::AnyOf(vec![bound(field, Some(march().start))]);
        let closed = plan(MetricQuery::new("win_rate"));
        assert_eq!(closed[&RecordKind::Deal], in_march(TimeField::DealClosed));
        assert_eq!(
            plan(cohort())[&RecordKind::Deal],
            in_march(TimeField::DealCreated)
        );
        let cycle = plan(MetricQuery::new("sales_cycle_length").policy("start", "lead_created"));
        assert_eq!(cycle[&RecordKind::Deal], in_march(TimeField::DealClosed));
        let leads = KindRead::AnyOf(vec![bound(TimeField::LeadCreated, None)]);
        assert_eq!(cycle[&RecordKind::Lead], leads);
        assert!(!cycle.contains_key(&RecordKind::Activity));
    }

    fn arb_deal() -> impl Strategy<Value = Record> {
        (
            0usize..3,
            arb_time(),
            0i64..2000,
            1i64..100_000,
            0u8..10,
            0u8..6,
        )
            .prop_map(|(status, created, hours, amount, id, lead)| {
                let status = [DealStatus::Open, DealStatus::Won, DealStatus::Lost][status];
                let closed = (status != DealStatus::Open).then(|| created + Duration::hours(hours));
                edit_sales_deal(
                    deal(&format!("d{id}"), status, created, closed, amount),
                    |d| {
                        d.lead_id = (lead < 5).then(|| format!("l{lead}"));
                    },
                )
            })
    }

    proptest! {
        #[test]
        fn deal_states_merge_exactly(
            deals in prop::collection::vec(arb_deal(), 0..30),
            leads in prop::collection::vec((0u8..5, arb_time()), 0..5),
            activities in prop::collection::vec((0u8..10, arb_time()), 0..10),
            split in 0usize..40,
            rotate in 0usize..40,
        ) {
            let mut records = deals;
            records.extend(leads.iter().map(|(i, t)| lead(&format!("l{i}"), *t)));
            records.extend(activities.iter().enumerate().map(|(n, (i, t))| {
                sales_activity(&format!("a{n}"), ActivityDirection::Outbound, *t, None, Some(&format!("d{i}")))
            }));
            let period = Period { window: window(at(2, 1, 0), at(9, 1, 0)), as_of: at(8, 1, 0) };
            let with = |definition: &MetricDefinition, policy: &str, value: &str| {
                Settings::resolve(definition, &MetricQuery::new(definition.id).policy(policy, value), "m").unwrap()
            };
            for basis in ["closed", "cohort"] {
                assert_merge_property(&WinRate, &with(&WIN_RATE, "basis", basis), period, &records, split, rotate);
            }
            for start in ["deal_created", "lead_created", "first_activity"] {
                let settings = with(&SALES_CYCLE_LENGTH, "start", start);
                assert_merge_property(&SalesCycleLength, &settings, period, &records, split, rotate);
            }
            let settings = Settings::defaults(&AVERAGE_DEAL_SIZE);
            assert_merge_property(&AverageDealSize, &settings, period, &records, split, rotate);
            assert_merge_property(&DealsWon, &Settings::defaults(&DEALS_WON), period, &records, split, rotate);
        }
    }
}
