//! Unit tests of group pages: order, paging, the page's series, the limits.

use crate::calendar::Granularity;
use crate::dimension::Dimension;
use crate::eval::{MAX_RESULT_VALUES, prepare};
use crate::metrics::test_support::*;
use crate::query::{ComputeRequest, GroupOrder, GroupPage, MetricQuery};
use crate::records::{DealStatus, Record, Timestamp};
use crate::value::Value;

fn won_by(owner: &str, id: &str, closed: Timestamp) -> Record {
    edit_sales_deal(
        deal(id, DealStatus::Won, at(1, 1, 0), Some(closed), 100),
        |d| d.owner_id = Some(owner.into()),
    )
}

/// Deals won in Q1 2026: ann 1 (Feb), bob 3 (Jan, Jan, Mar), cid 2 (Mar, Mar), dan 1 (Jan),
/// and one deal without an owner (Feb).
fn deals() -> Vec<Record> {
    vec![
        won_by("ann", "a1", at(2, 3, 0)),
        won_by("bob", "b1", at(1, 5, 0)),
        won_by("bob", "b2", at(1, 6, 0)),
        won_by("bob", "b3", at(3, 7, 0)),
        won_by("cid", "c1", at(3, 8, 0)),
        won_by("cid", "c2", at(3, 9, 0)),
        won_by("dan", "d1", at(1, 10, 0)),
        deal("x1", DealStatus::Won, at(1, 1, 0), Some(at(2, 11, 0)), 100),
    ]
}

fn by_owner(order: GroupOrder, limit: Option<usize>, offset: usize) -> ComputeRequest {
    let mut req = request(
        MetricQuery::new("deals_won"),
        window(ymd(2026, 1, 1), ymd(2026, 4, 1)),
    );
    req.group_by = vec![Dimension::OwnerId];
    req.groups = GroupPage {
        order,
        limit,
        offset,
    };
    req
}

/// A listed group: its owner and its count of deals won.
type Listed = (Option<String>, Option<u64>);

fn page(req: &ComputeRequest) -> (usize, Vec<Listed>) {
    let report = run(deals(), req);
    let groups = report
        .groups
        .into_iter()
        .map(|g| {
            let count = match g.total.value {
                Ok(Value::Count(n)) => Some(n),
                _ => None,
            };
            (g.key[0].clone(), count)
        })
        .collect();
    (report.group_count, groups)
}

fn owner(name: &str, won: u64) -> Listed {
    (Some(name.to_owned()), Some(won))
}

#[test]
fn key_order_pages_through_every_group_once() {
    // Five groups by key: the missing owner first, then ann, bob, cid, dan.
    let (count, first) = page(&by_owner(GroupOrder::Key, Some(2), 0));
    assert_eq!(count, 5);
    assert_eq!(first, vec![(None, Some(1)), owner("ann", 1)]);
    let (_, second) = page(&by_owner(GroupOrder::Key, Some(2), 2));
    assert_eq!(second, vec![owner("bob", 3), owner("cid", 2)]);
    let (_, last) = page(&by_owner(GroupOrder::Key, Some(2), 4));
    assert_eq!(last, vec![owner("dan", 1)]);
    let (count, past_the_end) = page(&by_owner(GroupOrder::Key, Some(2), 6));
    assert_eq!((count, past_the_end), (5, vec![]));
}

#[test]
fn value_order_ranks_totals_and_breaks_ties_by_key() {
    let (_, top) = page(&by_owner(GroupOrder::ValueDescending, Some(3), 0));
    assert_eq!(top, vec![owner("bob", 3), owner("cid", 2), (None, Some(1))]);
    let (_, rest) = page(&by_owner(GroupOrder::ValueDescending, Some(3), 3));
    assert_eq!(rest, vec![owner("ann", 1), owner("dan", 1)]);
    let (_, bottom) = page(&by_owner(GroupOrder::ValueAscending, Some(2), 0));
    assert_eq!(bottom, vec![(None, Some(1)), owner("ann", 1)]);
}

#[test]
fn the_page_carries_its_groups_series() {
    let mut req = by_owner(GroupOrder::ValueDescending, Some(2), 0);
    req.granularity = Granularity::Month;
    let report = run(deals(), &req);
    let series = |i: usize| -> Vec<Option<u64>> {
        report.groups[i]
            .series
            .iter()
            .map(|p| match p.result.value {
                Ok(Value::Count(n)) => Some(n),
                _ => None,
            })
            .collect()
    };
    // bob: 2 in January, 0 in February, 1 in March; cid: 2 in March.
    assert_eq!(series(0), vec![Some(2), Some(0), Some(1)]);
    assert_eq!(series(1), vec![Some(0), Some(0), Some(2)]);
    assert_eq!(report.group_count, 5);
}

#[test]
fn a_group_counting_only_in_the_previous_period_is_listed() {
    // eve won one deal in December 2025 only: no count in Q1, one in the previous quarter.
    let mut records = deals();
    records.push(edit_sales_deal(
        deal(
            "e1",
            DealStatus::Won,
            ymd(2025, 11, 1),
            Some(ymd(2025, 12, 5)),
            100,
        ),
        |d| d.owner_id = Some("eve".into()),
    ));
    let mut req = by_owner(GroupOrder::Key, None, 0);
    req.compare_previous = true;
    let report = run(records, &req);
    assert_eq!(report.group_count, 6);
    let eve = report.groups.last().unwrap();
    assert_eq!(eve.key, vec![Some("eve".to_owned())]);
    assert_eq!(eve.total.value, Ok(Value::Count(0)));
}

#[test]
fn the_default_page_fits_the_result_limit() {
    // A year of days: each group carries 1 + 365 values, so the default page shrinks to fit.
    let mut req = by_owner(GroupOrder::Key, None, 0);
    req.window = window(ymd(2026, 1, 1), ymd(2027, 1, 1));
    req.granularity = Granularity::Day;
    let prepared = prepare(&req).unwrap();
    let limit = prepared.frame.group_page.limit;
    assert_eq!(limit, (MAX_RESULT_VALUES - 366) / 366);
    assert!(366 + limit * 366 <= MAX_RESULT_VALUES);
}

#[test]
fn a_page_over_the_result_limit_is_refused_before_evaluation() {
    let mut req = by_owner(GroupOrder::Key, Some(1000), 0);
    req.window = window(ymd(2026, 1, 1), ymd(2027, 1, 1));
    req.granularity = Granularity::Day;
    let problems = prepare(&req).err().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "group_limit");
    assert!(
        problems[0].description.contains("366366 values"),
        "{}",
        problems[0].description
    );
    req.groups.limit = Some(0);
    assert_eq!(prepare(&req).err().unwrap()[0].field, "group_limit");
    req.groups.limit = Some(10_001);
    assert_eq!(prepare(&req).err().unwrap()[0].field, "group_limit");
}

#[test]
fn more_groups_than_the_most_allowed_is_an_error_naming_the_limit() {
    let records: Vec<Record> = (0..=crate::eval::MAX_GROUPS)
        .map(|i| won_by(&format!("owner-{i}"), &format!("d{i}"), at(2, 1, 0)))
        .collect();
    let prepared = prepare(&by_owner(GroupOrder::Key, Some(10), 0)).unwrap();
    let dataset = crate::dataset::Dataset::from_records(records);
    let error = prepared.evaluate(&dataset, None).unwrap_err();
    assert_eq!(
        error,
        crate::value::EvalError::TooManyGroups {
            limit: crate::eval::MAX_GROUPS
        }
    );
    assert!(error.to_string().contains("more than 100000 groups"));
}
