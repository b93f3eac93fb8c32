//! Measures the demo generator alone (no Parquet writing):
//! `cargo run --release -p engine --example generate_rate [ROWS] [DATASET]`.

use std::time::Instant;

use chrono::NaiveDate;
use engine::generate::{Universe, generate_batches};
use query::Catalog;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let name = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "CustomersAndTenants".into());
    let dataset = query::builtin().dataset(&name).ok_or("unknown dataset")?;
    let through = NaiveDate::from_ymd_opt(2026, 10, 1).ok_or("date")?;
    let started = Instant::now();
    let universe = Universe::new(1, rows, through);
    let universe_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut n = 0usize;
    let write = std::env::var("WRITE").ok();
    let props = match write.as_deref() {
        Some("snappy") => datafusion::parquet::file::properties::WriterProperties::builder()
            .set_compression(datafusion::parquet::basic::Compression::SNAPPY)
            .build(),
        Some("none") => datafusion::parquet::file::properties::WriterProperties::builder().build(),
        Some("nodict") => datafusion::parquet::file::properties::WriterProperties::builder()
            .set_dictionary_enabled(false)
            .build(),
        _ => engine::ingest::writer_properties(),
    };
    let schema = engine::schema::dataset_schema(dataset);
    let mut writer =
        datafusion::parquet::arrow::ArrowWriter::try_new(std::io::sink(), schema, Some(props))?;
    let mut encode = 0.0;
    generate_batches(&universe, dataset, 1, rows, |b| {
        n += b.num_rows();
        if write.is_some() {
            let t = Instant::now();
            writer.write(&b)?;
            encode += t.elapsed().as_secs_f64();
        }
        Ok(())
    })?;
    writer.close()?;
    println!("encoding: {encode:.2}s");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{name}: universe {universe_secs:.2}s, {n} rows in {secs:.2}s = {:.0} rows/s",
        n as f64 / secs
    );
    Ok(())
}
