//! Who may do what: caller identity ([`identity`], [`jwt`]) and per-tenant authorization
//! ([`policy`]).
//!
//! Every call is authenticated by the identity sources in force; with a policy, every call that
//! touches a tenant must hold the permission its method needs on that tenant, and a call
//! without an identity is refused. Without a policy the service is open, which it allows only on
//! a loopback address unless the operator says otherwise (`--allow-open-access`).

pub mod identity;
pub mod jwt;
pub mod policy;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

pub use identity::{IdentitySources, Principal};
pub use jwt::JwtVerifier;
pub use policy::{Permission, Policy};

/// Identity and authorization settings.
#[derive(Debug, Clone, Default, Args)]
pub struct AuthConfig {
    /// Authorization policy (JSON): which principals hold which permissions on which tenants.
    /// With it, anything not granted is denied. Without it the service is open to every caller,
    /// which it allows only on a loopback address unless --allow-open-access is given.
    #[arg(long, env = "CRM_METRICS_POLICY_FILE")]
    pub policy_file: Option<PathBuf>,

    /// Serve without a policy on a non-loopback address: anyone who reaches the port may read,
    /// write, delete and erase any tenant's data.
    #[arg(long, env = "CRM_METRICS_ALLOW_OPEN_ACCESS")]
    pub allow_open_access: bool,

    /// Trust Istio's `x-forwarded-client-cert` header (the client's SPIFFE id). Enable only when
    /// every call arrives through the Istio sidecar, which overwrites the header.
    #[arg(long, env = "CRM_METRICS_TRUST_ISTIO_IDENTITY")]
    pub trust_istio_identity: bool,

    /// Trust Linkerd's `l5d-client-id` header. Enable only when every call arrives through the
    /// Linkerd proxy, which overwrites the header.
    #[arg(long, env = "CRM_METRICS_TRUST_LINKERD_IDENTITY")]
    pub trust_linkerd_identity: bool,

    /// Accept `authorization: Bearer <JWT>` signed by a key of this JWKS file (needs
    /// --jwt-issuer and --jwt-audience).
    #[arg(long, env = "CRM_METRICS_JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<PathBuf>,

    /// The `iss` bearer tokens must carry.
    #[arg(long, env = "CRM_METRICS_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// The `aud` bearer tokens must carry.
    #[arg(long, env = "CRM_METRICS_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Serve TLS with this certificate chain (PEM); needs --tls-key-file. For deployments
    /// without a mesh: behind a mesh its sidecar terminates mutual TLS.
    #[arg(long, env = "CRM_METRICS_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert-file.
    #[arg(long, env = "CRM_METRICS_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,

    /// Require client certificates signed by this CA (PEM) and take the caller from them: the
    /// certificate's SPIFFE URI SAN, else its first DNS SAN.
    #[arg(long, env = "CRM_METRICS_TLS_CLIENT_CA_FILE")]
    pub tls_client_ca_file: Option<PathBuf>,

    /// With --tls-client-ca-file, also accept connections without a client certificate (their
    /// calls need another identity source, such as a bearer token).
    #[arg(long, env = "CRM_METRICS_TLS_CLIENT_CERT_OPTIONAL")]
    pub tls_client_cert_optional: bool,
}

/// Why a call is refused before it does anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No usable identity (UNAUTHENTICATED).
    #[error("{0}")]
    Unauthenticated(String),
    /// The identity lacks the permission (PERMISSION_DENIED).
    #[error("{0}")]
    PermissionDenied(String),
}

/// The identity sources and the policy in force.
#[derive(Debug, Clone, Default)]
pub struct Access {
    sources: IdentitySources,
    policy: Option<Policy>,
}

impl Access {
    /// No identity source and no policy: every call is allowed.
    pub fn open() -> Access {
        Access::default()
    }

    /// Access from identity sources and an optional policy.
    pub fn new(sources: IdentitySources, policy: Option<Policy>) -> Access {
        Access { sources, policy }
    }

    /// Reads the configured files; refuses an open service on a non-loopback `listen` address
    /// unless explicitly allowed.
    pub fn from_config(config: &AuthConfig, listen: SocketAddr) -> Result<Access, String> {
        let jwt = match (
            &config.jwt_jwks_file,
            &config.jwt_issuer,
            &config.jwt_audience,
        ) {
            (None, None, None) => None,
            (Some(file), Some(issuer), Some(audience)) => {
                Some(JwtVerifier::load(file, issuer, audience)?)
            }
            _ => {
                return Err(
                    "--jwt-jwks-file, --jwt-issuer and --jwt-audience go together".to_owned(),
                );
            }
        };
        let sources = IdentitySources {
            jwt,
            istio: config.trust_istio_identity,
            linkerd: config.trust_linkerd_identity,
            client_certificates: config.tls_client_ca_file.is_some(),
        };
        if config.tls_client_ca_file.is_some() && config.tls_cert_file.is_none() {
            return Err("--tls-client-ca-file needs --tls-cert-file and --tls-key-file".to_owned());
        }
        let policy = config
            .policy_file
            .as_deref()
            .map(Policy::load)
            .transpose()?;
        if policy.is_none() && !listen.ip().is_loopback() && !config.allow_open_access {
            return Err(format!(
                "no --policy-file: anyone reaching {listen} could read, write and erase every \
                 tenant's data. Give a policy, listen on a loopback address, or pass \
                 --allow-open-access to serve open anyway"
            ));
        }
        if policy.is_some() && !sources.any() {
            return Err(
                "a policy needs an identity source: --trust-istio-identity, \
                 --trust-linkerd-identity, --jwt-jwks-file or --tls-client-ca-file"
                    .to_owned(),
            );
        }
        Ok(Access { sources, policy })
    }

    /// Whether a policy is in force.
    pub fn enforcing(&self) -> bool {
        self.policy.is_some()
    }

    /// The caller of a call, from its headers and the client certificate its TLS handshake
    /// verified (DER); with a policy, a call without one is refused.
    pub fn caller<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        peer_certificate: Option<&[u8]>,
    ) -> Result<Option<Principal>, AuthError> {
        let principal = self
            .sources
            .principal(header, peer_certificate)
            .map_err(|bad| AuthError::Unauthenticated(bad.0))?;
        if principal.is_none() && self.enforcing() {
            return Err(AuthError::Unauthenticated(
                "the call carries no identity the service accepts".to_owned(),
            ));
        }
        Ok(principal)
    }

    /// Whether `caller` may do what `permission` allows on `tenant`.
    pub fn authorize(
        &self,
        caller: Option<&Principal>,
        permission: Permission,
        tenant: &str,
    ) -> Result<(), AuthError> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        let Some(principal) = caller else {
            return Err(AuthError::Unauthenticated(
                "the call carries no identity the service accepts".to_owned(),
            ));
        };
        if policy.allows(principal, permission, tenant) {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied(format!(
                "{} does not hold the {permission} permission on tenant {tenant:?}",
                principal.id
            )))
        }
    }
}
