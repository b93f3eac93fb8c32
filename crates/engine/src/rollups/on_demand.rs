//! Grouping sets built on first use. A Store plan needing three of a
//! cube's dimensions (two grouped, one filtered; or three grouped) finds no
//! set of the cube holding them. Rather than scan the base rows on every
//! such request, the first one sums the set of exactly those dimensions in
//! one scan of the base rows and stores it like a cube
//! (`<base>__cube_<dims>__v<version>`); it and every later request read
//! that set. Dashboards ask the same few shapes over and over, so the scan
//! is paid once per shape and data version, not per request.
//!
//! **Bounded.** A set is built only where the cube of the same version
//! exists (the data is big enough and its pairs fit), for at most
//! [`SetLimits::max_sets`] shapes per tenant, dataset and version, and is
//! kept only if it has at most [`SetLimits::max_groups`] groups and on
//! average [`SetLimits::min_rows_per_group`] base rows per group (else it
//! is barely smaller than the rows it sums); a refused shape is remembered
//! per version and read from the base rows.
//!
//! **Once.** Concurrent requests for one shape wait for one build (a task
//! of its own, so a request that goes away does not cancel it); after a
//! restart or on another replica the stored set is found by name.
//!
//! **Never stale.** Like the cube, a set is named by the base version it
//! sums; a load makes a new version, and the next cube build deletes the
//! sets of versions before the previous one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use query::catalog::Dataset;
use tokio::sync::OnceCell;

use super::{RollupSpec, SetScan};
use crate::error::Result;
use crate::storage::{Manifest, TenantId};

/// A set of dimensions none of the cube's sets holds.
#[derive(Debug, Clone)]
pub(crate) struct OnDemandSet {
    pub spec: &'static RollupSpec,
    /// Indices into the spec's dimensions, ascending: three.
    pub dims: Vec<usize>,
}

impl OnDemandSet {
    /// The set a plan reading `columns` of `base` would build: when the
    /// cube has no set holding them and they name at most three dimensions.
    pub(crate) fn for_columns(base: &str, columns: &[&str]) -> Option<OnDemandSet> {
        let spec = super::spec_of(base)?;
        if spec.covering(columns).is_some() {
            return None;
        }
        let dims = spec.dims_needed(columns)?;
        (dims.len() <= super::cube::MAX_SET_DIMS).then_some(OnDemandSet { spec, dims })
    }

    /// Where the set of base version `version` is stored.
    pub(crate) fn storage_name(&self, version: u64) -> String {
        format!(
            "{}_{}__v{version}",
            self.spec.dataset.name,
            self.dim_names().join("_")
        )
    }

    pub(crate) fn dim_names(&self) -> Vec<&'static str> {
        self.dims
            .iter()
            .map(|&d| self.spec.dims[d].as_str())
            .collect()
    }
}

/// When a set is built and kept.
#[derive(Debug, Clone, Copy)]
pub struct SetLimits {
    /// Shapes built per tenant, dataset and version.
    pub max_sets: usize,
    pub max_groups: usize,
    pub min_rows_per_group: u64,
}

impl Default for SetLimits {
    fn default() -> Self {
        SetLimits {
            max_sets: 24,
            max_groups: 2_000_000,
            min_rows_per_group: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: TenantId,
    base: &'static str,
    dims: Vec<usize>,
    version: u64,
}

/// The builds started (and their outcome: built or refused), per shape.
#[derive(Debug, Default)]
pub(crate) struct OnDemandSets {
    limits: SetLimits,
    builds: Mutex<HashMap<Key, Arc<OnceCell<bool>>>>,
}

impl OnDemandSets {
    pub(crate) fn new(limits: SetLimits) -> OnDemandSets {
        OnDemandSets {
            limits,
            builds: Mutex::default(),
        }
    }

    /// The set of the base's version `version`, built now (once; the
    /// caller found it not stored); `None` when it is refused or its build failed
    /// (the plan reads the base rows; a failure is logged and retried by
    /// the next request).
    pub(crate) async fn ensure(
        &self,
        engine: &crate::Engine,
        tenant: &TenantId,
        base: &'static Dataset,
        set: &OnDemandSet,
        version: u64,
    ) -> Result<Option<Manifest>> {
        let name = set.storage_name(version);
        // Until the cube of this version is built (just after a load), no
        // set is: asked again later, it may be.
        let cube = set.spec.storage_name(version);
        if engine.store().manifest_version(&cube, tenant).await? == 0 {
            return Ok(None);
        }
        let Some(cell) = self.cell(tenant, set, version) else {
            return Ok(None);
        };
        let build = || async {
            let task = tokio::spawn(build(
                engine.clone(),
                tenant.clone(),
                base,
                set.clone(),
                version,
                self.limits,
            ));
            match task.await {
                Ok(outcome) => outcome,
                Err(e) => Err(crate::error::EngineError::Interrupted(e.to_string())),
            }
        };
        match cell.get_or_try_init(build).await {
            Ok(true) => {
                Ok(Some(engine.store().manifest(&name, tenant).await?).filter(|m| m.version > 0))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                tracing::warn!(set = %name, error = %e, "building a grouping set failed; reading the base rows");
                Ok(None)
            }
        }
    }

    /// The build of a shape, new or under way; `None` past the shapes
    /// allowed per version. Forgets the builds of older versions.
    fn cell(
        &self,
        tenant: &TenantId,
        set: &OnDemandSet,
        version: u64,
    ) -> Option<Arc<OnceCell<bool>>> {
        let mut builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        let key = Key {
            tenant: tenant.clone(),
            base: &set.spec.base,
            dims: set.dims.clone(),
            version,
        };
        if let Some(cell) = builds.get(&key) {
            return Some(cell.clone());
        }
        let same = |k: &Key| k.tenant == *tenant && k.base == set.spec.base;
        builds.retain(|k, _| !same(k) || k.version >= version);
        if builds.keys().filter(|k| same(k)).count() >= self.limits.max_sets {
            return None;
        }
        let cell = Arc::new(OnceCell::new());
        builds.insert(key, cell.clone());
        Some(cell)
    }
}

/// Builds and stores one set; `false` when it is refused (the data
/// changed, or too many groups).
async fn build(
    engine: crate::Engine,
    tenant: TenantId,
    base: &'static Dataset,
    set: OnDemandSet,
    version: u64,
    limits: SetLimits,
) -> Result<bool> {
    let store = engine.store();
    let name = set.storage_name(version);
    if store.manifest_version(&name, &tenant).await? > 0 {
        return Ok(true);
    }
    let manifest = store.manifest(&base.name, &tenant).await?;
    if manifest.version != version {
        return Ok(false);
    }
    let rows: u64 = manifest.files.iter().map(|f| f.rows).sum();
    let max_groups = (rows / limits.min_rows_per_group.max(1)).min(limits.max_groups as u64);
    let scan = SetScan {
        spec: set.spec,
        sets: std::slice::from_ref(&set.dims),
        first_number: set.spec.sets.len(),
        max_groups: usize::try_from(max_groups).unwrap_or(usize::MAX),
    };
    let Some(batches) = scan.run(&engine, base, &manifest.files).await? else {
        return Ok(false);
    };
    super::write(&engine, base, set.spec, &name, &tenant, &batches).await?;
    Ok(true)
}
