//! Unit tests of one kind's snapshot: advancing replaces, removes and adds records, shares the
//! chunks nothing touched, and keeps its byte count equal to a fresh build's; time-bounded reads
//! select exactly what the plan selects, chunk maps or not.

use chrono::{TimeZone, Utc};
use crm_metrics_engine::money::{Currency, Money};
use crm_metrics_engine::records::{Meta, Order, OrderKind};

use super::*;

fn order(id: usize, amount: i64) -> Order {
    Order {
        meta: Meta {
            id: format!("o{id:05}").into(),
            version: 1,
            attributes: Default::default(),
        },
        customer_id: format!("c{}", id % 7).into(),
        amount: Money::new(Currency::parse("USD").unwrap(), amount),
        cost: None,
        ordered_time: Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        fulfilled_time: None,
        kind: OrderKind::New,
    }
}

fn at(seq: i64) -> Position {
    let mut position = Position::default();
    position.0[1] = seq;
    position
}

fn ids_and_amounts(snapshot: &dyn AnySnapshot) -> Vec<(String, i64)> {
    let mut view = View::default();
    snapshot.select(&KindRead::All, &mut view);
    let mut out: Vec<(String, i64)> = view
        .orders
        .iter()
        .map(|o| (o.meta.id.to_string(), o.amount.minor_units))
        .collect();
    out.sort();
    out
}

#[test]
fn advancing_replaces_removes_and_adds_and_shares_untouched_chunks() {
    // 3,000 orders: three chunks (1,024 + 1,024 + 952). Change o00005 (chunk 0), delete
    // o02500 (chunk 2), add o09999; chunk 1 is untouched and must be shared, not copied.
    let base = KindSnapshot::new((0..3000).map(|i| order(i, 100)).collect(), at(4));
    assert_eq!(base.chunks.len(), 3);
    let mut rows = Dataset {
        orders: vec![order(5, 777), order(9999, 1)],
        ..Dataset::default()
    };
    let next = base.advance(&mut rows, &["o02500".to_owned()], at(6));
    assert_eq!(next.position(), at(6));
    assert_eq!(next.record_count(), 3000);
    let seen = ids_and_amounts(next.as_ref());
    assert!(seen.contains(&("o00005".to_owned(), 777)));
    assert!(seen.contains(&("o09999".to_owned(), 1)));
    assert!(!seen.iter().any(|(id, _)| id == "o02500"));
    // The old version is untouched (requests reading it see what they started with).
    assert!(ids_and_amounts(&base).contains(&("o00005".to_owned(), 100)));
    // Bytes equal those of the same records built from scratch.
    let mut expected: Vec<Order> = (0..3000)
        .filter(|&i| i != 2500)
        .map(|i| order(i, if i == 5 { 777 } else { 100 }))
        .collect();
    expected.push(order(9999, 1));
    let fresh = KindSnapshot::new(expected, at(6));
    assert_eq!(next.bytes(), fresh.bytes());
    // Only the untouched middle chunk is shared.
    let mut view = View::default();
    next.select(&KindRead::All, &mut view);
    let middle = &base.chunks[1].records[0];
    assert!(view.orders.iter().any(|o| std::ptr::eq(*o, middle)));
    let first = &base.chunks[0].records[0];
    assert!(!view.orders.iter().any(|o| std::ptr::eq(*o, first)));
}

#[test]
fn record_sizes_count_strings_and_attributes() {
    // A longer id and an attribute add at least their bytes to the estimate.
    let plain = order(1, 100);
    let mut rich = plain.clone();
    rich.meta.id = "x".repeat(500).into();
    rich.meta
        .attributes
        .insert("region".to_owned(), "y".repeat(1000));
    let (a, b) = (approximate_bytes(&plain), approximate_bytes(&rich));
    assert!(b >= a + 1500, "{a} {b}");
    assert!(a >= std::mem::size_of::<Order>());
}

#[test]
fn packed_time_keys_select_exactly_what_the_read_plan_selects() {
    // Orders on a grid of instants, half of them fulfilled; bounds with open sides, with
    // sub-microsecond edges, on both fields, and on another kind's field.
    use crm_metrics_engine::dataset::TimeBound;
    let t = |minutes: i64| {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    };
    // 5,000 orders whose instants are scattered over ids (kept sorted by time: five chunks,
    // which bounds skip, take whole, or test record by record).
    let records: Vec<Order> = (0..5000)
        .map(|i| {
            let minute = (i as i64 * 7919) % 5000;
            let mut o = order(i, 1);
            o.ordered_time = t(minute);
            o.fulfilled_time = (i % 2 == 0).then(|| t(minute + 90));
            o
        })
        .collect();
    let snapshot = KindSnapshot::new(records.clone(), at(1));
    assert_eq!(snapshot.chunks.len(), 5);
    let nanos = chrono::Duration::nanoseconds(500);
    let reads = [
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderOrdered,
            from: Some(t(70)),
            until: Some(t(700)),
        }]),
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderOrdered,
            from: Some(t(70) + nanos),
            until: Some(t(700) + nanos),
        }]),
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderFulfilled,
            from: None,
            until: None,
        }]),
        KindRead::AnyOf(vec![
            TimeBound {
                field: TimeField::OrderFulfilled,
                from: Some(t(1000)),
                until: None,
            },
            TimeBound {
                field: TimeField::OrderOrdered,
                from: None,
                until: Some(t(35)),
            },
        ]),
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::DealClosed,
            from: None,
            until: None,
        }]),
        // Chunk edges: the first chunk whole, a bound inside one chunk, and one past them all.
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderOrdered,
            from: None,
            until: Some(t(1024)),
        }]),
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderOrdered,
            from: Some(t(2100)),
            until: Some(t(2101)),
        }]),
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderOrdered,
            from: Some(t(5000)),
            until: None,
        }]),
        KindRead::AnyOf(vec![TimeBound {
            field: TimeField::OrderFulfilled,
            from: Some(t(4000)),
            until: Some(t(4500)),
        }]),
        KindRead::AnyOf(Vec::new()),
        KindRead::All,
    ];
    for read in &reads {
        let mut view = View::default();
        snapshot.select(read, &mut view);
        let mut got: Vec<&str> = view.orders.iter().map(|o| o.meta.id.as_str()).collect();
        got.sort_unstable();
        let expected: Vec<&str> = records
            .iter()
            .filter(|o| read.selects(RecordRef::Order(o)))
            .map(|o| o.meta.id.as_str())
            .collect();
        assert_eq!(got, expected, "{read:?}");
    }
    // The records are kept in time order, so the first chunk is exactly minutes 0..1024.
    let first_chunk = &snapshot.chunks[0];
    assert_eq!(first_chunk.records.len(), 1024);
    assert!(first_chunk.records.iter().all(|o| o.ordered_time < t(1024)));
    assert_eq!(
        first_chunk.ranges[0],
        KeyRange {
            min: t(0).timestamp_micros(),
            max: t(1023).timestamp_micros(),
            any_absent: false,
        }
    );
    assert!(first_chunk.ranges[1].any_absent);
}

#[test]
fn selecting_vouches_for_the_latest_instant_of_the_chunks_it_takes_from() {
    // 3,000 orders in three chunks; one order of the last chunk is fulfilled on 04-01, every
    // other instant is 03-01. Reading all of them settles the kind from 04-01; reading only the
    // first chunk's ids by time cannot be expressed, so the whole read is the test.
    let march = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let april = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
    let mut orders: Vec<Order> = (0..3000).map(|i| order(i, 1)).collect();
    orders[2500].fulfilled_time = Some(april);
    let snapshot = KindSnapshot::new(orders, at(1));
    let mut view = View::default();
    snapshot.select(&KindRead::All, &mut view);
    assert_eq!(view.orders.len(), 3000);
    assert_eq!(view.settled[RecordKind::Order as usize], Some(april));
    assert!(view.settled_by(RecordKind::Order, april));
    assert!(!view.settled_by(RecordKind::Order, march));

    // Only the rows ordered in March's first day: the same chunks, the same vouching.
    let read = KindRead::AnyOf(vec![TimeBound {
        field: TimeField::OrderOrdered,
        from: Some(march),
        until: Some(april),
    }]);
    let mut view = View::default();
    snapshot.select(&read, &mut view);
    assert_eq!(view.orders.len(), 3000);
    assert_eq!(view.settled[RecordKind::Order as usize], Some(april));

    // A list that already holds records (read from the database) is not vouched for.
    let read_rows = [order(9999, 1)];
    let mut view = View::default();
    view.orders.push(&read_rows[0]);
    snapshot.select(&KindRead::All, &mut view);
    assert_eq!(view.settled[RecordKind::Order as usize], None);
}

#[test]
fn only_a_whole_kind_lends_its_index() {
    use crm_metrics_engine::records::{Activity, ActivityDirection, ActivityType};
    let march = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
    let activity = |id: usize| Activity {
        meta: Meta {
            id: format!("a{id}").into(),
            version: 1,
            attributes: Default::default(),
        },
        activity_type: ActivityType::Call,
        direction: ActivityDirection::Outbound,
        occurred_time: march,
        duration_seconds: None,
        lead_id: Some("l".into()),
        deal_id: None,
        customer_id: None,
        owner_id: None,
    };
    let snapshot = KindSnapshot::new((0..10).map(activity).collect(), at(1));
    // Every activity: the view borrows this version's index.
    let mut view = View::default();
    snapshot.select(&KindRead::All, &mut view);
    assert!(view.kept_indexes.activities.is_some());
    // A time-bounded read (even one that happens to take every record) does not.
    let read = KindRead::AnyOf(vec![TimeBound {
        field: TimeField::ActivityOccurred,
        from: Some(march),
        until: None,
    }]);
    let mut view = View::default();
    snapshot.select(&read, &mut view);
    assert_eq!(view.activities.len(), 10);
    assert!(view.kept_indexes.activities.is_none());
    // A whole kind of a record type no lookup indexes lends nothing.
    let orders = KindSnapshot::new((0..10).map(|i| order(i, 1)).collect(), at(1));
    let mut view = View::default();
    orders.select(&KindRead::All, &mut view);
    assert!(view.kept_indexes.activities.is_none());
    assert!(view.kept_indexes.customers.is_none());
}
