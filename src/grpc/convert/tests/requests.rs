//! Unit tests of `requests`.

use super::*;

#[test]
fn tenant_ids_are_1_to_128_characters() {
    assert_eq!(tenant_from_proto("acme".into()), Ok("acme".to_owned()));
    assert_eq!(
        tenant_from_proto(String::new()).unwrap_err().field,
        "tenant_id"
    );
    assert!(tenant_from_proto("t".repeat(129)).is_err());
}

#[test]
fn delete_requests_need_a_kind_and_ids() {
    let ok = delete_request_from_proto(pb::DeleteRecordsRequest {
        tenant_id: "acme".into(),
        kind: pb::RecordKind::Deal as i32,
        ids: vec!["d1".into()],
    })
    .unwrap();
    assert_eq!(ok.kind, RecordKind::Deal);
    let problems = delete_request_from_proto(pb::DeleteRecordsRequest {
        tenant_id: String::new(),
        kind: 0,
        ids: vec![String::new()],
    })
    .unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["tenant_id", "kind", "ids[0]"]);
}

#[test]
fn erase_requests_need_a_customer() {
    let problems = erase_request_from_proto(pb::EraseCustomerRequest {
        tenant_id: "acme".into(),
        customer_id: String::new(),
    })
    .unwrap_err();
    assert_eq!(problems[0].field, "customer_id");
}
