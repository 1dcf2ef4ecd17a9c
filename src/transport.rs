//! How the gRPC port meets its callers beyond plain HTTP/2: the server's TLS (with client
//! certificates when a client CA is configured), and CORS for browsers calling over gRPC-Web.

use std::time::Duration;

use tonic::transport::ServerTlsConfig;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::AuthConfig;
use crate::startup::StartupError;

/// The server's TLS configuration, when a certificate is configured: its identity, and the CA
/// client certificates must be signed by (required unless configured optional).
pub(crate) fn server_tls(auth: &AuthConfig) -> Result<Option<ServerTlsConfig>, StartupError> {
    let (Some(cert_file), Some(key_file)) = (&auth.tls_cert_file, &auth.tls_key_file) else {
        return Ok(None);
    };
    let read = |flag: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|e| {
            StartupError::Config(format!("{flag} {}: cannot read it: {e}", path.display()))
        })
    };
    let identity = tonic::transport::Identity::from_pem(
        read("--tls-cert-file", cert_file)?,
        read("--tls-key-file", key_file)?,
    );
    let mut tls = ServerTlsConfig::new().identity(identity);
    if let Some(ca_file) = &auth.tls_client_ca_file {
        tls = tls
            .client_ca_root(tonic::transport::Certificate::from_pem(read(
                "--tls-client-ca-file",
                ca_file,
            )?))
            .client_auth_optional(auth.tls_client_cert_optional);
    }
    Ok(Some(tls))
}

/// CORS for gRPC-Web callers from `origins` (`*`: any), or none when no origin is configured.
pub(crate) fn grpc_web_cors(origins: &[String]) -> Result<Option<CorsLayer>, StartupError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow_origin = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|origin| {
                http::HeaderValue::from_str(origin).map_err(|_| {
                    StartupError::Config(format!(
                        "--grpc-web-origins '{origin}' is not an origin such as https://app.example.com"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    let header = http::HeaderName::from_static;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([http::Method::POST])
            .allow_headers([
                header("content-type"),
                header("x-grpc-web"),
                header("x-user-agent"),
                header("grpc-timeout"),
                header("authorization"),
                header(crate::grpc::TENANT_METADATA),
                header("traceparent"),
                header("tracestate"),
            ])
            .expose_headers([
                header("grpc-status"),
                header("grpc-message"),
                header("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(24 * 60 * 60)),
    ))
}
