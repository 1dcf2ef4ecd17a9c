//! Unit tests of `policy`: parsing and deciding grants.

use super::{Permission, Policy};
use crate::auth::Principal;

const POLICY: &str = r#"{
  "grants": [
    { "principals": ["spiffe://cluster.local/ns/sales/sa/backend"],
      "permissions": ["ingest", "read"], "tenants": ["acme", "globex-*"] },
    { "principals": ["spiffe://cluster.local/ns/ops/*"], "permissions": ["admin"], "tenants": ["*"] },
    { "principals": ["jwt:*"], "permissions": ["read"], "tenant_claim": "tenants" }
  ]
}"#;

fn jwt_principal(sub: &str, tenants: serde_json::Value) -> Principal {
    let mut principal = Principal::named(format!("jwt:{sub}"));
    principal.claims.insert("tenants".to_owned(), tenants);
    principal
}

#[test]
fn grants_match_exact_and_prefix_patterns() {
    let policy = Policy::parse(POLICY).unwrap();
    let backend = Principal::named("spiffe://cluster.local/ns/sales/sa/backend");
    assert!(policy.allows(&backend, Permission::Ingest, "acme"));
    assert!(policy.allows(&backend, Permission::Read, "globex-eu"));
    assert!(policy.allows(&backend, Permission::Read, "globex-"));
    assert!(!policy.allows(&backend, Permission::Read, "globex"));
    assert!(!policy.allows(&backend, Permission::Read, "acme-2"));
    assert!(!policy.allows(&backend, Permission::Delete, "acme"));
    assert!(!policy.allows(&backend, Permission::Erase, "acme"));
    // A longer principal is not the exact one.
    let other = Principal::named("spiffe://cluster.local/ns/sales/sa/backend2");
    assert!(!policy.allows(&other, Permission::Read, "acme"));
}

#[test]
fn admin_holds_every_permission() {
    let policy = Policy::parse(POLICY).unwrap();
    let ops = Principal::named("spiffe://cluster.local/ns/ops/sa/oncall");
    for permission in [
        Permission::Ingest,
        Permission::Read,
        Permission::Delete,
        Permission::Erase,
        Permission::Admin,
    ] {
        assert!(
            policy.allows(&ops, permission, "any-tenant"),
            "{permission}"
        );
    }
}

#[test]
fn a_claim_names_tenants_exactly() {
    let policy = Policy::parse(POLICY).unwrap();
    let list = jwt_principal("ana", serde_json::json!(["acme", "initech"]));
    assert!(policy.allows(&list, Permission::Read, "acme"));
    assert!(policy.allows(&list, Permission::Read, "initech"));
    assert!(!policy.allows(&list, Permission::Read, "acm"));
    assert!(!policy.allows(&list, Permission::Ingest, "acme"));
    let single = jwt_principal("bo", serde_json::json!("acme"));
    assert!(policy.allows(&single, Permission::Read, "acme"));
    // A claim that is neither a string nor a list of strings grants nothing.
    let number = jwt_principal("cy", serde_json::json!(7));
    assert!(!policy.allows(&number, Permission::Read, "7"));
    let none = Principal::named("jwt:dee");
    assert!(!policy.allows(&none, Permission::Read, "acme"));
}

#[test]
fn mistakes_in_the_file_are_errors() {
    let cases = [
        (
            r#"{"grants": [{"principals": ["a"], "permissions": ["raed"], "tenants": ["t"]}]}"#,
            "raed",
        ),
        (
            r#"{"grants": [{"principals": ["a"], "permissions": ["read"], "tenant": ["t"]}]}"#,
            "tenant",
        ),
        (
            r#"{"grants": [{"principals": [], "permissions": ["read"], "tenants": ["t"]}]}"#,
            "grants[0].principals",
        ),
        (
            r#"{"grants": [{"principals": ["a"], "permissions": [], "tenants": ["t"]}]}"#,
            "grants[0].permissions",
        ),
        (
            r#"{"grants": [{"principals": ["a"], "permissions": ["read"]}]}"#,
            "grants[0] needs",
        ),
        (
            r#"{"grants": [{"principals": ["a"], "permissions": ["read"], "tenants": ["t"], "tenant_claim": "c"}]}"#,
            "grants[0] needs",
        ),
        (
            r#"{"grants": [{"principals": ["a"], "permissions": ["read"], "tenants": [""]}]}"#,
            "grants[0] needs",
        ),
        (r#"{"grant": []}"#, "grant"),
        ("not json", "expected"),
    ];
    for (text, expected) in cases {
        let error = Policy::parse(text).unwrap_err();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn an_empty_policy_denies_everything() {
    let policy = Policy::parse(r#"{"grants": []}"#).unwrap();
    assert!(!policy.allows(&Principal::named("anyone"), Permission::Read, "acme"));
}
