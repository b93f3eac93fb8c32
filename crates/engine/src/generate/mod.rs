//! Demo data: realistic, deterministic rows for every Insights dataset.
//!
//! One [`Universe`] per (seed, size) holds the partners, customers (with
//! tenants, TPIDs, markets, segments, industries), subscriptions and
//! products that every dataset draws from, so the same customer appears
//! with the same tenant id, name and market everywhere. Customer sizes are
//! skewed (Zipf), months follow a seasonal curve with growth over the ~24
//! months ending at `through` (by default last month), optional columns are
//! sometimes null, and restricted revenue columns are filled.
//!
//! Determinism: rows are made in chunks, each from its own ChaCha stream
//! keyed by (seed, dataset, chunk index), and written in chunk order; the
//! same seed, size and `through` month give identical rows.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{Datelike, Months, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, Date32Builder, Float64Builder, Int64Builder, NullBufferBuilder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::buffer::NullBuffer;
use query::catalog::{Column, ColumnType, Dataset};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use crate::ingest::{LoadReport, date_to_days, partition_of, writer_properties};
use crate::schema::{dataset_schema, stored_columns};
use crate::storage::{DataStore, PartFile, TenantId};

mod chunk;
mod encode;
mod hybrid;
mod rows;
mod seeding;

use chunk::*;
use rows::*;

pub use seeding::{generate_batches, seed_dataset};

/// Rows generated per chunk (one RNG stream, one record batch).
pub const CHUNK_ROWS: usize = 131_072;
/// Months of history.
pub const MONTHS: u32 = 24;

const MARKETS: &[(&str, u32)] = &[
    ("United States", 30),
    ("United Kingdom", 9),
    ("Germany", 8),
    ("France", 6),
    ("Japan", 6),
    ("Canada", 5),
    ("Australia", 5),
    ("India", 5),
    ("Brazil", 4),
    ("Netherlands", 3),
    ("Spain", 3),
    ("Italy", 3),
    ("Mexico", 2),
    ("Sweden", 2),
    ("Singapore", 2),
    ("South Africa", 1),
    ("Poland", 1),
    ("Switzerland", 1),
    ("Korea", 1),
    ("Ireland", 1),
];
/// Segments drawn for smaller customers, by weight.
const SEGMENTS: &[(&str, u32)] = &[
    ("SMB", 80),
    ("Education", 8),
    ("Government", 7),
    ("Nonprofit", 5),
];
/// Every segment: by size first, then [`SEGMENTS`] in order.
const SEGMENT_NAMES: &[&str] = &[
    "Enterprise",
    "SMC - Corporate",
    "SMB",
    "Education",
    "Government",
    "Nonprofit",
];
const INDUSTRIES: &[&str] = &[
    "Financial Services",
    "Manufacturing",
    "Retail & Consumer Goods",
    "Healthcare",
    "Professional Services",
    "Media & Communications",
    "Government",
    "Education",
    "Energy",
    "Travel & Transportation",
];
const NAME_WORDS: &[&str] = &[
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Adventure",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Proseware",
    "Fourth Coffee",
    "Woodgrove",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Lucerne",
    "Margie's",
    "Trey",
    "Wide World",
    "Humongous",
    "Graphic Design",
    "Relecloud",
    "Southridge",
    "Datum",
    "Bellows",
    "Consolidated",
];
const NAME_SUFFIXES: &[&str] = &[
    "Ltd", "Inc", "GmbH", "Group", "Corp", "Partners", "LLC", "SA", "Holdings", "Systems",
];
const PRODUCTS: &[(&str, &str, &str, u32)] = &[
    (
        "Microsoft 365",
        "MICROSOFT 365 BUSINESS STANDARD",
        "KLQ-00211",
        30,
    ),
    (
        "Microsoft 365",
        "MICROSOFT 365 BUSINESS PREMIUM",
        "KLQ-00216",
        20,
    ),
    ("Microsoft 365", "MICROSOFT 365 E3", "AAA-10756", 12),
    ("Microsoft 365", "MICROSOFT 365 E5", "AAD-33204", 5),
    ("Office 365", "OFFICE 365 E1", "Q5Y-00003", 8),
    ("Office 365", "OFFICE 365 E3", "Q5Y-00004", 8),
    (
        "Dynamics 365",
        "DYNAMICS 365 SALES ENTERPRISE",
        "7MS-00001",
        4,
    ),
    (
        "Dynamics 365",
        "DYNAMICS 365 BUSINESS CENTRAL ESSENTIALS",
        "9KR-00002",
        4,
    ),
    ("Power BI", "POWER BI PRO", "9FS-00001", 6),
    ("Enterprise Mobility + Security", "EMS E3", "AAA-51069", 3),
    ("Azure", "AZURE PLAN", "DZH-00001", 10),
    ("Teams", "MICROSOFT TEAMS ESSENTIALS", "TMS-00001", 4),
];
const ATTRIBUTIONS: &[&str] = &["Reseller", "Advisor", "Distributor", "CSP Direct Bill"];
const CHANNELS: &[(&str, u32)] = &[("CSP", 50), ("EA", 20), ("MCA", 15), ("Web Direct", 15)];
const CITIES: &[&str] = &[
    "Seattle",
    "London",
    "Munich",
    "Paris",
    "Tokyo",
    "Toronto",
    "Sydney",
    "Bangalore",
    "São Paulo",
    "Amsterdam",
];
const APPS: &[&str] = &[
    "Polly",
    "Trello",
    "Asana",
    "Jira Cloud",
    "Zoom",
    "Adobe Acrobat",
    "Salesforce",
    "ServiceNow",
    "GitHub",
    "Miro",
];
const LEVELS: &[&str] = &["High", "Medium", "Low"];

pub struct Customer {
    pub tenant_id: String,
    pub tpid: String,
    pub name: String,
    /// `name` followed by " Tenant".
    pub tenant_name: String,
    pub domain: String,
    /// Index into [`MARKETS`].
    pub market: u32,
    /// Index into [`SEGMENT_NAMES`].
    pub segment: u32,
    /// Index into [`INDUSTRIES`].
    pub industry: u32,
    pub duns: Option<String>,
    /// Seats: the customer's size.
    pub seats: i64,
    pub partner: usize,
    pub first_subscription: usize,
    pub subscriptions: usize,
}

pub struct Partner {
    pub mpn_id: String,
    pub pga_mpn_id: String,
    pub name: String,
    /// Index into [`MARKETS`].
    pub country: u32,
    /// Index into [`CITIES`].
    pub city: u32,
}

/// The shared world every dataset draws from.
pub struct Universe {
    pub customers: Vec<Customer>,
    pub partners: Vec<Partner>,
    pub subscriptions: Vec<String>,
    /// The codes of texts that can repeat in their set.
    first: FirstCodes,
    /// Per customer, what drawing a row reads, packed: a large universe's
    /// `customers` do not fit in cache, and a miss per row on them was a
    /// fifth of generating.
    rows: Vec<CustomerRow>,
    /// Per coded kind, each code's position in byte order among the kind's
    /// texts (made on first use; see [`Universe::ranks`]).
    ranks: Mutex<HashMap<Gen, Arc<RanksCell>>>,
    /// Cumulative Zipf weights over customers (bigger customers, more rows).
    customer_cdf: Cdf,
    /// First day of each month of history, oldest first.
    pub months: Vec<NaiveDate>,
    month_cdf: Vec<f64>,
}

impl Universe {
    /// Each code of a coded column's kind ranked by its text's bytes, for
    /// statistics without comparing strings per chunk. The vocabulary
    /// columns' texts share their prefix, so their codes are their ranks.
    fn ranks(&self, kind: Gen, column: &Column) -> Arc<[u32]> {
        // One cell per kind: the seeding threads all start by asking for
        // the same kinds, and the first to come sorts while the others
        // wait for its answer instead of sorting the same texts again.
        let cell = Arc::clone(
            self.ranks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(kind)
                .or_default(),
        );
        Arc::clone(cell.get_or_init(|| {
            let mut order: Vec<u32> = (0..code_count(self, kind) as u32).collect();
            order.sort_by_cached_key(|&code| text_of(self, kind, column, code));
            let mut ranks = vec![0u32; order.len()];
            for (position, &code) in order.iter().enumerate() {
                ranks[code as usize] = position as u32;
            }
            ranks.into()
        }))
    }
}

/// One coded kind's ranks, made once (see [`Universe::ranks`]).
type RanksCell = OnceLock<Arc<[u32]>>;

/// What a row needs of its customer (see [`Universe::rows`]).
struct CustomerRow {
    seats: i64,
    partner: u32,
    first_subscription: u32,
    /// The DUNS number's code, `u32::MAX` for none.
    duns: u32,
    domain: u32,
    subscriptions: u32,
    market: u8,
    segment: u8,
    industry: u8,
}

/// For texts that can repeat in their set (a partner name, a DUNS number,
/// a product name), each item's code is the first item with the same
/// text, so that distinct codes name distinct strings.
struct FirstCodes {
    /// Per customer: DUNS number, domain.
    duns: Vec<u32>,
    domain: Vec<u32>,
    /// Per partner: PGA MPN id, name.
    pga_mpn_id: Vec<u32>,
    partner_name: Vec<u32>,
    /// Per product: name, SKU, part number.
    product: Vec<u32>,
    sku: Vec<u32>,
    part_number: Vec<u32>,
}

impl FirstCodes {
    fn of(customers: &[Customer], partners: &[Partner]) -> FirstCodes {
        FirstCodes {
            duns: first_of_each(
                customers
                    .iter()
                    .map(|c| c.duns.as_deref().unwrap_or_default()),
            ),
            domain: first_of_each(customers.iter().map(|c| c.domain.as_str())),
            pga_mpn_id: first_of_each(partners.iter().map(|p| p.pga_mpn_id.as_str())),
            partner_name: first_of_each(partners.iter().map(|p| p.name.as_str())),
            product: first_of_each(PRODUCTS.iter().map(|p| p.0)),
            sku: first_of_each(PRODUCTS.iter().map(|p| p.1)),
            part_number: first_of_each(PRODUCTS.iter().map(|p| p.2)),
        }
    }
}

/// For each text, the index of its first occurrence.
fn first_of_each<'a>(texts: impl Iterator<Item = &'a str>) -> Vec<u32> {
    let mut first = HashMap::new();
    texts
        .enumerate()
        .map(|(i, text)| *first.entry(text).or_insert(i as u32))
        .collect()
}

/// The index of an item drawn with probability proportional to
/// `weight(item)`.
fn pick_weighted_index<T>(rng: &mut ChaCha8Rng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, item) in items.iter().enumerate() {
        let w = weight(item);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// The index of a `(value, weight)` pair drawn by weight.
fn pick_weighted<T>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> usize {
    pick_weighted_index(rng, items, |i| i.1)
}

/// The index of an item drawn uniformly.
fn pick_index<T>(rng: &mut ChaCha8Rng, items: &[T]) -> usize {
    rng.random_range(0..items.len())
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[pick_index(rng, items)]
}

/// Cumulative weights with a guide table: `guide[k]` is the first index
/// whose cumulative weight reaches `k / buckets` of the total, so a draw
/// searches only the few entries of its bucket and its neighbours, and
/// finds the index a binary search of the whole table finds.
struct Cdf {
    cumulative: Vec<f64>,
    guide: Vec<u32>,
}

impl Cdf {
    fn new(cumulative: Vec<f64>) -> Cdf {
        let total = cumulative.last().copied().unwrap_or(1.0);
        let buckets = cumulative.len().max(1);
        let guide = (0..=buckets)
            .map(|k| {
                let bound = total * k as f64 / buckets as f64;
                cumulative.partition_point(|&c| c < bound) as u32
            })
            .collect();
        Cdf { cumulative, guide }
    }

    /// An index drawn with probability proportional to its weight.
    fn sample(&self, rng: &mut ChaCha8Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.random::<f64>() * total;
        let last = self.cumulative.len().saturating_sub(1);
        let buckets = self.guide.len() - 1;
        // `x` lies in bucket `k` up to rounding, so surely between the
        // bounds of buckets `k - 1` and `k + 1`.
        let k = ((x / total) * buckets as f64) as usize;
        let lo = self.guide[k.saturating_sub(1).min(buckets)] as usize;
        let hi = (self.guide[(k + 1).min(buckets)] as usize + 1).min(self.cumulative.len());
        let within = self.cumulative[lo..hi.max(lo)].partition_point(|&c| c < x);
        (lo + within).min(last)
    }
}

fn uuid_from(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

impl Universe {
    /// The universe for `rows` rows per dataset, history through `through`'s month.
    pub fn new(seed: u64, rows: u64, through: NaiveDate) -> Universe {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x756e_6976_6572_7365);
        let n_customers = (rows / 100).clamp(50, 200_000) as usize;
        let n_partners = (n_customers / 25).clamp(10, 5_000);
        let partners: Vec<Partner> = (0..n_partners)
            .map(|i| {
                let mpn = 1_000_000 + i as u64 * 7 + rng.random_range(0..7);
                let name = format!(
                    "{} {}",
                    pick(&mut rng, NAME_WORDS),
                    pick(
                        &mut rng,
                        &["Solutions", "Cloud", "IT", "Consulting", "Digital"]
                    )
                );
                Partner {
                    mpn_id: mpn.to_string(),
                    pga_mpn_id: (mpn - mpn % 70).to_string(),
                    name,
                    country: pick_weighted(&mut rng, MARKETS) as u32,
                    city: pick_index(&mut rng, CITIES) as u32,
                }
            })
            .collect();
        let mut subscriptions = Vec::new();
        let customers: Vec<Customer> = (0..n_customers)
            .map(|i| {
                let word = NAME_WORDS[i % NAME_WORDS.len()];
                let suffix = NAME_SUFFIXES[(i / NAME_WORDS.len()) % NAME_SUFFIXES.len()];
                let round = i / (NAME_WORDS.len() * NAME_SUFFIXES.len());
                let name = if round == 0 {
                    format!("{word} {suffix}")
                } else {
                    format!("{word} {suffix} {}", round + 1)
                };
                let domain = format!(
                    "{}.onmicrosoft.com",
                    name.to_lowercase().replace([' ', '\''], "")
                );
                // Zipf-like size: a few very large customers, many small.
                let seats = ((20_000.0 / (i as f64 + 1.0).powf(0.9)) * (0.5 + rng.random::<f64>()))
                    .max(1.0) as i64;
                let segment = match seats {
                    s if s >= 2_000 => 0,
                    s if s >= 300 => 1,
                    _ => 2 + pick_weighted(&mut rng, SEGMENTS) as u32,
                };
                let n_subs = 1 + (seats as f64).log10() as usize + rng.random_range(0..2);
                let first_subscription = subscriptions.len();
                for _ in 0..n_subs {
                    subscriptions.push(uuid_from(&mut rng));
                }
                Customer {
                    tenant_id: uuid_from(&mut rng),
                    tpid: (10_000_000 + i as u64 * 13 + rng.random_range(0..13)).to_string(),
                    tenant_name: format!("{name} Tenant"),
                    name,
                    domain,
                    market: pick_weighted(&mut rng, MARKETS) as u32,
                    segment,
                    industry: pick_index(&mut rng, INDUSTRIES) as u32,
                    duns: (rng.random::<f64>() < 0.7)
                        .then(|| rng.random_range(100_000_000..999_999_999u64).to_string()),
                    seats,
                    partner: rng.random_range(0..n_partners),
                    first_subscription,
                    subscriptions: n_subs,
                }
            })
            .collect();
        let mut acc = 0.0;
        let customer_cdf: Vec<f64> = (0..n_customers)
            .map(|i| {
                acc += 1.0 / (i as f64 + 1.0).powf(0.9);
                acc
            })
            .collect();
        let last = NaiveDate::from_ymd_opt(through.year(), through.month(), 1).unwrap_or(through);
        let months: Vec<NaiveDate> = (0..MONTHS)
            .rev()
            .filter_map(|k| last.checked_sub_months(Months::new(k)))
            .collect();
        let mut acc = 0.0;
        let month_cdf = months
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let season =
                    1.0 + 0.15 * (std::f64::consts::TAU * f64::from(m.month()) / 12.0).sin();
                acc += season * (1.0 + 0.03 * k as f64);
                acc
            })
            .collect();
        let first = FirstCodes::of(&customers, &partners);
        let rows = customers
            .iter()
            .enumerate()
            .map(|(i, c)| CustomerRow {
                seats: c.seats,
                partner: c.partner as u32,
                first_subscription: c.first_subscription as u32,
                duns: c.duns.as_ref().map_or(u32::MAX, |_| first.duns[i]),
                domain: first.domain[i],
                subscriptions: c.subscriptions as u32,
                market: c.market as u8,
                segment: c.segment as u8,
                industry: c.industry as u8,
            })
            .collect();
        Universe {
            first,
            rows,
            ranks: Default::default(),
            customers,
            partners,
            subscriptions,
            customer_cdf: Cdf::new(customer_cdf),
            months,
            month_cdf,
        }
    }
}
