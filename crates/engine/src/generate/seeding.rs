//! Chunked generation: rows split over months and chunks, generated on
//! one thread per core and written in chunk order (so the output does not
//! depend on the thread count), into batches or straight into part files.

use super::*;

/// Splits `rows` over the months by the seasonal weights (all of them in
/// one group for datasets without dates), then into chunks.
fn tasks(universe: &Universe, dataset: &Dataset, rows: u64) -> Vec<Task> {
    let n_months = universe.months.len();
    let per_month: Vec<u64> = if dataset.date_column.is_none() || n_months == 0 {
        vec![rows]
    } else {
        let total = universe.month_cdf.last().copied().unwrap_or(1.0);
        let mut previous = 0.0;
        let mut assigned = 0u64;
        universe
            .month_cdf
            .iter()
            .enumerate()
            .map(|(k, &c)| {
                let n = if k + 1 == n_months {
                    rows - assigned
                } else {
                    ((rows as f64) * (c - previous) / total) as u64
                };
                previous = c;
                assigned += n;
                n
            })
            .collect()
    };
    let last_month = n_months.saturating_sub(1);
    let mut out = Vec::new();
    for (k, &n) in per_month.iter().enumerate() {
        let month = if per_month.len() == 1 { last_month } else { k };
        let mut index = 0;
        let mut left = n;
        while left > 0 {
            let take = left.min(CHUNK_ROWS as u64);
            out.push(Task {
                month,
                index,
                rows: take as usize,
            });
            index += 1;
            left -= take;
        }
    }
    out
}

/// Generates `rows` rows of one dataset as record batches, month by month
/// (so each batch lies in one partition), using every core; `sink`
/// receives them in a deterministic order.
pub fn generate_batches(
    universe: &Universe,
    dataset: &Dataset,
    seed: u64,
    rows: u64,
    sink: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    generate_chunks(
        universe,
        dataset,
        seed,
        rows,
        |_, chunk, columns| chunk.into_batch(universe, dataset, columns),
        sink,
    )
}

/// Like [`generate_batches`], with `work` applied to each chunk on the
/// generating thread (the seed path encodes Parquet there, in parallel).
/// `work` also receives the chunk's month and its columns' generators.
fn generate_chunks<T: Send>(
    universe: &Universe,
    dataset: &Dataset,
    seed: u64,
    rows: u64,
    work: impl Fn(NaiveDate, Chunk, &[(Gen, &Column)]) -> Result<T> + Sync,
    mut sink: impl FnMut(T) -> Result<()>,
) -> Result<()> {
    let columns: Vec<(Gen, &Column)> = stored_columns(dataset)
        .map(|c| (gen_for(c, dataset), c))
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let tasks = tasks(universe, dataset, rows);
    // Workers pull the next task from a shared counter (no idle core while
    // another finishes a long chunk); results are put back in task order.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<T>)>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let (columns, work, tasks, next, stop) = (&columns, &work, &tasks, &next, &stop);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&task) = tasks.get(i) else { break };
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let rows = chunk(universe, dataset, columns, seed, task);
                    let month = universe
                        .months
                        .get(task.month)
                        .copied()
                        .unwrap_or(NaiveDate::MIN);
                    let result = work(month, rows, columns);
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = std::collections::BTreeMap::new();
        let mut emit = 0usize;
        let mut outcome = Ok(());
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&emit) {
                emit += 1;
                if outcome.is_ok() {
                    outcome = result.and_then(&mut sink);
                    if outcome.is_err() {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }
        outcome
    })
}

/// Part-file properties for generated data: the project's defaults, with
/// dictionary encoding off for the columns whose values rarely repeat
/// (user ids, amounts, ratios, seats), where a dictionary only costs time.
/// Coded columns are dictionary-encoded by [`super::encode`] whatever this
/// says.
fn generated_file_properties(dataset: &Dataset) -> WriterProperties {
    let mut builder = writer_properties().into_builder();
    for column in stored_columns(dataset) {
        let kind = gen_for(column, dataset);
        if matches!(kind, Gen::UserId | Gen::Money | Gen::Ratio | Gen::Seats) {
            builder = builder
                .set_column_dictionary_enabled(ColumnPath::from(column.name.as_str()), false);
        }
    }
    builder.build()
}

/// Replaces a tenant's rows of one dataset with `rows` generated rows.
/// Each chunk is encoded to Parquet on the thread that generated it and
/// uploaded as its own part file; one manifest commit makes them all live.
pub async fn seed_dataset(
    store: &DataStore,
    universe: &Arc<Universe>,
    dataset: &Dataset,
    tenant: &TenantId,
    seed: u64,
    rows: u64,
) -> Result<LoadReport> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, Vec<u8>, u64)>(4);
    let generator = {
        let dataset = dataset.clone();
        let universe = Arc::clone(universe);
        tokio::task::spawn_blocking(move || {
            let dated = dataset.date_column.is_some();
            let properties = generated_file_properties(&dataset);
            let schema = dataset_schema(&dataset);
            generate_chunks(
                &universe,
                &dataset,
                seed,
                rows,
                |month, rows, columns| {
                    let partition = partition_of(dated.then_some(month));
                    let n = rows.rows as u64;
                    let properties = if rows.rows < crate::ingest::SMALL_PART_ROWS {
                        let mut small = properties.clone().into_builder();
                        small =
                            small.set_compression(datafusion::parquet::basic::Compression::LZ4_RAW);
                        small.build()
                    } else {
                        properties.clone()
                    };
                    let bytes =
                        super::encode::part_file(&universe, &schema, columns, rows, properties)?;
                    Ok((partition, bytes, n))
                },
                |file| {
                    tx.blocking_send(file).map_err(|_| {
                        crate::error::EngineError::BadInput("the uploader stopped".into())
                    })
                },
            )
        })
    };
    let mut files = Vec::new();
    let mut uploaded: Result<()> = Ok(());
    while let Some((partition, bytes, n)) = rx.recv().await {
        let path = crate::storage::layout::new_part_path(&dataset.name, tenant, &partition);
        let size = bytes.len() as u64;
        if let Err(e) = store
            .object_store()
            .put(&Path::from(path.as_str()), PutPayload::from(bytes))
            .await
        {
            // Stop the generator (its sends fail) and report; the files
            // uploaded so far are unreferenced garbage.
            uploaded = Err(e.into());
            break;
        }
        files.push(PartFile {
            path,
            partition,
            rows: n,
            bytes: size,
        });
    }
    drop(rx);
    let generated = generator
        .await
        .map_err(|e| crate::error::EngineError::BadInput(format!("generator failed: {e}")))?;
    uploaded?;
    generated?;
    let total: u64 = files.iter().map(|f| f.rows).sum();
    let manifest = store
        .commit(&dataset.name, tenant, |_| Ok(files.clone()))
        .await?;
    Ok(LoadReport {
        rows: total,
        files_written: manifest.files.len(),
        version: manifest.version,
    })
}
