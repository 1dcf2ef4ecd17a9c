//! Unit tests of `view`, the `as_of` view over borrowed records, the in-memory read-plan filter
//! and conversion over a view.

use super::*;
use crate::currency::convert_view;
use crate::dataset::{KindRead, TimeBound, TimeField};
use crate::metrics::test_support::{customer, deal, lead, order, ymd};
use crate::money::{Currency, Money};
use crate::records::{DealStatus, Record, StageEntry};
use crate::value::EvalError;

fn dataset(records: Vec<Record>) -> Dataset {
    Dataset::from_records(records)
}

#[test]
fn as_of_borrows_unchanged_records_and_copies_only_changed_ones() {
    // d1 closed 03-05 (before as_of 03-10): unchanged, borrowed. d2 closed 03-20 (after): open
    // at as_of, a changed copy. d3 created 03-15: does not exist yet.
    let data = dataset(vec![
        deal(
            "d1",
            DealStatus::Won,
            ymd(2026, 3, 1),
            Some(ymd(2026, 3, 5)),
            100,
        ),
        deal(
            "d2",
            DealStatus::Lost,
            ymd(2026, 3, 1),
            Some(ymd(2026, 3, 20)),
            100,
        ),
        deal("d3", DealStatus::Open, ymd(2026, 3, 15), None, 100),
    ]);
    let view = View::of(&data);
    let scratch = Scratch::default();
    let seen = crate::as_of::as_of(view, ymd(2026, 3, 10), &scratch);
    assert_eq!(seen.deals.len(), 2);
    assert!(std::ptr::eq(seen.deals[0], &data.deals[0]));
    assert!(!std::ptr::eq(seen.deals[1], &data.deals[1]));
    assert_eq!(seen.deals[1].status, DealStatus::Open);
    assert_eq!(seen.deals[1].closed_time, None);
    // The stored record is untouched.
    assert_eq!(data.deals[1].status, DealStatus::Lost);
}

#[test]
fn as_of_rewrites_what_the_instant_hides() {
    // A deal's stage follows its last entry at as_of (here also when no entry was dropped but
    // the stored stage differs); a lead not converted by as_of loses its customer; a customer
    // churned later is active.
    let mut with_history = deal("d", DealStatus::Open, ymd(2026, 3, 1), None, 1);
    if let Record::Deal(d) = &mut with_history {
        d.stage = "negotiation".into();
        d.stage_history = vec![
            StageEntry {
                stage: "qualify".into(),
                entered_time: ymd(2026, 3, 1),
            },
            StageEntry {
                stage: "negotiation".into(),
                entered_time: ymd(2026, 3, 20),
            },
        ];
    }
    let mut stale_stage = deal("e", DealStatus::Open, ymd(2026, 3, 1), None, 1);
    if let Record::Deal(d) = &mut stale_stage {
        d.stage = "won_stage".into();
        d.stage_history = vec![StageEntry {
            stage: "qualify".into(),
            entered_time: ymd(2026, 3, 1),
        }];
    }
    let mut unconverted = lead("l", ymd(2026, 3, 1));
    if let Record::Lead(l) = &mut unconverted {
        l.customer_id = Some("c".into());
    }
    let data = dataset(vec![
        with_history,
        stale_stage,
        unconverted,
        customer("c", ymd(2026, 1, 1), Some(ymd(2026, 4, 1))),
    ]);
    let view = View::of(&data);
    let scratch = Scratch::default();
    let seen = crate::as_of::as_of(view, ymd(2026, 3, 10), &scratch);
    assert_eq!(seen.deals[0].stage, "qualify");
    assert_eq!(seen.deals[0].stage_history.len(), 1);
    assert_eq!(seen.deals[1].stage, "qualify");
    assert_eq!(seen.leads[0].customer_id, None);
    assert_eq!(seen.customers[0].churned_time, None);
}

#[test]
fn kind_read_selects_like_the_storage_scan() {
    // [from, until): from inclusive, until exclusive; an absent field never matches, even with
    // both sides open.
    let data = dataset(vec![
        deal(
            "a",
            DealStatus::Won,
            ymd(2026, 1, 1),
            Some(ymd(2026, 3, 1)),
            1,
        ),
        deal(
            "b",
            DealStatus::Won,
            ymd(2026, 1, 1),
            Some(ymd(2026, 4, 1)),
            1,
        ),
        deal("c", DealStatus::Open, ymd(2026, 1, 1), None, 1),
    ]);
    let closed = |from, until| {
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::DealClosed,
            from,
            until,
        }])
    };
    let selected = |read: &KindRead| -> Vec<&str> {
        data.deals
            .iter()
            .filter(|d| read.selects(RecordRef::Deal(d)))
            .map(|d| d.meta.id.as_str())
            .collect()
    };
    let q1 = closed(Some(ymd(2026, 3, 1)), Some(ymd(2026, 4, 1)));
    assert_eq!(selected(&q1), vec!["a"]);
    assert_eq!(selected(&closed(None, None)), vec!["a", "b"]);
    assert_eq!(selected(&KindRead::All), vec!["a", "b", "c"]);
    assert_eq!(selected(&KindRead::AnyOf(Vec::new())), Vec::<&str>::new());
    // A bound of another kind's field selects nothing.
    let other = KindRead::AnyOf(vec![TimeBound {
        field: TimeField::OrderOrdered,
        from: None,
        until: None,
    }]);
    assert_eq!(selected(&other), Vec::<&str>::new());
}

#[test]
fn conversion_over_a_view_names_the_earliest_missing_rate_whatever_the_order() {
    // GBP and JPY have rates only from 03-25: a GBP order on 03-20 and a JPY order on 03-05 both
    // lack one; the error names 2026-03-05 JPY in either order. A USD order needs no conversion
    // and stays borrowed.
    let usd = Currency::parse("USD").unwrap();
    let with_currency = |record: Record, code: &str| match record {
        Record::Order(mut o) => {
            o.amount = Money::new(Currency::parse(code).unwrap(), 100);
            Record::Order(o)
        }
        other => other,
    };
    let gbp = with_currency(order("g", "c", ymd(2026, 3, 20), 100), "GBP");
    let jpy = with_currency(order("j", "c", ymd(2026, 3, 5), 100), "JPY");
    let plain = order("u", "c", ymd(2026, 3, 1), 100);
    let late_rate = |code: &str| {
        Record::ExchangeRate(crate::records::ExchangeRate {
            meta: crate::records::Meta::default(),
            currency: Currency::parse(code).unwrap(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 25).unwrap(),
            rate_units: 1,
            rate_scale: 0,
        })
    };
    let rates = [late_rate("GBP"), late_rate("JPY")];
    for mut records in [
        vec![gbp.clone(), jpy.clone(), plain.clone()],
        vec![plain.clone(), jpy.clone(), gbp.clone()],
    ] {
        records.extend(rates.clone());
        let data = dataset(records);
        let scratch = Scratch::default();
        let mut view = View::of(&data);
        let error = convert_view(&mut view, usd, Some(usd), chrono_tz::UTC, &scratch).unwrap_err();
        assert_eq!(
            error,
            EvalError::MissingRate {
                currency: "JPY".into(),
                date: "2026-03-05".into()
            }
        );
    }
    let data = dataset(vec![plain]);
    let scratch = Scratch::default();
    let mut view = View::of(&data);
    convert_view(&mut view, usd, Some(usd), chrono_tz::UTC, &scratch).unwrap();
    assert!(std::ptr::eq(view.orders[0], &data.orders[0]));
}

#[test]
fn from_unchanged_from_on_the_as_of_view_keeps_a_record_as_it_is() {
    // Each record's latest instant is 03-20: a close, a conversion, a churn, a fulfilment.
    let later = ymd(2026, 3, 20);
    let mut converted = lead("l", ymd(2026, 3, 1));
    if let Record::Lead(l) = &mut converted {
        l.converted_time = Some(later);
        l.customer_id = Some("c".into());
    }
    let mut fulfilled = order("o", "c", ymd(2026, 3, 1), 100);
    if let Record::Order(o) = &mut fulfilled {
        o.fulfilled_time = Some(later);
    }
    let data = dataset(vec![
        deal("d", DealStatus::Won, ymd(2026, 3, 1), Some(later), 100),
        converted,
        customer("c", ymd(2026, 1, 1), Some(later)),
        fulfilled,
    ]);
    let view = View::of(&data);
    let mut records = 0;
    for kind in RecordKind::ALL {
        view.for_each_of_kind(kind, |record| {
            records += 1;
            assert_eq!(crate::as_of::unchanged_from(record), Some(later));
        });
    }
    assert_eq!(records, 4);
    let scratch = Scratch::default();
    for at in [later, ymd(2026, 4, 1)] {
        let seen = crate::as_of::as_of(View::of(&data), at, &scratch);
        assert!(std::ptr::eq(seen.deals[0], &data.deals[0]));
        assert!(std::ptr::eq(seen.leads[0], &data.leads[0]));
        assert!(std::ptr::eq(seen.customers[0], &data.customers[0]));
        assert!(std::ptr::eq(seen.orders[0], &data.orders[0]));
    }
    // A second earlier, every one of them is seen changed.
    let seen = crate::as_of::as_of(
        View::of(&data),
        later - chrono::Duration::seconds(1),
        &scratch,
    );
    assert_eq!(seen.deals[0].status, DealStatus::Open);
    assert_eq!(seen.leads[0].customer_id, None);
    assert_eq!(seen.customers[0].churned_time, None);
    assert_eq!(seen.orders[0].fulfilled_time, None);
}

#[test]
fn records_the_view_always_changes_are_never_unchanged() {
    let mut unconverted = lead("l", ymd(2026, 3, 1));
    if let Record::Lead(l) = &mut unconverted {
        l.customer_id = Some("c".into());
    }
    let mut stale_stage = deal("d", DealStatus::Open, ymd(2026, 3, 1), None, 1);
    if let Record::Deal(d) = &mut stale_stage {
        d.stage = "negotiation".into();
        d.stage_history = vec![StageEntry {
            stage: "qualify".into(),
            entered_time: ymd(2026, 3, 1),
        }];
    }
    let data = dataset(vec![unconverted, stale_stage]);
    assert_eq!(
        crate::as_of::unchanged_from(RecordRef::Lead(&data.leads[0])),
        None
    );
    assert_eq!(
        crate::as_of::unchanged_from(RecordRef::Deal(&data.deals[0])),
        None
    );
}

#[test]
fn a_kind_the_view_marks_settled_is_taken_as_it_is() {
    // d closes 03-20, after as_of 03-10: the pass would show it open. Marked settled from 03-01,
    // the kind is not looked at (the snapshot vouches for it); marked from 03-20, it is.
    let data = dataset(vec![deal(
        "d",
        DealStatus::Won,
        ymd(2026, 3, 1),
        Some(ymd(2026, 3, 20)),
        100,
    )]);
    let scratch = Scratch::default();
    let at = ymd(2026, 3, 10);
    let mut vouched = View::of(&data);
    vouched.settle(RecordKind::Deal, Some(ymd(2026, 3, 1)));
    assert!(vouched.settled_by(RecordKind::Deal, at));
    let seen = crate::as_of::as_of(vouched, at, &scratch);
    assert!(std::ptr::eq(seen.deals[0], &data.deals[0]));

    let mut later = View::of(&data);
    later.settle(RecordKind::Deal, Some(ymd(2026, 3, 20)));
    assert!(!later.settled_by(RecordKind::Deal, at));
    let seen = crate::as_of::as_of(later, at, &scratch);
    assert_eq!(seen.deals[0].status, DealStatus::Open);
}

proptest::proptest! {
    /// Whatever a record's instants, the `as_of` view keeps it as it is (the same reference)
    /// at every instant from `unchanged_from` on.
    #[test]
    fn unchanged_from_is_where_the_pass_keeps_every_record(
        times in proptest::collection::vec(crate::metrics::test_support::arb_time(), 8),
        present in proptest::collection::vec(proptest::bool::ANY, 8),
        at in crate::metrics::test_support::arb_time(),
    ) {
        let maybe = |i: usize| present[i].then_some(times[i]);
        let created = times[0];
        let mut with_history = deal("d", DealStatus::Won, created, maybe(1), 1);
        if let Record::Deal(d) = &mut with_history {
            d.stage_history = [maybe(2), maybe(3)]
                .into_iter()
                .flatten()
                .map(|t| StageEntry { stage: "open".into(), entered_time: t })
                .collect();
        }
        let mut converted = lead("l", created);
        if let Record::Lead(l) = &mut converted {
            l.qualified_time = maybe(1);
            l.converted_time = maybe(2);
            l.customer_id = l.converted_time.map(|_| "c".into());
            l.disqualified_time = maybe(3);
            l.first_response_time = maybe(4);
        }
        let mut fulfilled = order("o", "c", created, 1);
        if let Record::Order(o) = &mut fulfilled {
            o.fulfilled_time = maybe(5);
        }
        let data = dataset(vec![
            with_history,
            converted,
            customer("c", created, maybe(6)),
            fulfilled,
        ]);
        let scratch = Scratch::default();
        let seen = crate::as_of::as_of(View::of(&data), at, &scratch);
        let view = View::of(&data);
        let mut records = Vec::new();
        for kind in RecordKind::ALL {
            view.for_each_of_kind(kind, |record| records.push(record));
        }
        for record in records {
            let Some(from) = crate::as_of::unchanged_from(record) else {
                continue;
            };
            if at < from {
                continue;
            }
            let kept = match record {
                RecordRef::Deal(r) => seen.deals.iter().any(|s| std::ptr::eq(*s, r)),
                RecordRef::Lead(r) => seen.leads.iter().any(|s| std::ptr::eq(*s, r)),
                RecordRef::Customer(r) => seen.customers.iter().any(|s| std::ptr::eq(*s, r)),
                RecordRef::Order(r) => seen.orders.iter().any(|s| std::ptr::eq(*s, r)),
                _ => true,
            };
            proptest::prop_assert!(kept, "{record:?} changed at {at} though unchanged from {from}");
        }
    }
}

#[test]
fn a_kept_activity_index_serves_only_the_list_it_was_built_over() {
    use crate::context::{KeptActivityIndex, KeptIndexes, Lookup};
    use crate::metrics::test_support::sales_activity;
    use crate::records::ActivityDirection::Outbound;
    // An outbound call on lead L on 03-20 and one on deal D on 03-05.
    let data = dataset(vec![
        sales_activity("a1", Outbound, ymd(2026, 3, 20), Some("L"), None),
        sales_activity("a2", Outbound, ymd(2026, 3, 5), None, Some("D")),
    ]);
    let kept = KeptActivityIndex::default();
    let lend = || View {
        kept_indexes: KeptIndexes {
            activities: Some(&kept),
            ..KeptIndexes::default()
        },
        ..View::of(&data)
    };
    // Seen as of 03-31, the whole list: the first request builds the kept index.
    let scratch = Scratch::default();
    let seen = crate::as_of::as_of(lend(), ymd(2026, 3, 31), &scratch);
    assert!(seen.kept_indexes.activities.is_some());
    let lookup = Lookup::new(&seen);
    assert!(!kept.is_built());
    assert_eq!(
        lookup.first_outbound_activity_on_lead("L"),
        Some(ymd(2026, 3, 20))
    );
    assert!(kept.is_built());
    // As of 03-10 the call on L has not happened: the list is shorter, the index is not lent,
    // and the lookup indexes the list it sees.
    let seen = crate::as_of::as_of(lend(), ymd(2026, 3, 10), &scratch);
    assert!(seen.kept_indexes.activities.is_none());
    let lookup = Lookup::new(&seen);
    assert_eq!(lookup.first_outbound_activity_on_lead("L"), None);
    assert_eq!(lookup.first_activity_on_deal("D"), Some(ymd(2026, 3, 5)));
    // Adding an activity to a lent list withdraws the index.
    let mut view = lend();
    view.push(RecordRef::Activity(&data.activities[0]));
    assert!(view.kept_indexes.activities.is_none());
}

#[test]
fn a_kept_id_index_finds_records_the_as_of_view_rewrote_in_their_places() {
    use crate::context::{KeptIdIndex, KeptIndexes, Lookup};
    // c1 acquired 03-01 and churned 03-20; c2 acquired 03-05.
    let data = dataset(vec![
        customer("c1", ymd(2026, 3, 1), Some(ymd(2026, 3, 20))),
        customer("c2", ymd(2026, 3, 5), None),
    ]);
    let kept = KeptIdIndex::default();
    let lend = || View {
        kept_indexes: KeptIndexes {
            customers: Some(&kept),
            ..KeptIndexes::default()
        },
        ..View::of(&data)
    };
    let scratch = Scratch::default();
    // As of 03-10 both exist; c1's churn is hidden (a rewritten copy in c1's place): the kept
    // index is lent, built, and finds the copy.
    let seen = crate::as_of::as_of(lend(), ymd(2026, 3, 10), &scratch);
    assert!(seen.kept_indexes.customers.is_some());
    let lookup = Lookup::new(&seen);
    assert_eq!(lookup.customer("c1").map(|c| c.churned_time), Some(None));
    assert_eq!(
        lookup.customer("c2").map(|c| c.meta.id.as_str()),
        Some("c2")
    );
    assert!(lookup.customer("c3").is_none());
    assert!(kept.is_built());
    // As of 03-02 c2 does not exist yet: the list is shorter, the index is not lent.
    let seen = crate::as_of::as_of(lend(), ymd(2026, 3, 2), &scratch);
    assert!(seen.kept_indexes.customers.is_none());
    let lookup = Lookup::new(&seen);
    assert!(lookup.customer("c2").is_none());
    assert!(lookup.customer("c1").is_some());
}
