//! `TenantService`: reading and replacing a tenant's settings.

use tonic::{Request, Response, Status};

use super::caller::caller_of;
use super::convert::settings::{settings_from_proto, settings_to_proto};
use super::pb;
use super::pb::tenant_service_server::TenantService;
use super::status::invalid_argument;
use crate::app::App;
use crate::auth::{Access, Permission};

/// Handles `crm.metrics.v1.TenantService`.
#[derive(Clone)]
pub struct TenantHandler {
    app: App,
    access: Access,
}

impl TenantHandler {
    /// A handler over `app`; `access` decides who may read and change which tenant's settings.
    pub fn new(app: App, access: Access) -> TenantHandler {
        TenantHandler { app, access }
    }
}

#[tonic::async_trait]
impl TenantService for TenantHandler {
    async fn get_tenant_settings(
        &self,
        request: Request<pb::GetTenantSettingsRequest>,
    ) -> Result<Response<pb::GetTenantSettingsResponse>, Status> {
        let caller = caller_of(&self.access, &request)?;
        let pb::GetTenantSettingsRequest { tenant_id } = request.into_inner();
        let tenant_id = caller.tenant(&self.access, Permission::Read, tenant_id)?;
        let current = self.app.tenant_settings(&tenant_id).await?;
        Ok(Response::new(pb::GetTenantSettingsResponse {
            settings: Some(settings_to_proto(&current.settings)),
            etag: current.etag(),
        }))
    }

    async fn update_tenant_settings(
        &self,
        request: Request<pb::UpdateTenantSettingsRequest>,
    ) -> Result<Response<pb::UpdateTenantSettingsResponse>, Status> {
        let caller = caller_of(&self.access, &request)?;
        let pb::UpdateTenantSettingsRequest {
            tenant_id,
            settings,
            etag,
        } = request.into_inner();
        let tenant_id = caller.tenant(&self.access, Permission::Admin, tenant_id)?;
        let settings = settings_from_proto(settings).map_err(|p| invalid_argument(&p))?;
        let etag = (!etag.is_empty()).then_some(etag);
        let updated = self
            .app
            .update_tenant_settings(&tenant_id, settings, etag.as_deref())
            .await?;
        tracing::info!(
            target: "audit",
            action = "update_tenant_settings",
            principal = caller.name(),
            tenant = %tenant_id,
            version = updated.version,
            base_currency = ?updated.settings.base_currency.map(|c| c.to_string()),
            reporting_currency = ?updated.settings.reporting_currency.map(|c| c.to_string()),
            time_zone = updated.settings.time_zone.name(),
            fiscal_year_start_month = updated.settings.fiscal_year_start_month,
            "tenant settings updated"
        );
        Ok(Response::new(pb::UpdateTenantSettingsResponse {
            settings: Some(settings_to_proto(&updated.settings)),
            etag: updated.etag(),
        }))
    }
}
