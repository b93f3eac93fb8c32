//! Demo data for the Store analytics API: a small, realistic, deterministic
//! publisher — three Store apps (one an Xbox title) with add-ons and a
//! subscription, a desktop program and a driver — and every Store dataset
//! drawn from it, ending two days before `today` (the live service lags).
//!
//! Distinct-count measures (◆) are written once per grain (`grain` column)
//! with values consistent across grains: a week's devices lie between the
//! largest day and the sum of its days. Every dimension combination of one
//! date holds its own population, so sums across dimensions are exact.
//! Failure reports come with stack frames and a real CAB file each.

use std::collections::HashMap;
use std::io::{Cursor, Write};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use query::Catalog;
use query::catalog::{Column, Dataset};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{EngineError, Result};
use crate::ingest::{Builders, CellRef, LoadMode, Loader};
use crate::schema::{dataset_schema, stored_columns};
use crate::storage::{DataStore, TenantId};

mod feedback;
mod generators;
mod health;
mod platforms;

/// One product of the demo publisher.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    pub id: &'static str,
    pub name: &'static str,
    /// app, addon, subscription, desktop, driver.
    pub kind: &'static str,
    pub parent: Option<&'static str>,
}

/// The demo publisher's products.
pub const PRODUCTS: &[Product] = &[
    Product {
        id: "9NBLGGH4R315",
        name: "Contoso Photo Editor",
        kind: "app",
        parent: None,
    },
    Product {
        id: "9WZDNCRFJ3TJ",
        name: "Fabrikam Weather",
        kind: "app",
        parent: None,
    },
    Product {
        id: "9NBLGGGZ5QDR",
        name: "Northwind Puzzle Quest",
        kind: "app",
        parent: None,
    },
    Product {
        id: "9NBLGGH4TNMP",
        name: "Filter Pack",
        kind: "addon",
        parent: Some("9NBLGGH4R315"),
    },
    Product {
        id: "9NBLGGH4TNMN",
        name: "Remove Ads",
        kind: "addon",
        parent: Some("9WZDNCRFJ3TJ"),
    },
    Product {
        id: "9P5VWJ3BHQ2M",
        name: "Gem Bundle",
        kind: "addon",
        parent: Some("9NBLGGGZ5QDR"),
    },
    Product {
        id: "9NBLGGH51SB3",
        name: "Photo Editor Pro Monthly",
        kind: "subscription",
        parent: Some("9NBLGGH4R315"),
    },
    Product {
        id: "10293847",
        name: "Contoso Desktop Studio",
        kind: "desktop",
        parent: None,
    },
    Product {
        id: "14567890",
        name: "Contoso Wireless Adapter Driver",
        kind: "driver",
        parent: None,
    },
];

/// The Store application ids a demo tenant's client can ask about.
pub fn application_ids() -> Vec<&'static str> {
    PRODUCTS
        .iter()
        .filter(|p| matches!(p.kind, "app" | "desktop" | "driver"))
        .map(|p| p.id)
        .collect()
}

/// The account id of the ihvdriver/hardware methods (`sellerId`).
pub const SELLER_ID: &str = "80012345";
/// Days of generated history.
pub const HISTORY_DAYS: i64 = 400;
/// The newest generated date is this many days before today.
pub const LAG_DAYS: i64 = 2;

const MARKETS: &[(&str, u32)] = &[
    ("US", 40),
    ("GB", 10),
    ("DE", 9),
    ("FR", 7),
    ("JP", 7),
    ("CA", 6),
    ("IN", 6),
    ("BR", 5),
    ("AU", 5),
    ("NL", 5),
];
const DEVICES: &[(&str, u32)] = &[
    ("PC", 70),
    ("Console-Xbox One", 12),
    ("Console-Xbox Series X", 10),
    ("Holographic", 3),
    ("Unknown", 5),
];
const ACQ_TYPES: &[(&str, u32)] = &[
    ("Free", 50),
    ("Paid", 20),
    ("Trial", 10),
    ("Iap", 12),
    ("Promotional code", 3),
    ("Xbox Game Pass", 5),
];
const AGES: &[(&str, u32)] = &[
    ("less than 13", 3),
    ("13-17", 8),
    ("18-24", 20),
    ("25-34", 28),
    ("35-44", 20),
    ("44-55", 12),
    ("greater than 55", 6),
    ("Unknown", 3),
];
const GENDERS: &[(&str, u32)] = &[("m", 55), ("f", 40), ("Unknown", 5)];
const STORE_CLIENTS: &[(&str, u32)] = &[
    ("Microsoft Store (client)", 70),
    ("Microsoft Store (web)", 20),
    ("Volume purchase by organizations", 5),
    ("Other", 5),
];
const OS_VERSIONS: &[(&str, u32)] = &[("Windows 11", 55), ("Windows 10", 43), ("Unknown", 2)];
const PAYMENTS: &[(&str, u32)] = &[
    ("Credit Card", 50),
    ("PayPal", 15),
    ("MS Balance", 10),
    ("Zero Amount Paid", 20),
    ("Mobile Operator", 5),
];
const PACKAGES: &[&str] = &["1.4.2.0", "1.5.0.0", "1.5.1.0"];
const EVENT_TYPES: &[(&str, u32)] = &[("crash", 60), ("hang", 25), ("memory", 10), ("jse", 5)];
const OS_RELEASES: &[&str] = &["Version 21H2", "Version 22H2", "Version 23H2"];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[0].0
}

fn guid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// A Poisson-ish count around `mean` (never negative).
fn count(rng: &mut ChaCha8Rng, mean: f64) -> i64 {
    let noise = 0.6 + 0.8 * rng.random::<f64>();
    (mean * noise).round().max(0.0) as i64
}

/// Seasonality and growth: weekends higher, slow growth over the history.
fn day_factor(day: NaiveDate, first: NaiveDate) -> f64 {
    let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    let age = (day - first).num_days() as f64 / HISTORY_DAYS as f64;
    (if weekend { 1.25 } else { 1.0 }) * (0.7 + 0.6 * age)
}

/// Rows of one dataset under construction, set by column name; columns a
/// row does not set are null. The loader's typed builders do the work.
struct Table {
    schema: SchemaRef,
    index: HashMap<String, usize>,
    builders: Builders,
    rows: usize,
}

impl Table {
    fn new(dataset: &Dataset) -> Table {
        let columns: Vec<&Column> = stored_columns(dataset).collect();
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Table {
            schema: dataset_schema(dataset),
            builders: Builders::new(&columns),
            index,
            rows: 0,
        }
    }

    fn row(&mut self, cells: &[(&str, CellRef<'_>)]) -> Result<()> {
        let mut row = vec![CellRef::Null; self.index.len()];
        for (name, cell) in cells {
            let i = *self.index.get(*name).ok_or_else(|| {
                EngineError::BadInput(format!("demo generator: no column {name}"))
            })?;
            if !self.builders.accepts(i, *cell) {
                return Err(EngineError::BadInput(format!(
                    "demo generator: wrong type for column {name}"
                )));
            }
            row[i] = *cell;
        }
        self.builders.push_row(row);
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<RecordBatch> {
        self.builders.finish(&self.schema)
    }
}

use CellRef::{Date as D, Float as F, Int as I, Str as S};

/// What [`seed`] wrote.
#[derive(Debug, Clone, Default)]
pub struct StoreSeedReport {
    pub datasets: usize,
    pub rows: u64,
    pub cabs: usize,
    /// Rows written to rollups.
    pub rollup_rows: u64,
}

/// Loads and rollup builds in flight at once while seeding.
const PARALLEL_WRITES: usize = 4;

/// Writes every Store dataset for `tenant`, replacing what was there.
pub async fn seed(
    store: &DataStore,
    tenant: &TenantId,
    seed: u64,
    today: NaiveDate,
) -> Result<StoreSeedReport> {
    let catalog = query::storeapi::store_catalog();
    let last = today - Duration::days(LAG_DAYS);
    let first = last - Duration::days(HISTORY_DAYS - 1);
    let world = World { seed, first, last };
    let mut report = StoreSeedReport::default();
    let mut cabs: Vec<(String, Vec<u8>)> = Vec::new();
    // Tables are filled here, one after the other (the CAB list is shared
    // and the generator is cheap); their loads, the rollups and the CAB
    // uploads each run a few at a time, since most of their time is spent
    // creating directories and files.
    let mut tables = Vec::new();
    for dataset in catalog.datasets() {
        let mut table = Table::new(dataset);
        world.fill(&dataset.name, &mut table, &mut cabs)?;
        report.rows += table.rows as u64;
        tables.push((dataset, table.finish()?));
    }
    let loads = futures::stream::iter(tables.into_iter().map(|(dataset, batch)| async move {
        let mut loader = Loader::new(store, dataset, tenant.clone(), LoadMode::ReplaceAll)?;
        if let Err(e) = loader.push_batch(&batch).await {
            loader.abort().await;
            return Err(e);
        }
        loader.commit().await
    }));
    let loaded: Vec<_> = loads.buffer_unordered(PARALLEL_WRITES).collect().await;
    for result in loaded {
        result?;
        report.datasets += 1;
    }
    // Rollups for the aggregated datasets (see `rollups`).
    let engine = crate::Engine::new(store.clone())?;
    let rollups = futures::stream::iter(
        catalog
            .datasets()
            .iter()
            .filter(|d| crate::rollups::spec_of(&d.name).is_some())
            .map(|dataset| crate::rollups::build(&engine, dataset, tenant)),
    );
    let built: Vec<_> = rollups.buffer_unordered(PARALLEL_WRITES).collect().await;
    for rows in built {
        report.rollup_rows += rows?;
    }
    let uploads = futures::stream::iter(cabs.into_iter().map(|(key, bytes)| async move {
        let path = Path::from(crate::storage::layout::cab_file(tenant, &key));
        store
            .object_store()
            .put(&path, PutPayload::from(bytes))
            .await
    }));
    let uploaded: Vec<_> = uploads
        .buffer_unordered(PARALLEL_WRITES * 4)
        .collect()
        .await;
    for result in uploaded {
        result?;
        report.cabs += 1;
    }
    Ok(report)
}

/// One failure report (CAB) of the demo data.
struct Report {
    product: &'static str,
    kind: &'static str,
    name: String,
    hash: String,
    symbol: String,
    /// Its number among the failure's reports.
    k: u64,
    day: NaiveDate,
    key: String,
}

/// One day of a usage cell: (users, devices, sessions, minutes).
type DayUsage = (i64, i64, i64, f64);

/// Replaces `store_acquisitions` by `rows` rows of daily data over the 365
/// days ending two days before `today`, all for the first demo app: the
/// benchmark's "app with 10 M daily rows". Returns the rows written; the
/// caller builds the rollups ([`crate::rollups::build`]).
pub async fn seed_bulk_acquisitions(
    store: &DataStore,
    tenant: &TenantId,
    seed: u64,
    rows: u64,
    today: NaiveDate,
) -> Result<u64> {
    let catalog = query::storeapi::store_catalog();
    let dataset = catalog
        .dataset("store_acquisitions")
        .ok_or_else(|| EngineError::BadInput("no store_acquisitions dataset".into()))?;
    let app = PRODUCTS[0];
    let last = today - Duration::days(LAG_DAYS);
    let days = 365u64;
    let mut loader = Loader::new(store, dataset, tenant.clone(), LoadMode::ReplaceAll)?;
    let mut written = 0u64;
    for k in 0..days {
        let day = last - Duration::days((days - 1 - k) as i64);
        let n = rows / days + u64::from(k < rows % days);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (k.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let mut t = Table::new(dataset);
        for _ in 0..n {
            let qty = 1 + rng.random_range(0..3);
            t.row(&[
                ("date", D(day)),
                ("applicationId", S(app.id)),
                ("applicationName", S(app.name)),
                ("productId", S(app.id)),
                ("productName", S(app.name)),
                ("productType", S("app")),
                ("acquisitionType", S(pick(&mut rng, ACQ_TYPES))),
                ("ageGroup", S(pick(&mut rng, AGES))),
                ("gender", S(pick(&mut rng, GENDERS))),
                ("storeClient", S(pick(&mut rng, STORE_CLIENTS))),
                ("market", S(pick(&mut rng, MARKETS))),
                ("osVersion", S(pick(&mut rng, OS_VERSIONS))),
                ("deviceType", S(pick(&mut rng, DEVICES))),
                ("acquisitionQuantity", I(qty)),
                ("purchasePriceUSDAmount", F(qty as f64 * 0.99)),
            ])?;
        }
        let batch = t.finish()?;
        if let Err(e) = loader.push_batch(&batch).await {
            loader.abort().await;
            return Err(e);
        }
        written += n;
    }
    loader.commit().await?;
    Ok(written)
}

struct World {
    seed: u64,
    first: NaiveDate,
    last: NaiveDate,
}

fn product(id: &str) -> Product {
    PRODUCTS
        .iter()
        .copied()
        .find(|p| p.id == id)
        .unwrap_or(PRODUCTS[0])
}

fn apps() -> impl Iterator<Item = Product> {
    PRODUCTS.iter().copied().filter(|p| p.kind == "app")
}

fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// A small but real cabinet file holding a minidump-like report.
fn cab_file(key: &str, failure: &str) -> Result<Vec<u8>> {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    folder.add_file("report.wer");
    folder.add_file("memory.hdmp.txt");
    let io = |e: std::io::Error| EngineError::BadInput(format!("writing a CAB file: {e}"));
    let mut writer = builder.build(Cursor::new(Vec::new())).map_err(io)?;
    let mut index = 0;
    while let Some(mut file) = writer.next_file().map_err(io)? {
        let text = if index == 0 {
            format!("Version=1\nEventType=APPCRASH\nReportIdentifier={key}\nFailure={failure}\n")
        } else {
            format!(
                "openinsights demo dump for {key}\n{}",
                "stack memory\n".repeat(20)
            )
        };
        file.write_all(text.as_bytes()).map_err(io)?;
        index += 1;
    }
    Ok(writer.finish().map_err(io)?.into_inner())
}
