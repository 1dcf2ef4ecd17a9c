//! The service's own TLS for deployments without a mesh: server certificates, and callers
//! identified by client certificates signed by the configured CA (SPIFFE URI SAN, else `dns:` and
//! the DNS SAN).

use std::path::Path;

use crm_metrics::config::Config;
use crm_metrics::grpc::pb;
use crm_metrics::grpc::pb::ingest_service_client::IngestServiceClient;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::helpers::{TestApp, customer, march, metric, ts};

const BACKEND: &str = "spiffe://cluster.local/ns/sales/sa/backend";
const REPORTING: &str = "reporting.crm.internal";

/// A certificate authority that signs test certificates.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        Authority {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `dns` names and `uris`, with its key, both PEM.
    fn sign(&self, dns: &[&str], uris: &[&str]) -> (String, String) {
        let mut params =
            CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>()).unwrap();
        for uri in uris {
            params
                .subject_alt_names
                .push(SanType::URI((*uri).try_into().unwrap()));
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Serve TLS as `localhost`, require client certificates of `clients`, and grant the backend
/// everything on acme and the reporting service `read` on it.
fn configure(config: &mut Config, dir: &Path, server: &Authority, clients: &Authority) {
    let (cert, key) = server.sign(&["localhost"], &[]);
    config.auth.tls_cert_file = Some(write(dir, "server.pem", &cert));
    config.auth.tls_key_file = Some(write(dir, "server.key", &key));
    config.auth.tls_client_ca_file = Some(write(dir, "clients-ca.pem", &clients.pem()));
    let policy = serde_json::json!({
        "grants": [
            { "principals": [BACKEND], "permissions": ["ingest", "read", "delete", "erase"],
              "tenants": ["acme"] },
            { "principals": [format!("dns:{REPORTING}")], "permissions": ["read"],
              "tenants": ["acme"] }
        ]
    });
    config.auth.policy_file = Some(write(dir, "policy.json", &policy.to_string()));
}

fn client_tls(server: &Authority, client: Option<(String, String)>) -> ClientTlsConfig {
    let tls = ClientTlsConfig::new()
        .domain_name("localhost")
        .ca_certificate(Certificate::from_pem(server.pem()));
    match client {
        Some((cert, key)) => tls.identity(Identity::from_pem(cert, key)),
        None => tls,
    }
}

async fn ingest(client: &mut IngestServiceClient<Channel>, tenant: &str) -> Code {
    let request = pb::IngestRecordsRequest {
        tenant_id: tenant.to_owned(),
        records: vec![customer("c1", ts(2026, 3, 2, 0, 0), None)],
    };
    match client.ingest_records(request).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn client_certificates_name_the_caller_and_the_policy_decides() {
    let dir = tempfile::tempdir().unwrap();
    let (server, clients) = (Authority::new("server CA"), Authority::new("clients CA"));
    let backend = clients.sign(&[], &[BACKEND]);
    let mut app = TestApp::spawn_tls(
        |config| configure(config, dir.path(), &server, &clients),
        client_tls(&server, Some(backend)),
    )
    .await;
    // The backend's SPIFFE id may write and read acme, and nothing on globex.
    assert_eq!(ingest(&mut app.ingest, "acme").await, Code::Ok);
    assert_eq!(
        ingest(&mut app.ingest, "globex").await,
        Code::PermissionDenied
    );
    let revenue = app.request(vec![metric("revenue")], march());
    assert!(app.metrics.compute_metrics(revenue.clone()).await.is_ok());

    // The reporting service, named by its DNS SAN, may only read.
    let address = app.address.clone();
    let reporting = clients.sign(&[REPORTING], &[]);
    let channel = Channel::from_shared(address.clone())
        .unwrap()
        .tls_config(client_tls(&server, Some(reporting)))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut reporting_ingest = IngestServiceClient::new(channel.clone());
    assert_eq!(
        ingest(&mut reporting_ingest, "acme").await,
        Code::PermissionDenied
    );
    let mut reporting_metrics = pb::metrics_service_client::MetricsServiceClient::new(channel);
    assert!(reporting_metrics.compute_metrics(revenue).await.is_ok());

    // A certificate from another CA, or none, gets no call through.
    let stranger = Authority::new("another CA").sign(&[], &[BACKEND]);
    for identity in [Some(stranger), None] {
        let refused = async {
            let channel = Channel::from_shared(address.clone())
                .unwrap()
                .tls_config(client_tls(&server, identity))
                .unwrap()
                .connect()
                .await
                .map_err(|e| e.to_string())?;
            IngestServiceClient::new(channel)
                .ingest_records(pb::IngestRecordsRequest {
                    tenant_id: "acme".to_owned(),
                    records: vec![customer("c2", ts(2026, 3, 2, 0, 0), None)],
                })
                .await
                .map_err(|status| status.to_string())
        }
        .await;
        assert!(
            refused.is_err(),
            "a call without a trusted certificate got through"
        );
    }
    app.shutdown().await;
}
