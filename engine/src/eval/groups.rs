//! Group-by: which groups a report lists, one page of them in the order asked, and the series
//! of that page only.
//!
//! The first pass (with the overall fold) keeps per group only its total's state and whether a
//! record of it counts anywhere else (a bucket, the previous period), so memory grows with the
//! number of groups, never with groups × buckets. The page is chosen from the totals; a second
//! pass over the records folds the series of the page's groups alone.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::driver::{Evaluation, GroupReport, SeriesPoint};
use super::{Family, State};
use crate::context::RecordRef;
use crate::query::GroupOrder;
use crate::value::{EvalError, MetricResult};

/// The most groups one group-by may list.
pub const MAX_GROUPS: usize = 100_000;

/// The most distinct keys the first pass holds, listed or not (records routed everywhere are
/// folded before it is known whether they count): a bound on memory, above [`MAX_GROUPS`] so the
/// answer rarely depends on it.
const MAX_KEYS: usize = 10 * MAX_GROUPS;

/// One value per group-by dimension, in request order; `None` where the record has none.
type GroupKey<'a> = Vec<Option<&'a str>>;

fn key_of<'a, F>(evaluation: &Evaluation<'a, '_, F>, record: RecordRef<'a>) -> GroupKey<'a> {
    evaluation
        .frame
        .group_by
        .iter()
        .map(|dimension| dimension.value_of(record, evaluation.lookup))
        .collect()
}

/// What the first pass keeps of one group.
#[derive(Default)]
struct GroupFold<S> {
    /// The state over the whole window.
    total: S,
    /// Whether one of its records counts in a bucket or the previous period.
    counts_elsewhere: bool,
    /// Whether it is listed: one of its records counts somewhere.
    listed: bool,
}

/// The groups met in the first pass.
pub(super) struct Groups<'a, S> {
    folds: BTreeMap<GroupKey<'a>, GroupFold<S>>,
    /// How many of `folds` are listed.
    listed: usize,
    too_many: bool,
}

impl<'a, S: State> Groups<'a, S> {
    pub(super) fn new() -> Self {
        Groups {
            folds: BTreeMap::new(),
            listed: 0,
            too_many: false,
        }
    }

    /// Folds a record that reaches the periods `reached` (0 = the window) into its group.
    pub(super) fn fold<F: Family<State = S>>(
        &mut self,
        evaluation: &Evaluation<'a, '_, F>,
        record: RecordRef<'a>,
        reached: &[usize],
    ) {
        if evaluation.frame.group_by.is_empty() || self.too_many {
            return;
        }
        let groups = self.folds.len();
        let fold = match self.folds.entry(key_of(evaluation, record)) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(_) if groups >= MAX_KEYS => {
                self.too_many = true;
                return;
            }
            Entry::Vacant(entry) => entry.insert(GroupFold::default()),
        };
        for &index in reached {
            if index == 0 {
                evaluation.fold(0, &mut fold.total, record);
            } else if !fold.counts_elsewhere {
                // States merge exactly, so a record changes a group's state in a period iff it
                // changes an empty one.
                let mut alone = S::default();
                evaluation.fold(index, &mut alone, record);
                fold.counts_elsewhere = alone != S::default();
            }
        }
        if !fold.listed && (fold.counts_elsewhere || fold.total != S::default()) {
            fold.listed = true;
            self.listed += 1;
            self.too_many |= self.listed > MAX_GROUPS;
        }
    }

    /// The state over the whole window of every record the groups hold: states merge exactly and
    /// every record belongs to exactly one group, so this is the overall total's state without
    /// folding each record a second time.
    pub(super) fn merged_total(&self) -> S {
        let mut total = S::default();
        for fold in self.folds.values() {
            total.merge(&fold.total);
        }
        total
    }

    /// How many groups are listed over all pages, and the reports of the page asked for.
    /// A group is listed when one of its records counts somewhere (the window, a bucket, the
    /// previous period), not merely because a record was routed to it: whether a record that
    /// counts nowhere is read at all depends on the read plan, and the answer must not.
    pub(super) fn report<F: Family<State = S>>(
        self,
        evaluation: &Evaluation<'a, '_, F>,
        overall_total: &MetricResult,
        overall_series: &[SeriesPoint],
    ) -> Result<(usize, Vec<GroupReport>), EvalError> {
        if self.too_many {
            return Err(EvalError::TooManyGroups { limit: MAX_GROUPS });
        }
        let listed: Vec<(GroupKey<'a>, S)> = self
            .folds
            .into_iter()
            .filter(|(_, fold)| fold.listed)
            .map(|(key, fold)| (key, fold.total))
            .collect();
        let count = listed.len();
        let family = evaluation.family;
        let total_of = |state: &S| -> Result<MetricResult, EvalError> {
            let mut total = evaluation.finalize(0, state)?;
            family.relate_group(&mut total, overall_total);
            Ok(total)
        };
        let page = evaluation.frame.group_page;
        let chosen: Vec<(GroupKey<'a>, MetricResult)> = match page.order {
            GroupOrder::Key => listed
                .iter()
                .skip(page.offset)
                .take(page.limit)
                .map(|(key, state)| Ok((key.clone(), total_of(state)?)))
                .collect::<Result<_, EvalError>>()?,
            GroupOrder::ValueDescending | GroupOrder::ValueAscending => {
                let mut all = listed
                    .iter()
                    .map(|(key, state)| Ok((key.clone(), total_of(state)?)))
                    .collect::<Result<Vec<_>, EvalError>>()?;
                let descending = page.order == GroupOrder::ValueDescending;
                all.sort_by(|a, b| by_value(descending, a, b));
                all.into_iter().skip(page.offset).take(page.limit).collect()
            }
        };
        let series = page_series(evaluation, &chosen)?;
        let reports = chosen
            .into_iter()
            .zip(series)
            .map(|((key, total), mut series)| {
                for (point, overall_point) in series.iter_mut().zip(overall_series) {
                    family.relate_group(&mut point.result, &overall_point.result);
                }
                GroupReport {
                    key: key.iter().map(|v| v.map(str::to_owned)).collect(),
                    total,
                    series,
                }
            })
            .collect();
        Ok((count, reports))
    }
}

/// Groups with a value first, by value (`descending` or not), then those without; ties by key.
fn by_value(
    descending: bool,
    (a_key, a): &(GroupKey<'_>, MetricResult),
    (b_key, b): &(GroupKey<'_>, MetricResult),
) -> Ordering {
    let by_scalar = match (a.scalar(), b.scalar()) {
        (Some(x), Some(y)) if descending => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_scalar.then_with(|| a_key.cmp(b_key))
}

/// The series of each chosen group, in the order given: a second pass folds only their records.
fn page_series<'a, F: Family>(
    evaluation: &Evaluation<'a, '_, F>,
    chosen: &[(GroupKey<'a>, MetricResult)],
) -> Result<Vec<Vec<SeriesPoint>>, EvalError> {
    let bucket_count = evaluation.frame.buckets.len();
    if bucket_count == 0 || chosen.is_empty() {
        return Ok(vec![Vec::new(); chosen.len()]);
    }
    let position: BTreeMap<&GroupKey<'a>, usize> = chosen
        .iter()
        .enumerate()
        .map(|(i, (key, _))| (key, i))
        .collect();
    let mut states = vec![vec![F::State::default(); bucket_count]; chosen.len()];
    evaluation.for_each_routed(|record, reached| {
        let Some(&group) = position.get(&key_of(evaluation, record)) else {
            return;
        };
        for &index in reached {
            if (1..=bucket_count).contains(&index) {
                evaluation.fold(index, &mut states[group][index - 1], record);
            }
        }
    });
    states
        .iter()
        .map(|buckets| evaluation.series(buckets))
        .collect()
}

#[cfg(test)]
#[path = "../tests/groups.rs"]
mod tests;
