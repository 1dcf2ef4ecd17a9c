//! Unit tests of `records::fingerprint`: the content hash that tells an unchanged record.

use std::hash::{Hash, Hasher};

use chrono::NaiveDate;
use proptest::prelude::*;

use super::Fnv1a;
use crate::metrics::arb_records::arb_records;
use crate::money::Currency;
use crate::records::{ExchangeRate, Meta, Record};

/// The definition the fingerprint stands for: FNV-1a over the record with its version set to 0.
fn fingerprint_of_a_copy_at_version_zero(record: &Record) -> i64 {
    let mut copy = record.clone();
    copy.meta_mut().version = 0;
    let mut hasher = Fnv1a::default();
    copy.hash(&mut hasher);
    hasher.finish() as i64
}

proptest! {
    #[test]
    fn the_fingerprint_is_the_hash_of_the_record_at_version_zero(
        records in arb_records(),
        versions in prop::collection::vec(any::<i64>(), 60),
        attributes in prop::collection::vec(
            prop::collection::vec(("[a-z]{1,3}", "[a-z]{0,30}"), 0..3),
            60,
        ),
    ) {
        for ((mut record, version), attributes) in records.into_iter().zip(versions).zip(attributes) {
            let expected = fingerprint_of_a_copy_at_version_zero(&record);
            record.meta_mut().version = version;
            record.meta_mut().attributes = attributes.into_iter().collect();
            let with_attributes = fingerprint_of_a_copy_at_version_zero(&record);
            prop_assert_eq!(record.content_fingerprint(), with_attributes);
            if !record.meta().attributes.is_empty() {
                prop_assert_ne!(with_attributes, expected);
            }
        }
    }
}

#[test]
fn the_version_never_changes_the_fingerprint_and_content_does() {
    let rate = |version: i64, rate_units: i64| {
        Record::ExchangeRate(ExchangeRate {
            meta: Meta {
                id: "eur-2026-03-01".into(),
                version,
                attributes: Default::default(),
            },
            currency: Currency::parse("EUR").unwrap(),
            date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            rate_units,
            rate_scale: 4,
        })
    };
    assert_eq!(
        rate(1, 10_850).content_fingerprint(),
        rate(7, 10_850).content_fingerprint()
    );
    assert_eq!(
        rate(7, 10_850).content_fingerprint(),
        fingerprint_of_a_copy_at_version_zero(&rate(7, 10_850))
    );
    assert_ne!(
        rate(1, 10_850).content_fingerprint(),
        rate(1, 10_851).content_fingerprint()
    );
}
