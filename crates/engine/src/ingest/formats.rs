//! The loader's readers, one per input format: CSV (header row, columns
//! by name in any case, records ending at LF so lines are numbered as an
//! editor shows them), NDJSON (one object a line, keys in any case) and
//! Parquet (columns by name in any case, cast to the catalog types). Each
//! converts values with `cells` and hands rows or batches to the `Loader`.

use super::*;

impl Loader<'_> {
    /// Reads one file into the batch (its format from its name).
    pub async fn read_file(&mut self, path: &std::path::Path) -> Result<()> {
        let shown = path.display().to_string();
        self.read_file_as(path, Format::from_path(path)?, &shown)
            .await
    }

    /// Reads one file of a known format into the batch; messages name it
    /// `shown` (an upload has no file name of its own).
    pub async fn read_file_as(
        &mut self,
        path: &std::path::Path,
        format: Format,
        shown: &str,
    ) -> Result<()> {
        match format {
            Format::Csv => self.read_csv(path, shown).await,
            Format::Ndjson => self.read_ndjson(path, shown).await,
            Format::Parquet => self.read_parquet(path, shown).await,
        }
    }

    async fn read_csv(&mut self, path: &std::path::Path, shown: &str) -> Result<()> {
        let io = |source| EngineError::Io {
            path: shown.to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // Records end at LF only, so the reader counts lines as an editor
        // does for LF and CRLF files alike (with its default terminator a
        // CRLF record is reported a line early); the CR it leaves on each
        // line's last field is dropped below.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(std::io::BufReader::new(file));
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| {
                EngineError::BadInput(format!("{shown}: cannot read the header row: {e}"))
            })?
            .iter()
            .map(|h| {
                h.trim_start_matches('\u{feff}')
                    .trim_end_matches('\r')
                    .to_string()
            })
            .collect();
        let map = self.map_header(shown, header.iter().map(String::as_str))?;
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(EngineError::BadInput(format!("{shown}:{line}: {e}")));
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record.iter().all(|f| f == "\r") {
                continue; // a blank CRLF line
            }
            if record.len() != header.len() {
                return Err(EngineError::BadInput(format!(
                    "{shown}:{line}: {} fields, but the header row has {}",
                    record.len(),
                    header.len()
                )));
            }
            let mut cells = vec![Cell::Null; self.columns.len()];
            let last = record.len().saturating_sub(1);
            for (i, (field, &idx)) in record.iter().zip(&map).enumerate() {
                let field = match i == last {
                    true => field.strip_suffix('\r').unwrap_or(field),
                    false => field,
                };
                let column = self.columns[idx];
                match convert_text(field, column.ty) {
                    Some(cell) => cells[idx] = cell,
                    None => self
                        .bad
                        .push(|| bad_value(shown, line, &column.name, field, column.ty)),
                }
            }
            self.push_row(shown, line, cells).await?;
        }
        Ok(())
    }

    async fn read_ndjson(&mut self, path: &std::path::Path, shown: &str) -> Result<()> {
        use std::io::BufRead;
        let io = |source| EngineError::Io {
            path: shown.to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line_no = i as u64 + 1;
            let text = line.map_err(io)?;
            if text.trim().is_empty() {
                continue;
            }
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
                .map_err(|e| {
                    EngineError::BadInput(format!("{shown}:{line_no}: not a JSON object: {e}"))
                })?;
            let map = self.map_header(
                &format!("{shown}:{line_no}"),
                object.keys().map(String::as_str),
            )?;
            let mut cells = vec![Cell::Null; self.columns.len()];
            for (value, &idx) in object.values().zip(&map) {
                let column = self.columns[idx];
                match convert_json(value, column.ty) {
                    Some(cell) => cells[idx] = cell,
                    None => self.bad.push(|| {
                        bad_value(shown, line_no, &column.name, &json_text(value), column.ty)
                    }),
                }
            }
            self.push_row(shown, line_no, cells).await?;
        }
        Ok(())
    }

    async fn read_parquet(&mut self, path: &std::path::Path, shown: &str) -> Result<()> {
        let file = std::fs::File::open(path).map_err(|source| EngineError::Io {
            path: shown.to_string(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
            EngineError::BadInput(format!("{shown}: not a readable Parquet file: {e}"))
        })?;
        let input_schema = builder.schema().clone();
        let map = self.map_header(
            shown,
            input_schema.fields().iter().map(|f| f.name().as_str()),
        )?;
        let reader = builder.with_batch_size(8192).build()?;
        let mut row_base = 0u64;
        let format = FormatOptions::default();
        for batch in reader {
            let batch = batch?;
            let mut arrays: Vec<Option<ArrayRef>> = vec![None; self.columns.len()];
            for (input, &idx) in batch.columns().iter().zip(&map) {
                let column = self.columns[idx];
                let target = crate::schema::arrow_type(column.ty);
                let cast = cast_with_options(
                    input,
                    &target,
                    &CastOptions {
                        safe: true,
                        ..Default::default()
                    },
                )
                .map_err(|e| {
                    EngineError::BadInput(format!(
                        "{shown}: column '{}' of type {} cannot be converted to {}: {e}",
                        column.name,
                        input.data_type(),
                        column.ty
                    ))
                })?;
                if cast.null_count() > input.null_count() {
                    let formatter = ArrayFormatter::try_new(input.as_ref(), &format)?;
                    for i in 0..input.len() {
                        if input.is_valid(i) && cast.is_null(i) {
                            let value = formatter.value(i).to_string();
                            let row = row_base + i as u64 + 1;
                            self.bad
                                .push(|| bad_value(shown, row, &column.name, &value, column.ty));
                        }
                    }
                }
                arrays[idx] = Some(cast);
            }
            let n = batch.num_rows();
            let columns: Vec<ArrayRef> = arrays
                .into_iter()
                .zip(&self.columns)
                .map(|(a, c)| {
                    a.unwrap_or_else(|| {
                        datafusion::arrow::array::new_null_array(
                            &crate::schema::arrow_type(c.ty),
                            n,
                        )
                    })
                })
                .collect();
            let typed = RecordBatch::try_new(self.schema.clone(), columns)?;
            row_base += n as u64;
            if let Some(i) = self.date_index {
                let dates = typed.column(i);
                if dates.null_count() > 0 {
                    let name = self.columns[i].name.clone();
                    for r in 0..n {
                        if dates.is_null(r) {
                            let row = row_base - n as u64 + r as u64 + 1;
                            self.bad.push(|| {
                                format!("{shown}:{row}: column '{name}': a date is required (the dataset is partitioned by it)")
                            });
                        }
                    }
                    continue;
                }
                if let LoadMode::ReplaceRange { from, to } = self.mode {
                    let dates = dates.as_any().downcast_ref::<Date32Array>();
                    let (lo, hi) = (date_to_days(from), date_to_days(to));
                    if let Some(dates) = dates {
                        for r in 0..n {
                            let d = dates.value(r);
                            if d < lo || d > hi {
                                let row = row_base - n as u64 + r as u64 + 1;
                                let name = self.columns[i].name.clone();
                                let shown_date =
                                    days_to_date(d).map(|d| d.to_string()).unwrap_or_default();
                                self.bad.push(|| {
                                    format!("{shown}:{row}: column '{name}': {shown_date} is outside the replaced range {from}..{to}")
                                });
                            }
                        }
                    }
                }
            }
            if self.bad.total == 0 {
                self.push_batch(&typed).await?;
            }
        }
        Ok(())
    }
}
