//! Unit tests of `identity`: the caller from tokens, certificates and mesh headers.

use std::collections::HashMap;

use super::{BadIdentity, IdentitySources, forwarded_client_uri};

fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn principal_of(
    sources: &IdentitySources,
    pairs: &[(&str, &str)],
) -> Result<Option<String>, BadIdentity> {
    let map = headers(pairs);
    sources
        .principal(|name| map.get(name).map(String::as_str), None)
        .map(|p| p.map(|p| p.id))
}

const XFCC: &str = "By=spiffe://cluster.local/ns/crm/sa/crm-metrics;\
Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;\
Subject=\"\";URI=spiffe://cluster.local/ns/sales/sa/backend";

#[test]
fn the_uri_of_the_last_forwarded_element_names_the_client() {
    assert_eq!(
        forwarded_client_uri(XFCC).as_deref(),
        Some("spiffe://cluster.local/ns/sales/sa/backend")
    );
    // Two proxies: the nearest one appended the last element.
    let chained = format!("URI=spiffe://a/edge;By=spiffe://b,{XFCC}");
    assert_eq!(
        forwarded_client_uri(&chained).as_deref(),
        Some("spiffe://cluster.local/ns/sales/sa/backend")
    );
    // Quoted values may hold separators.
    let quoted = r#"Subject="CN=a,OU=b;c";URI="spiffe://cluster.local/ns/x/sa/y""#;
    assert_eq!(
        forwarded_client_uri(quoted).as_deref(),
        Some("spiffe://cluster.local/ns/x/sa/y")
    );
    assert_eq!(forwarded_client_uri("By=spiffe://x;Hash=abc"), None);
    assert_eq!(forwarded_client_uri(""), None);
}

#[test]
fn mesh_headers_count_only_when_their_mesh_is_trusted() {
    let pairs = [
        ("x-forwarded-client-cert", XFCC),
        (
            "l5d-client-id",
            "web.sales.serviceaccount.identity.linkerd.cluster.local",
        ),
    ];
    let untrusted = IdentitySources::default();
    assert_eq!(principal_of(&untrusted, &pairs), Ok(None));
    let istio = IdentitySources {
        istio: true,
        ..Default::default()
    };
    assert_eq!(
        principal_of(&istio, &pairs),
        Ok(Some(
            "spiffe://cluster.local/ns/sales/sa/backend".to_owned()
        ))
    );
    let linkerd = IdentitySources {
        linkerd: true,
        ..Default::default()
    };
    assert_eq!(
        principal_of(&linkerd, &pairs),
        Ok(Some(
            "web.sales.serviceaccount.identity.linkerd.cluster.local".to_owned()
        ))
    );
    assert!(principal_of(&linkerd, &[("l5d-client-id", " ")]).is_err());
    assert!(principal_of(&istio, &[("x-forwarded-client-cert", "By=x")]).is_err());
}

/// A self-signed certificate (DER) naming `dns` and `uris`.
fn certificate(dns: &[&str], uris: &[&str]) -> Vec<u8> {
    let mut params =
        rcgen::CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>())
            .unwrap();
    for uri in uris {
        params
            .subject_alt_names
            .push(rcgen::SanType::URI((*uri).try_into().unwrap()));
    }
    let key = rcgen::KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().der().to_vec()
}

#[test]
fn a_client_certificate_names_its_spiffe_id_else_its_prefixed_dns_name() {
    let sources = IdentitySources {
        client_certificates: true,
        linkerd: true,
        ..IdentitySources::default()
    };
    let of = |der: &[u8], pairs: &[(&str, &str)]| {
        let map = headers(pairs);
        sources
            .principal(|name| map.get(name).map(String::as_str), Some(der))
            .map(|p| p.map(|p| p.id))
    };
    let spiffe = "spiffe://cluster.local/ns/sales/sa/backend";
    let both = certificate(&["backend.internal"], &[spiffe]);
    assert_eq!(of(&both, &[]), Ok(Some(spiffe.to_owned())));
    // A DNS name is prefixed, so it never passes for the Linkerd identity of the same name; and
    // the certificate comes before mesh headers.
    let linkerd_name = "backend.sales.serviceaccount.identity.linkerd.cluster.local";
    let dns_only = certificate(&[linkerd_name], &[]);
    assert_eq!(
        of(&dns_only, &[("l5d-client-id", "someone.else")]),
        Ok(Some(format!("dns:{linkerd_name}")))
    );
    assert!(of(&certificate(&[], &[]), &[]).is_err());
}
