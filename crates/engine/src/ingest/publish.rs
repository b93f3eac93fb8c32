//! The second half of a load's commit: the manifest that makes the new
//! part files live, with the months a replacing load covers only in part
//! rewritten first.

use super::*;

impl Loader<'_> {
    /// The second half of a commit: the manifest that makes the files live.
    pub(super) async fn publish(&mut self, new_files: Vec<PartFile>) -> Result<LoadReport> {
        let rewritten = self.rewrite_partial_months().await?;
        let mode = self.mode;
        let touched_months = rewritten.touched.clone();
        let read_version = rewritten.version;
        let manifest = self
            .store
            .commit(&self.dataset.name, &self.tenant, |current: &Manifest| {
                let mut files: Vec<PartFile> = match mode {
                    LoadMode::Append => current.files.clone(),
                    LoadMode::ReplaceAll => Vec::new(),
                    LoadMode::ReplaceRange { .. } => {
                        if current.version != read_version {
                            // Someone changed the data while we rewrote months.
                            return Err(EngineError::Conflict {
                                what: "the replaced range".into(),
                            });
                        }
                        current
                            .files
                            .iter()
                            .filter(|f| !touched_months.contains(&f.partition))
                            .cloned()
                            .collect()
                    }
                };
                files.extend(rewritten.files.iter().cloned());
                files.extend(new_files.iter().cloned());
                Ok(files)
            })
            .await?;
        Ok(LoadReport {
            rows: self.rows,
            files_written: manifest.files.len(),
            version: manifest.version,
        })
    }

    /// For a range replace: the months the range touches, and for months it
    /// covers only partly, new files holding the rows outside the range.
    async fn rewrite_partial_months(&mut self) -> Result<Rewritten> {
        let LoadMode::ReplaceRange { from, to } = self.mode else {
            return Ok(Rewritten::default());
        };
        let current = self
            .store
            .manifest(&self.dataset.name, &self.tenant)
            .await?;
        let mut out = Rewritten {
            version: current.version,
            ..Rewritten::default()
        };
        let (lo, hi) = (date_to_days(from), date_to_days(to));
        for file in &current.files {
            let Some(month) = partition_month(&file.partition) else {
                continue;
            };
            let month_end = month
                .checked_add_months(chrono::Months::new(1))
                .and_then(|d| d.pred_opt())
                .unwrap_or(month);
            if month_end < from || month > to {
                continue;
            }
            if !out.touched.contains(&file.partition) {
                out.touched.push(file.partition.clone());
            }
            if month >= from && month_end <= to {
                continue; // Entirely replaced.
            }
            // Keep the rows of this file that lie outside the range.
            let bytes = self
                .store
                .object_store()
                .get(&Path::from(file.path.as_str()))
                .await?
                .bytes()
                .await?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
            let mut partition = Partition {
                builders: Builders::new(&self.columns),
                writer: None,
                path: crate::storage::layout::new_part_path(
                    &self.dataset.name,
                    &self.tenant,
                    &file.partition,
                ),
                rows: 0,
            };
            let date_index = self.date_index.unwrap_or(0);
            for batch in reader {
                let batch = batch?;
                let Some(dates) = batch
                    .column(date_index)
                    .as_any()
                    .downcast_ref::<Date32Array>()
                else {
                    continue;
                };
                let keep: datafusion::arrow::array::BooleanArray = dates
                    .iter()
                    .map(|d| Some(d.is_some_and(|d| d < lo || d > hi)))
                    .collect();
                let kept = filter_record_batch(&batch, &keep)?;
                if kept.num_rows() > 0 {
                    partition.rows += kept.num_rows() as u64;
                    write_batch(self.store, &mut partition, &kept, self.page_rows).await?;
                }
            }
            if let Some(part) =
                close_partition(self.store, partition, file.partition.clone()).await?
            {
                out.files.push(part);
            }
        }
        Ok(out)
    }
}

#[derive(Default)]
struct Rewritten {
    version: u64,
    touched: Vec<String>,
    files: Vec<PartFile>,
}
