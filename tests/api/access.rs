//! Caller identity and per-tenant authorization, through the API: each identity source × each
//! permission × own tenant / other tenant / no identity, spoofed mesh headers, bad tokens, the
//! tenant in metadata, streams, and the refusal to serve open on a public address.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crm_metrics::config::Config;
use crm_metrics::grpc::pb;
use crm_metrics::startup::Application;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::helpers::{TestApp, customer, march, metric, money, order, ts};

const ISTIO_BACKEND: &str = "spiffe://cluster.local/ns/sales/sa/backend";
const ISTIO_DASHBOARD: &str = "spiffe://cluster.local/ns/bi/sa/dashboard";
const LINKERD_BACKEND: &str = "backend.sales.serviceaccount.identity.linkerd.cluster.local";
const ISSUER: &str = "https://issuer.example.test";
const AUDIENCE: &str = "crm-metrics";

/// The policy under test: the two mesh backends may do everything on `acme`, the dashboard may
/// only read it, and a token's `tenants` claim names what its subject may do everything on.
fn policy_json() -> String {
    serde_json::json!({
        "grants": [
            { "principals": [ISTIO_BACKEND, LINKERD_BACKEND],
              "permissions": ["ingest", "read", "delete", "erase"], "tenants": ["acme"] },
            { "principals": [ISTIO_DASHBOARD], "permissions": ["read"], "tenants": ["acme"] },
            { "principals": ["jwt:*"], "permissions": ["ingest", "read", "delete", "erase"],
              "tenant_claim": "tenants" }
        ]
    })
    .to_string()
}

/// An Ed25519 key pair for signing test tokens.
struct SigningKey {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    kid: &'static str,
}

impl SigningKey {
    fn generate(kid: &'static str) -> SigningKey {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        SigningKey {
            pkcs8: pkcs8.as_ref().to_vec(),
            public: pair.public_key().as_ref().to_vec(),
            kid,
        }
    }

    fn jwks(&self) -> String {
        serde_json::json!({ "keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public)
        }]})
        .to_string()
    }

    fn sign(&self, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&self.pkcs8)).unwrap()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for subject `ana`, who may act on `tenants`.
fn claims(tenants: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "sub": "ana", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "tenants": tenants
    })
}

/// Writes the policy and the key set to `dir` and points the configuration at them.
fn configure_access(config: &mut Config, dir: &Path, key: &SigningKey, mesh: bool) {
    let policy = dir.join("policy.json");
    let jwks = dir.join("jwks.json");
    std::fs::write(&policy, policy_json()).unwrap();
    std::fs::write(&jwks, key.jwks()).unwrap();
    config.auth.policy_file = Some(policy);
    config.auth.jwt_jwks_file = Some(jwks);
    config.auth.jwt_issuer = Some(ISSUER.to_owned());
    config.auth.jwt_audience = Some(AUDIENCE.to_owned());
    config.auth.trust_istio_identity = mesh;
    config.auth.trust_linkerd_identity = mesh;
}

/// How a test call identifies itself.
#[derive(Debug, Clone)]
enum Identity {
    Istio(&'static str),
    Linkerd(&'static str),
    Bearer(String),
    Nobody,
}

fn xfcc(uri: &str) -> String {
    format!("By=spiffe://cluster.local/ns/crm/sa/crm-metrics;Hash=0f1e2d;Subject=\"\";URI={uri}")
}

fn identified<T>(message: T, identity: &Identity) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    match identity {
        Identity::Istio(uri) => {
            metadata.insert("x-forwarded-client-cert", xfcc(uri).parse().unwrap());
        }
        Identity::Linkerd(id) => {
            metadata.insert("l5d-client-id", id.parse().unwrap());
        }
        Identity::Bearer(token) => {
            metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        Identity::Nobody => {}
    }
    request
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    Ingest,
    Read,
    Delete,
    Erase,
}

/// Makes the call that needs `call`'s permission on `tenant`, and returns its code.
async fn code_of(app: &mut TestApp, call: Call, tenant: &str, identity: &Identity) -> Code {
    let tenant = tenant.to_owned();
    let result = match call {
        Call::Ingest => app
            .ingest
            .ingest_records(identified(
                pb::IngestRecordsRequest {
                    tenant_id: tenant,
                    records: vec![customer("c1", ts(2026, 3, 2, 0, 0), None)],
                },
                identity,
            ))
            .await
            .map(|_| ()),
        Call::Read => {
            let mut request = app.request(vec![metric("revenue")], march());
            request.tenant_id = tenant;
            app.metrics
                .compute_metrics(identified(request, identity))
                .await
                .map(|_| ())
        }
        Call::Delete => app
            .ingest
            .delete_records(identified(
                pb::DeleteRecordsRequest {
                    tenant_id: tenant,
                    kind: pb::RecordKind::Customer as i32,
                    ids: vec!["c-none".to_owned()],
                },
                identity,
            ))
            .await
            .map(|_| ()),
        Call::Erase => app
            .ingest
            .erase_customer(identified(
                pb::EraseCustomerRequest {
                    tenant_id: tenant,
                    customer_id: "c-none".to_owned(),
                },
                identity,
            ))
            .await
            .map(|_| ()),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

const CALLS: [Call; 4] = [Call::Ingest, Call::Read, Call::Delete, Call::Erase];

#[tokio::test]
async fn every_identity_source_gets_its_own_tenant_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, true)).await;
    let sources = [
        Identity::Istio(ISTIO_BACKEND),
        Identity::Linkerd(LINKERD_BACKEND),
        Identity::Bearer(key.sign(claims(&["acme"]))),
    ];
    let mut seen = Vec::new();
    for identity in &sources {
        for call in CALLS {
            seen.push((
                format!("{identity:?} {call:?} acme"),
                code_of(&mut app, call, "acme", identity).await,
                Code::Ok,
            ));
            seen.push((
                format!("{identity:?} {call:?} globex"),
                code_of(&mut app, call, "globex", identity).await,
                Code::PermissionDenied,
            ));
        }
    }
    for call in CALLS {
        for tenant in ["acme", "globex"] {
            seen.push((
                format!("nobody {call:?} {tenant}"),
                code_of(&mut app, call, tenant, &Identity::Nobody).await,
                Code::Unauthenticated,
            ));
        }
    }
    // A principal granted only `read` reads and does nothing else.
    let dashboard = Identity::Istio(ISTIO_DASHBOARD);
    for call in CALLS {
        let expected = if call == Call::Read {
            Code::Ok
        } else {
            Code::PermissionDenied
        };
        seen.push((
            format!("dashboard {call:?} acme"),
            code_of(&mut app, call, "acme", &dashboard).await,
            expected,
        ));
    }
    let wrong: Vec<_> = seen.iter().filter(|(_, got, want)| got != want).collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(seen.len(), 3 * 4 * 2 + 4 * 2 + 4);
}

#[tokio::test]
async fn settings_are_read_with_read_and_changed_only_with_admin() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, true)).await;
    let get = |identity: &Identity, tenant: &str| {
        identified(
            pb::GetTenantSettingsRequest {
                tenant_id: tenant.to_owned(),
            },
            identity,
        )
    };
    let update = |identity: &Identity| {
        identified(
            pb::UpdateTenantSettingsRequest {
                tenant_id: "acme".to_owned(),
                settings: Some(pb::TenantSettings::default()),
                etag: String::new(),
            },
            identity,
        )
    };
    let dashboard = Identity::Istio(ISTIO_DASHBOARD);
    assert!(
        app.tenants
            .get_tenant_settings(get(&dashboard, "acme"))
            .await
            .is_ok()
    );
    let status = app
        .tenants
        .get_tenant_settings(get(&dashboard, "globex"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Not even a principal with every other permission on acme may change its settings.
    for identity in [dashboard, Identity::Istio(ISTIO_BACKEND)] {
        let status = app
            .tenants
            .update_tenant_settings(update(&identity))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{identity:?}");
        assert!(status.message().contains("admin"), "{}", status.message());
    }
    let status = app
        .tenants
        .update_tenant_settings(update(&Identity::Nobody))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    app.shutdown().await;
}

#[tokio::test]
async fn a_denial_names_the_permission_and_the_catalog_needs_an_identity() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, true)).await;
    let denied = app
        .ingest
        .delete_records(identified(
            pb::DeleteRecordsRequest {
                tenant_id: "acme".to_owned(),
                kind: pb::RecordKind::Customer as i32,
                ids: vec!["c1".to_owned()],
            },
            &Identity::Istio(ISTIO_DASHBOARD),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(
        denied.message().contains("delete permission"),
        "{}",
        denied.message()
    );
    assert!(
        denied.message().contains(ISTIO_DASHBOARD),
        "{}",
        denied.message()
    );
    let anonymous = app
        .metrics
        .list_metrics(pb::ListMetricsRequest {})
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let listed = app
        .metrics
        .list_metrics(identified(
            pb::ListMetricsRequest {},
            &Identity::Istio(ISTIO_DASHBOARD),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.metrics.len() > 50);
}

#[tokio::test]
async fn mesh_headers_are_ignored_unless_the_mesh_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, false)).await;
    for spoofed in [
        Identity::Istio(ISTIO_BACKEND),
        Identity::Linkerd(LINKERD_BACKEND),
    ] {
        for call in CALLS {
            assert_eq!(
                code_of(&mut app, call, "acme", &spoofed).await,
                Code::Unauthenticated,
                "{spoofed:?} {call:?}"
            );
        }
    }
    // The token source still works on the same server.
    let bearer = Identity::Bearer(key.sign(claims(&["acme"])));
    assert_eq!(
        code_of(&mut app, Call::Read, "acme", &bearer).await,
        Code::Ok
    );
}

#[tokio::test]
async fn tokens_are_checked_for_signature_issuer_audience_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, true)).await;
    let stranger = SigningKey::generate("k1");
    let mut expired = claims(&["acme"]);
    expired["exp"] = serde_json::json!(now() - 3600);
    let mut other_audience = claims(&["acme"]);
    other_audience["aud"] = serde_json::json!("someone-else");
    let mut other_issuer = claims(&["acme"]);
    other_issuer["iss"] = serde_json::json!("https://evil.example.test");
    let mut no_subject = claims(&["acme"]);
    no_subject.as_object_mut().unwrap().remove("sub");
    let mut not_yet = claims(&["acme"]);
    not_yet["nbf"] = serde_json::json!(now() + 3600);
    let bad = [
        ("expired", key.sign(expired)),
        ("other audience", key.sign(other_audience)),
        ("other issuer", key.sign(other_issuer)),
        ("no subject", key.sign(no_subject)),
        ("not yet valid", key.sign(not_yet)),
        ("signed by another key", stranger.sign(claims(&["acme"]))),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in bad {
        assert_eq!(
            code_of(&mut app, Call::Read, "acme", &Identity::Bearer(token)).await,
            Code::Unauthenticated,
            "{what}"
        );
    }
    // A bad token is refused even when a trusted mesh identity comes with it.
    let mut request = identified(pb::ListMetricsRequest {}, &Identity::Istio(ISTIO_BACKEND));
    request.metadata_mut().insert(
        "authorization",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l".parse().unwrap(),
    );
    let status = app.metrics.list_metrics(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn the_tenant_may_come_as_metadata_and_must_agree_with_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, true)).await;
    let backend = Identity::Istio(ISTIO_BACKEND);
    let with_tenant = |tenant: &str, request: pb::IngestRecordsRequest| {
        let mut request = identified(request, &backend);
        request
            .metadata_mut()
            .insert("x-tenant-id", tenant.parse().unwrap());
        request
    };
    let records = vec![
        order("o1", "c1", ts(2026, 3, 2, 0, 0), 1_000),
        order("o2", "c2", ts(2026, 3, 3, 0, 0), 2_500),
    ];
    // Only the metadata names the tenant.
    let accepted = app
        .ingest
        .ingest_records(with_tenant(
            "acme",
            pb::IngestRecordsRequest {
                tenant_id: String::new(),
                records: records.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.created, 2);
    // They disagree.
    let status = app
        .ingest
        .ingest_records(with_tenant(
            "acme",
            pb::IngestRecordsRequest {
                tenant_id: "globex".to_owned(),
                records: records.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::helpers::violations(&status), ["tenant_id"]);
    // The metadata's tenant is authorized like the request's.
    let status = app
        .ingest
        .ingest_records(with_tenant(
            "globex",
            pb::IngestRecordsRequest {
                tenant_id: String::new(),
                records,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // What the metadata-only call wrote is acme's.
    let mut request = app.request(vec![metric("revenue")], march());
    request.tenant_id = String::new();
    let mut request = identified(request, &backend);
    request
        .metadata_mut()
        .insert("x-tenant-id", "acme".parse().unwrap());
    let report = app
        .metrics
        .compute_metrics(request)
        .await
        .unwrap()
        .into_inner();
    let total = report.reports[0].total.as_ref().unwrap();
    assert_eq!(money(total), ("USD".to_owned(), 3_500));
}

#[tokio::test]
async fn a_stream_authorizes_each_batch_on_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("k1");
    let mut app = TestApp::spawn_with(|c| configure_access(c, dir.path(), &key, true)).await;
    let batch = |tenant: &str, id: &str| pb::StreamRecordsRequest {
        tenant_id: tenant.to_owned(),
        records: vec![customer(id, ts(2026, 3, 2, 0, 0), None)],
    };
    let batches = vec![
        batch("acme", "c1"),
        batch("globex", "c2"),
        batch("acme", "c3"),
    ];
    let token = key.sign(claims(&["acme"]));
    let request = identified(tokio_stream::iter(batches), &Identity::Bearer(token));
    let mut acks = app
        .ingest
        .stream_records(request)
        .await
        .unwrap()
        .into_inner();
    let mut outcomes = Vec::new();
    while let Some(ack) = acks.next().await {
        outcomes.push(match ack.unwrap().result.unwrap() {
            pb::stream_records_response::Result::Accepted(accepted) => {
                format!("accepted {}", accepted.created)
            }
            pb::stream_records_response::Result::Rejected(rejected) => {
                format!("rejected {:?}", Code::from(rejected.code))
            }
        });
    }
    assert_eq!(
        outcomes,
        ["accepted 1", "rejected PermissionDenied", "accepted 1"]
    );
    // A stream without identity does not open.
    let status = app
        .ingest
        .stream_records(tokio_stream::iter(vec![batch("acme", "c4")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn an_open_service_starts_only_on_loopback_unless_allowed() {
    let url = "postgres://unused.invalid/none".to_owned();
    let public = Config::for_database(url.clone(), "0.0.0.0:0".parse().unwrap())
        .expect("the default configuration");
    let refused = Application::build(public).await.err().unwrap();
    assert!(
        refused.to_string().contains("--allow-open-access"),
        "{refused}"
    );
    // A policy without an identity source could never grant anything.
    let dir = tempfile::tempdir().unwrap();
    let mut no_source =
        Config::for_database(url, "0.0.0.0:0".parse().unwrap()).expect("the default configuration");
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, policy_json()).unwrap();
    no_source.auth.policy_file = Some(policy);
    let refused = Application::build(no_source).await.err().unwrap();
    assert!(refused.to_string().contains("identity source"), "{refused}");
    // Explicitly allowed, it serves open (on a public address; nothing connects to it here).
    let app = TestApp::spawn_with(|c| {
        c.listen = "0.0.0.0:0".parse().unwrap();
        c.auth.allow_open_access = true;
    })
    .await;
    app.shutdown().await;
}
