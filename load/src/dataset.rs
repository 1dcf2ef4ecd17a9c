//! The benchmark data set: tenants `<prefix>-001`, `<prefix>-002`, … each with the demo
//! generator's records at one scale and its own seed, cut into batches.

use clap::Args;

use crm_metrics_api as pb;
use crm_metrics_demo::generate::{Spec, generate};

/// Which tenants of the data set a run covers, and how big each is.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Tenant ids are `<prefix>-001`, `<prefix>-002`, ….
    #[arg(long, default_value = "bench")]
    pub tenant_prefix: String,
    /// The first tenant number this run covers.
    #[arg(long, default_value_t = 1)]
    pub first_tenant: u32,
    /// How many tenants this run covers (numbers first_tenant, first_tenant + 1, …).
    #[arg(long, default_value_t = 1)]
    pub tenants: u32,
    /// Size of each tenant: 1.0 is about 1,720 deals and 79,000 records in all.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Base seed; tenant n uses seed + n, so a tenant's records never depend on the run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Records per batch.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

/// One tenant's records, batched.
pub struct TenantData {
    /// The tenant id.
    pub tenant: String,
    /// The batches, in order.
    pub batches: Vec<Vec<pb::CrmRecord>>,
}

impl TenantData {
    /// Records in all batches.
    pub fn records(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }
}

impl DataArgs {
    /// Checks the options.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.scale > 0.0 && self.scale <= 100.0) {
            return Err("--scale must be in (0, 100]".to_owned());
        }
        if self.batch == 0 || self.tenants == 0 || self.first_tenant == 0 {
            return Err("--batch, --tenants and --first-tenant must be at least 1".to_owned());
        }
        Ok(())
    }

    /// The tenant numbers of this run.
    pub fn numbers(&self) -> impl Iterator<Item = u32> + use<> {
        self.first_tenant..self.first_tenant.saturating_add(self.tenants)
    }

    /// The id of tenant `number`.
    pub fn tenant_id(&self, number: u32) -> String {
        tenant_id(&self.tenant_prefix, number)
    }

    /// Generates tenant `number`'s records (CPU-bound: call from a blocking task).
    pub fn generate(&self, number: u32) -> TenantData {
        let spec = Spec {
            seed: self.seed.wrapping_add(u64::from(number)),
            scale: self.scale,
            ..Spec::default()
        };
        let records = generate(&spec);
        TenantData {
            tenant: self.tenant_id(number),
            batches: records.chunks(self.batch).map(<[_]>::to_vec).collect(),
        }
    }

    /// Generates tenant `number` on the blocking pool.
    pub async fn generate_async(&self, number: u32) -> Result<TenantData, String> {
        let args = self.clone();
        tokio::task::spawn_blocking(move || args.generate(number))
            .await
            .map_err(|error| format!("generating tenant {number}: {error}"))
    }

    /// Splits this run's tenants among `workers`: worker i gets every workers-th tenant.
    pub fn share(&self, workers: usize, worker: usize) -> Vec<u32> {
        self.numbers()
            .enumerate()
            .filter(|(i, _)| i % workers.max(1) == worker)
            .map(|(_, number)| number)
            .collect()
    }
}

/// The id of tenant `number` of a data set.
pub fn tenant_id(prefix: &str, number: u32) -> String {
    format!("{prefix}-{number:03}")
}
