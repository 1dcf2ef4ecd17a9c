//! The caller of a call and the tenant it acts on.
//!
//! The caller comes from the call's metadata ([`Access::caller`]). The tenant comes from the
//! request's `tenant_id`, or from `x-tenant-id` metadata (which a mesh can route by); when both
//! are given they must agree. The permission the method needs is checked on that tenant before
//! any work is done. Deletions and erasures are written to the audit log with the caller. Both
//! are noted on the call for its access-log line.

use std::sync::Arc;

use tonic::{Request, Status};

use crate::app::{AppError, TenantId};
use crate::auth::{Access, Permission, Principal};
use crate::telemetry::rpc::CallNote;

/// The metadata key that may carry the tenant.
pub const TENANT_METADATA: &str = "x-tenant-id";

/// Who is calling, and the tenant its metadata names.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    principal: Option<Principal>,
    metadata_tenant: Option<String>,
    /// Where the access log learns the principal and tenant.
    note: Option<Arc<CallNote>>,
}

/// The caller of `request`, refused with UNAUTHENTICATED when its identity is not accepted.
pub(super) fn caller_of<T>(access: &Access, request: &Request<T>) -> Result<Caller, Status> {
    let metadata = request.metadata();
    // A value that is not visible ASCII reads as empty, which no source accepts.
    let header = |name: &str| metadata.get(name).map(|v| v.to_str().unwrap_or(""));
    let certificates = request.peer_certs();
    let peer_certificate = certificates
        .as_ref()
        .and_then(|chain| chain.first())
        .map(|der| der.as_ref());
    let principal = access
        .caller(header, peer_certificate)
        .map_err(AppError::from)?;
    let note = request.extensions().get::<Arc<CallNote>>().cloned();
    if let (Some(note), Some(principal)) = (&note, &principal) {
        note.principal(&principal.id);
    }
    let metadata_tenant = header(TENANT_METADATA).map(str::to_owned);
    Ok(Caller {
        principal,
        metadata_tenant,
        note,
    })
}

impl Caller {
    /// The tenant the call acts on (the request's, else the metadata's), parsed (INVALID_ARGUMENT
    /// on `tenant_id` when it is not a tenant id) and with `permission` on it checked.
    pub fn tenant(
        &self,
        access: &Access,
        permission: Permission,
        requested: String,
    ) -> Result<TenantId, AppError> {
        let tenant = match &self.metadata_tenant {
            Some(named) if requested.is_empty() => named.clone(),
            Some(named) if *named != requested => {
                return Err(AppError::invalid(
                    "tenant_id",
                    format!(
                        "{requested:?} does not match the {TENANT_METADATA} metadata {named:?}"
                    ),
                ));
            }
            _ => requested,
        };
        if let Some(note) = &self.note {
            note.tenant(&tenant);
        }
        let tenant = TenantId::parse("tenant_id", tenant)
            .map_err(|problem| AppError::Invalid(vec![problem]))?;
        access.authorize(self.principal.as_ref(), permission, &tenant)?;
        Ok(tenant)
    }

    /// The caller's name for logs: its principal, or `anonymous`.
    pub fn name(&self) -> &str {
        self.principal
            .as_ref()
            .map_or("anonymous", |p| p.id.as_str())
    }
}
