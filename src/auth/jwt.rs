//! Bearer tokens: JWTs verified against the keys of a JWKS file, with issuer, audience and
//! expiry checked.
//!
//! The key is the one whose `kid` the token's header names (a token without `kid` is accepted
//! only when the set holds exactly one key). The algorithm must be the key's own (`alg` of the
//! key when it states one, else of the key's family: RSA, EC or Ed25519), so a token cannot pick
//! a weaker or a different scheme; symmetric (`oct`) keys are refused, since a JWKS file is
//! public material. `exp`, `iss`, `aud` and `sub` are required; `nbf` is checked when present;
//! clocks may differ by up to a minute.

use std::path::Path;
use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::identity::{BadIdentity, Principal};

/// Allowed clock difference between the issuer and the service, in seconds.
const LEEWAY_SECONDS: u64 = 60;

/// One usable key of the set.
struct Key {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    decoding: DecodingKey,
}

/// Verifies bearer tokens.
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Arc<Vec<Key>>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtVerifier {
    /// Reads the key set of `jwks_file`; tokens must come from `issuer` for `audience`.
    pub fn load(jwks_file: &Path, issuer: &str, audience: &str) -> Result<JwtVerifier, String> {
        let text = std::fs::read_to_string(jwks_file)
            .map_err(|e| format!("cannot read the JWKS file {}: {e}", jwks_file.display()))?;
        JwtVerifier::from_jwks(&text, issuer, audience)
            .map_err(|e| format!("JWKS file {}: {e}", jwks_file.display()))
    }

    /// A verifier over the key set `jwks` (JSON).
    pub fn from_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<JwtVerifier, String> {
        if issuer.is_empty() || audience.is_empty() {
            return Err("a JWT issuer and audience are required with a JWKS file".to_owned());
        }
        let set: JwkSet = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
        let keys = set
            .keys
            .iter()
            .enumerate()
            .map(|(index, jwk)| key(jwk).map_err(|e| format!("keys[{index}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("the key set holds no key".to_owned());
        }
        Ok(JwtVerifier {
            keys: Arc::new(keys),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// The principal a valid token names.
    pub fn verify(&self, token: &str) -> Result<Principal, BadIdentity> {
        let refuse = |why: String| BadIdentity(format!("bearer token refused: {why}"));
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| refuse(format!("malformed ({e})")))?;
        let key = match &header.kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .ok_or_else(|| refuse("no key of the configured set signs it".to_owned()))?;
        if !key.algorithms.contains(&header.alg) {
            return Err(refuse(format!(
                "algorithm {:?} is not its key's",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(
            token,
            &key.decoding,
            &validation,
        )
        .map_err(|e| refuse(e.to_string()))?;
        let subject = match data.claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(refuse("sub is not a non-empty string".to_owned())),
        };
        Ok(Principal {
            id: format!("jwt:{subject}"),
            claims: data.claims,
        })
    }
}

/// A usable key, with the algorithms it may verify.
fn key(jwk: &Jwk) -> Result<Key, String> {
    let family: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(_) => &[Algorithm::ES256, Algorithm::ES384],
        AlgorithmParameters::OctetKeyPair(_) => &[Algorithm::EdDSA],
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (oct) keys are not accepted".to_owned());
        }
        _ => return Err("unsupported key type".to_owned()),
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(stated) => {
            let stated = Algorithm::try_from(stated)
                .map_err(|_| format!("alg {stated:?} cannot verify signatures"))?;
            if !family.contains(&stated) {
                return Err(format!("alg {stated:?} does not fit the key's type"));
            }
            vec![stated]
        }
        None => family.to_vec(),
    };
    let decoding = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok(Key {
        kid: jwk.common.key_id.clone(),
        algorithms,
        decoding,
    })
}
