//! Raw writes store exactly what the service's upsert stores.

use crm_metrics_engine::records::{Record, RecordKind};

use super::super::tests::{fresh_store, one_of_each, read_all, shut_down};
use super::{RawMethod, write};

/// One record of each kind, with text COPY must escape in an attribute and a name.
fn records() -> Vec<Record> {
    let mut records = one_of_each();
    for record in &mut records {
        if let Record::Customer(customer) = record {
            customer.name = Some("tab\there, newline\nthere, back\\slash, cr\r".to_owned());
            customer
                .meta
                .attributes
                .insert("note\t1".to_owned(), "a\\b\nc".to_owned());
        }
    }
    records
}

#[tokio::test]
async fn copy_and_unnest_write_the_rows_the_service_writes() {
    let (store, server) = fresh_store().await;
    let records = records();
    assert!(
        RecordKind::ALL
            .iter()
            .all(|kind| records.iter().any(|r| r.kind() == *kind)),
        "every kind is covered"
    );
    store.upsert_batch("service", &records).await.unwrap();
    let copied = write(store.pool(), "copy", &records, RawMethod::Copy)
        .await
        .unwrap();
    let unnested = write(store.pool(), "unnest", &records, RawMethod::Unnest)
        .await
        .unwrap();
    assert_eq!(copied, records.len() as u64);
    assert_eq!(unnested, records.len() as u64);

    let expected = store.load("service", &read_all()).await.unwrap();
    assert_eq!(expected.len(), records.len());
    assert_eq!(store.load("copy", &read_all()).await.unwrap(), expected);
    assert_eq!(store.load("unnest", &read_all()).await.unwrap(), expected);
    shut_down(store, server).await;
}
