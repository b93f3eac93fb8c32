//! Each tenant's Store products (apps, add-ons, games, desktop programs,
//! drivers), read from its `store_products` dataset and kept for a few
//! seconds: requests name a product, which must be the account's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::store_answer::string_at;

use super::error::StoreApiError;
use crate::Shared;
use crate::error::ApiError;

/// One product of a tenant's account.
#[derive(Debug, Clone)]
pub struct ProductRow {
    pub id: String,
    pub kind: String,
    pub name: String,
}

/// A tenant's products and when they were read.
type Cached = (Instant, Arc<Vec<ProductRow>>);

/// The products of each tenant, read from its `store_products` dataset and
/// kept for a few seconds.
#[derive(Debug, Default)]
pub struct ProductCache {
    entries: Mutex<HashMap<String, Cached>>,
}

const PRODUCT_TTL: Duration = Duration::from_secs(5);

impl ProductCache {
    /// Drops a tenant's products (it was deleted).
    pub fn forget(&self, tenant: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(tenant);
        }
    }

    pub(crate) async fn get(
        &self,
        state: &Shared,
        tenant: &str,
    ) -> Result<Arc<Vec<ProductRow>>, StoreApiError> {
        if let Ok(map) = self.entries.lock()
            && let Some((at, rows)) = map.get(tenant)
            && at.elapsed() < PRODUCT_TTL
        {
            return Ok(Arc::clone(rows));
        }
        let tenant_id = engine::TenantId::parse(tenant).map_err(|_| {
            StoreApiError::from(ApiError::not_found("No Store data for this account"))
        })?;
        let plan = products_plan();
        let batches = state
            .engine
            .dataframe(&tenant_id, &plan, &engine::ExecOptions::default())
            .await?
            .collect()
            .await
            .map_err(|e| StoreApiError::from(ApiError::internal(e)))?;
        let mut rows = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                let id = string_at(b, 0, i).unwrap_or_default();
                let kind = string_at(b, 1, i).unwrap_or_default();
                let name = string_at(b, 2, i).unwrap_or_default();
                rows.push(ProductRow { id, kind, name });
            }
        }
        let rows = Arc::new(rows);
        if let Ok(mut map) = self.entries.lock() {
            map.insert(tenant.to_string(), (Instant::now(), Arc::clone(&rows)));
        }
        Ok(rows)
    }
}

fn products_plan() -> query::Plan {
    use query::plan::{Output, Source};
    let out = |name: &str| Output {
        name: name.into(),
        ty: query::catalog::ColumnType::String,
        restricted: false,
        source: Source::Column,
    };
    query::Plan {
        dataset: "store_products".into(),
        distinct: false,
        outputs: vec![out("applicationId"), out("productType"), out("productName")],
        aggregates: Vec::new(),
        group_by: Vec::new(),
        row_filters: Vec::new(),
        group_filters: Vec::new(),
        order_by: Vec::new(),
        limit: None,
        offset: 0,
        condition: None,
        rollup: None,
        time: None,
    }
}
