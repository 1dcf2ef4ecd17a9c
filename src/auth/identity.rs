//! Who is calling: one principal per call, from the sources the operator enabled.
//!
//! - A JWT bearer token (`authorization: Bearer …`), when a JWKS file is configured: the
//!   principal is `jwt:<sub>`, and the token's claims can name tenants.
//! - Istio's `x-forwarded-client-cert`, when trusted: the principal is the client certificate's
//!   URI (a SPIFFE id) in the element the nearest proxy appended (the last one).
//! - Linkerd's `l5d-client-id`, when trusted: the principal is the meshed client's identity.
//! - The service's own mutual TLS, when a client CA is configured: the principal is the client
//!   certificate's SPIFFE URI SAN, else `dns:` and its first DNS SAN (prefixed, so a certificate
//!   can never pass for a Linkerd identity). The TLS handshake has already verified the
//!   certificate against the CA, so it comes before mesh headers.
//!
//! A present bearer token decides alone (a gateway with its own certificate forwarding a user's
//! token acts as that user): an invalid one is refused, never passed over for a mesh
//! identity. Mesh headers are read only when their mesh is trusted: a client outside the mesh
//! could set them, so an untrusted header is ignored as if absent.

use serde_json::Value;

use super::jwt::JwtVerifier;

/// The caller of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The name policies match: `jwt:<sub>`, a SPIFFE URI, or a Linkerd identity.
    pub id: String,
    /// The verified JWT's claims (empty for other sources).
    pub claims: serde_json::Map<String, Value>,
}

impl Principal {
    /// A principal with no claims.
    pub fn named(id: impl Into<String>) -> Principal {
        Principal {
            id: id.into(),
            claims: serde_json::Map::new(),
        }
    }

    /// The string values of claim `name`: a string, or the strings of a list.
    pub fn claim_values(&self, name: &str) -> Vec<&str> {
        match self.claims.get(name) {
            Some(Value::String(value)) => vec![value.as_str()],
            Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// The identity sources in force.
#[derive(Debug, Clone, Default)]
pub struct IdentitySources {
    /// Verifies bearer tokens; `None`: bearer tokens are not accepted.
    pub jwt: Option<JwtVerifier>,
    /// Trust Istio's `x-forwarded-client-cert`.
    pub istio: bool,
    /// Trust Linkerd's `l5d-client-id`.
    pub linkerd: bool,
    /// Take the caller from client certificates the TLS handshake verified.
    pub client_certificates: bool,
}

/// Why a call's identity was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadIdentity(pub String);

impl IdentitySources {
    /// Whether any source is enabled.
    pub fn any(&self) -> bool {
        self.jwt.is_some() || self.istio || self.linkerd || self.client_certificates
    }

    /// The caller, from the call's headers (`header(name)` gives a header's value); `Ok(None)`
    /// when no enabled source names one.
    pub fn principal<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        peer_certificate: Option<&[u8]>,
    ) -> Result<Option<Principal>, BadIdentity> {
        if let Some(verifier) = &self.jwt
            && let Some(authorization) = header("authorization")
        {
            let token = bearer_token(authorization).ok_or_else(|| {
                BadIdentity("the authorization header is not `Bearer <token>`".to_owned())
            })?;
            return verifier.verify(token).map(Some);
        }
        if self.client_certificates
            && let Some(der) = peer_certificate
        {
            return certificate_principal(der).map(Some);
        }
        if self.istio
            && let Some(xfcc) = header("x-forwarded-client-cert")
        {
            let uri = forwarded_client_uri(xfcc).ok_or_else(|| {
                BadIdentity("x-forwarded-client-cert carries no client URI".to_owned())
            })?;
            return Ok(Some(Principal::named(uri)));
        }
        if self.linkerd
            && let Some(id) = header("l5d-client-id")
        {
            let id = id.trim();
            if id.is_empty() {
                return Err(BadIdentity("l5d-client-id is empty".to_owned()));
            }
            return Ok(Some(Principal::named(id)));
        }
        Ok(None)
    }
}

/// The principal a verified client certificate (DER) names: its SPIFFE URI SAN, else `dns:` and
/// its first DNS SAN.
pub fn certificate_principal(der: &[u8]) -> Result<Principal, BadIdentity> {
    let certificate = rustls_pki_types::CertificateDer::from(der);
    let parsed = webpki::EndEntityCert::try_from(&certificate)
        .map_err(|e| BadIdentity(format!("the client certificate cannot be read: {e}")))?;
    if let Some(spiffe) = parsed
        .valid_uri_names()
        .find(|uri| uri.starts_with("spiffe://"))
    {
        return Ok(Principal::named(spiffe));
    }
    parsed
        .valid_dns_names()
        .next()
        .map(|name| Principal::named(format!("dns:{name}")))
        .ok_or_else(|| {
            BadIdentity("the client certificate names no SPIFFE URI and no DNS name".to_owned())
        })
}

/// The token of an `authorization: Bearer <token>` header (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `URI` of the last element of an `x-forwarded-client-cert` header: elements are separated
/// by commas, their `key=value` pairs by semicolons, and values may be double-quoted (with `\"`
/// inside).
pub fn forwarded_client_uri(header: &str) -> Option<String> {
    let elements = split_unquoted(header, ',');
    let last = elements.last()?;
    split_unquoted(last, ';').into_iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("uri") {
            return None;
        }
        let value = unquote(value.trim());
        (!value.is_empty()).then_some(value)
    })
}

/// Splits at `separator` outside double quotes.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value without its surrounding quotes and escapes.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if escaped || c != '\\' {
                    out.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            out
        }
        None => value.to_owned(),
    }
}

#[cfg(test)]
#[path = "tests/identity.rs"]
mod tests;
