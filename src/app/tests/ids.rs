//! Unit tests of `ids`: each rule and its message, in one place.

use super::*;

fn problem(result: Result<impl std::fmt::Debug, Problem>) -> (String, String) {
    let problem = result.expect_err("refused");
    (problem.field, problem.description)
}

#[test]
fn record_ids_have_1_to_128_characters_and_no_nul() {
    assert_eq!(RecordId::parse("id", "d1".into()).unwrap().as_str(), "d1");
    // 128 characters of several bytes each are within the limit.
    assert!(RecordId::parse("id", "é".repeat(128)).is_ok());
    assert_eq!(
        problem(RecordId::parse("ids[2]", String::new())),
        ("ids[2]".to_owned(), "is required".to_owned())
    );
    assert_eq!(
        problem(RecordId::parse("id", "é".repeat(129))).1,
        "must be at most 128 characters, got 129"
    );
    assert_eq!(problem(RecordId::parse("id", "a\0b".into())).1, NUL_PROBLEM);
}

#[test]
fn tenant_ids_follow_the_record_id_rules_and_are_not_blank_or_controlled() {
    assert_eq!(
        TenantId::parse("tenant_id", "acme".into())
            .unwrap()
            .to_string(),
        "acme"
    );
    assert_eq!(
        problem(TenantId::parse("tenant_id", String::new())),
        ("tenant_id".to_owned(), "is required".to_owned())
    );
    assert_eq!(
        problem(TenantId::parse("tenant_id", "t".repeat(129))).1,
        "must be at most 128 characters, got 129"
    );
    for bad in ["   ", "ac\tme", "acme\n"] {
        assert_eq!(
            problem(TenantId::parse("tenant_id", bad.into())).1,
            "must not be blank or contain control characters",
            "{bad:?}"
        );
    }
}
