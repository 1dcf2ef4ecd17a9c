//! `quota_attainment`: won amounts of each owner against the quotas overlapping the window.

use super::*;

/// Won amounts against sales quotas.
pub static QUOTA_ATTAINMENT: Declaration<QuotasAndWins> = Declaration {
    definition: MetricDefinition {
        id: "quota_attainment",
        family: "sales",
        version: 1,
        description: "Won amounts against quotas: for the quotas whose [period_start, period_end) overlaps the window, the amounts of their owners' deals won (by as_of) with closed_time in a quota period, divided by the quota amounts; can exceed 1. A deal counts once even when several quota periods of its owner contain it. Group by owner_id for per-rep attainment.",
        formula: "Σ amounts of deals WON by as_of whose owner has a quota overlapping P with closed_time in one of those quota periods / Σ amounts of quotas overlapping P",
        value_kind: ValueKind::Ratio,
        unit: "fraction",
        direction: Direction::HigherIsBetter,
        reads: &[RecordKind::Quota, RecordKind::Deal],
        primary: &[RecordKind::Quota, RecordKind::Deal],
        policies: &[],
        parameters: &[],
        components: &[
            Term {
                name: "quotas",
                description: "quotas overlapping the window",
            },
            Term {
                name: "owners",
                description: "owners with a quota overlapping the window",
            },
            Term {
                name: "deals_won",
                description: "their deals won by as_of with closed_time in one of their quota periods overlapping the window",
            },
            Term {
                name: "won",
                description: "the amount of those deals; only when a quota overlaps the window",
            },
            Term {
                name: "quota",
                description: "the amount of the quotas overlapping the window; only when one does",
            },
        ],
        breakdown_keys: &[],
        undefined: &[UndefinedCase {
            reason: UndefinedReason::ZeroDenominator,
            when: "no quota overlaps the window, or the overlapping quotas add up to 0",
        }],
    },
    reading: QuotasAndWins,
    finalize: quota_attainment_result,
    relate_group: None,
};

/// One owner's quotas overlapping the period (by period) and won deals (by close time).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnerQuotas {
    quotas: BTreeMap<(Timestamp, Timestamp), (MoneySum, u64)>,
    won: BTreeMap<Timestamp, (MoneySum, u64)>,
}

/// Per owner, quotas and wins; matched at finalize since they arrive in any order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuotaState {
    owners: BTreeMap<Text, OwnerQuotas>,
}

impl State for QuotaState {
    fn merge(&mut self, other: &Self) {
        for (owner, theirs) in &other.owners {
            let mine = self.owners.entry(owner.clone()).or_default();
            for (period, (amount, count)) in &theirs.quotas {
                let entry = mine.quotas.entry(*period).or_default();
                entry.0.merge(amount);
                entry.1 += count;
            }
            for (closed, (amount, count)) in &theirs.won {
                let entry = mine.won.entry(*closed).or_default();
                entry.0.merge(amount);
                entry.1 += count;
            }
        }
    }
}

/// The quotas overlapping the period and their owners' won deals, wherever they closed.
pub struct QuotasAndWins;

impl Reading for QuotasAndWins {
    type State = QuotaState;

    /// A won deal counts wherever one of its owner's quota periods containing its close overlaps
    /// the period, so its own times do not say where.
    fn counted_by(&self, _settings: &Settings) -> CountedBy {
        CountedBy::State
    }

    /// Quotas, and won deals with an owner (no other deal can count).
    fn admits(&self, record: RecordRef<'_>) -> bool {
        match record {
            RecordRef::Quota(_) => true,
            RecordRef::Deal(d) => d.status == DealStatus::Won && d.owner_id.is_some(),
            _ => false,
        }
    }

    /// Quotas starting before the span ends, and every closed deal (a quota period, and so the
    /// closes that count, may reach far outside the span).
    fn plan(&self, _settings: &Settings, span: Window, _as_of: Timestamp) -> ReadPlan {
        let mut plan = ReadPlan::default();
        plan.read_bounded(TimeBound {
            field: TimeField::QuotaPeriodStart,
            from: None,
            until: Some(span.end),
        });
        plan.read_bounded(TimeBound {
            field: TimeField::DealClosed,
            from: None,
            until: None,
        });
        plan
    }

    fn fold<'a>(&self, ctx: &FoldContext<'a, '_>, state: &mut QuotaState, record: RecordRef<'a>) {
        let window = ctx.period.window;
        match record {
            RecordRef::Quota(q) if q.period_start < window.end && q.period_end > window.start => {
                let owner = state.owners.entry(q.owner_id.clone()).or_default();
                let entry = owner
                    .quotas
                    .entry((q.period_start, q.period_end))
                    .or_default();
                entry.0.add(q.amount);
                entry.1 += 1;
            }
            RecordRef::Deal(deal) => {
                if let (Some(owner), Some(closed)) =
                    (&deal.owner_id, won_by(deal, ctx.period.as_of))
                {
                    let owner = state.owners.entry(owner.clone()).or_default();
                    let entry = owner.won.entry(closed).or_default();
                    entry.0.add(deal.amount);
                    entry.1 += 1;
                }
            }
            _ => {}
        }
    }
}

/// The value of `quota_attainment`.
fn quota_attainment_result(
    definition: &MetricDefinition,
    _ctx: &FoldContext<'_, '_>,
    state: &QuotaState,
) -> Result<MetricResult, EvalError> {
    let id = definition.id;
    let (mut quota, mut won, mut quotas, mut owners, mut deals) =
        (MoneySum::default(), MoneySum::default(), 0, 0, 0);
    for owner in state.owners.values().filter(|o| !o.quotas.is_empty()) {
        owners += 1;
        for (amount, count) in owner.quotas.values() {
            quota.merge(amount);
            quotas += count;
        }
        for (closed, (amount, count)) in &owner.won {
            if owner.quotas.keys().any(|(s, e)| s <= closed && closed < e) {
                won.merge(amount);
                deals += count;
            }
        }
    }
    let mut both = quota.clone();
    both.merge(&won);
    single_currency(id, &both)?;
    let mut components = vec![
        Component::count("quotas", quotas),
        Component::count("owners", owners),
        Component::count("deals_won", deals),
    ];
    let won_total = single_currency(id, &won)?;
    let Some((currency, quota_total)) = single_currency(id, &quota)? else {
        return Ok(MetricResult::ratio(
            0.0,
            0.0,
            "quotas overlapping the window",
            components,
        ));
    };
    let won_minor = won_total.map_or(0, |(_, total)| total);
    components.push(Component::money(
        "won",
        exact_money(id, currency, won_minor)?,
    ));
    components.push(Component::money(
        "quota",
        exact_money(id, currency, quota_total)?,
    ));
    Ok(MetricResult::ratio(
        won_minor as f64,
        quota_total as f64,
        "quota amount",
        components,
    ))
}
