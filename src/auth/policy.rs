//! The authorization policy: which principals may do what on which tenants.
//!
//! A policy file is JSON (so it also reads as YAML, e.g. from a ConfigMap):
//!
//! ```json
//! {
//!   "grants": [
//!     { "principals": ["spiffe://cluster.local/ns/sales/sa/crm-backend"],
//!       "permissions": ["ingest", "read"], "tenants": ["acme", "globex-*"] },
//!     { "principals": ["jwt:*"], "permissions": ["read"], "tenant_claim": "tenants" },
//!     { "principals": ["spiffe://cluster.local/ns/ops/*"], "permissions": ["admin"],
//!       "tenants": ["*"] }
//!   ]
//! }
//! ```
//!
//! A pattern is exact, or ends in `*` and matches every name that starts with what comes before
//! it (`*` alone matches every name). A grant names its tenants by patterns, or by a claim of the
//! caller's JWT (a string or a list of strings, matched exactly), never both. `admin` holds every
//! other permission. Anything not granted is denied. Unknown fields, permissions and empty lists
//! are errors when the file is read, so a typo never silently widens or narrows access.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::Principal;

/// What a call does to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Write records (IngestRecords, StreamRecords).
    Ingest,
    /// Compute metrics and read kept computations.
    Read,
    /// Delete records.
    Delete,
    /// Erase a customer's personal data.
    Erase,
    /// Every permission, and changing the tenant's settings.
    Admin,
}

impl Permission {
    /// The name used in policy files and errors.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Ingest => "ingest",
            Permission::Read => "read",
            Permission::Delete => "delete",
            Permission::Erase => "erase",
            Permission::Admin => "admin",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name pattern: exact, or a prefix followed by `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn parse(raw: &str) -> Pattern {
        match raw.strip_suffix('*') {
            Some(prefix) => Pattern::Prefix(prefix.to_owned()),
            None => Pattern::Exact(raw.to_owned()),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Exact(exact) => exact == name,
            Pattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
        }
    }
}

/// One grant as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantFile {
    principals: Vec<String>,
    permissions: Vec<Permission>,
    #[serde(default)]
    tenants: Vec<String>,
    #[serde(default)]
    tenant_claim: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    grants: Vec<GrantFile>,
}

/// Which tenants a grant covers.
#[derive(Debug, Clone)]
enum TenantScope {
    Patterns(Vec<Pattern>),
    Claim(String),
}

#[derive(Debug, Clone)]
struct Grant {
    principals: Vec<Pattern>,
    permissions: Vec<Permission>,
    tenants: TenantScope,
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    grants: Vec<Grant>,
}

impl Policy {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<Policy, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?;
        Policy::parse(&text).map_err(|e| format!("policy file {}: {e}", path.display()))
    }

    /// Parses and checks a policy.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let file: PolicyFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let grants = file
            .grants
            .into_iter()
            .enumerate()
            .map(|(index, grant)| {
                let at = format!("grants[{index}]");
                if grant.principals.is_empty() || grant.principals.iter().any(String::is_empty) {
                    return Err(format!("{at}.principals must name at least one principal"));
                }
                if grant.permissions.is_empty() {
                    return Err(format!("{at}.permissions must name at least one permission"));
                }
                let tenants = match (grant.tenants.is_empty(), grant.tenant_claim) {
                    (false, None) if !grant.tenants.iter().any(String::is_empty) => {
                        TenantScope::Patterns(grant.tenants.iter().map(|t| Pattern::parse(t)).collect())
                    }
                    (true, Some(claim)) if !claim.is_empty() => TenantScope::Claim(claim),
                    _ => {
                        return Err(format!(
                            "{at} needs either tenants (non-empty patterns) or a tenant_claim, not both"
                        ));
                    }
                };
                Ok(Grant {
                    principals: grant.principals.iter().map(|p| Pattern::parse(p)).collect(),
                    permissions: grant.permissions,
                    tenants,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Policy { grants })
    }

    /// Whether `principal` holds `permission` on `tenant`.
    pub fn allows(&self, principal: &Principal, permission: Permission, tenant: &str) -> bool {
        self.grants.iter().any(|grant| {
            grant.principals.iter().any(|p| p.matches(&principal.id))
                && grant
                    .permissions
                    .iter()
                    .any(|held| *held == permission || *held == Permission::Admin)
                && match &grant.tenants {
                    TenantScope::Patterns(patterns) => patterns.iter().any(|p| p.matches(tenant)),
                    TenantScope::Claim(claim) => principal.claim_values(claim).contains(&tenant),
                }
        })
    }
}

#[cfg(test)]
#[path = "tests/policy.rs"]
mod tests;
