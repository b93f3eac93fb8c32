//! Report files exactly as the spec's "Report files" section says. CSV:
//! RFC 4180, comma, header row, CRLF, fields quoted only when they hold a
//! comma, quote, CR or LF. TSV: tab separated, header row, CRLF, and tab,
//! newline, carriage return and backslash inside values written as `\t`,
//! `\n`, `\r`, `\\`. Dates `yyyy-MM-dd`, timestamps `yyyy-MM-dd HH:mm:ss`,
//! numbers in plain decimal (never an exponent), null as an empty field,
//! UTF-8 with an optional BOM, optionally gzip-compressed.
//!
//! Batches are formatted one at a time into a reusable buffer, so memory
//! stays flat whatever the row count.

use std::io::Write;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float32Type, Float64Type, Int32Type, Int64Type, UInt64Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

use crate::error::{EngineError, Result};
use crate::ingest::days_to_date;

/// The file formats of report files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Tsv,
}

impl FileFormat {
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "tsv" => Some(FileFormat::Tsv),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Tsv => "tsv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv",
            FileFormat::Tsv => "text/tab-separated-values",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    pub format: FileFormat,
    pub gzip: bool,
    pub bom: bool,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStats {
    pub rows: u64,
    /// Bytes before compression.
    pub bytes: u64,
}

/// Formats rows of one format into a byte buffer.
struct RowFormatter {
    format: FileFormat,
    buf: Vec<u8>,
}

impl RowFormatter {
    fn field(&mut self, value: &str) {
        match self.format {
            FileFormat::Csv => {
                if value
                    .bytes()
                    .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
                {
                    self.buf.push(b'"');
                    for b in value.bytes() {
                        if b == b'"' {
                            self.buf.push(b'"');
                        }
                        self.buf.push(b);
                    }
                    self.buf.push(b'"');
                } else {
                    self.buf.extend_from_slice(value.as_bytes());
                }
            }
            FileFormat::Tsv => {
                if value
                    .bytes()
                    .any(|b| matches!(b, b'\t' | b'\n' | b'\r' | b'\\'))
                {
                    for b in value.bytes() {
                        match b {
                            b'\t' => self.buf.extend_from_slice(b"\\t"),
                            b'\n' => self.buf.extend_from_slice(b"\\n"),
                            b'\r' => self.buf.extend_from_slice(b"\\r"),
                            b'\\' => self.buf.extend_from_slice(b"\\\\"),
                            other => self.buf.push(other),
                        }
                    }
                } else {
                    self.buf.extend_from_slice(value.as_bytes());
                }
            }
        }
    }

    fn separator(&mut self) {
        self.buf.push(match self.format {
            FileFormat::Csv => b',',
            FileFormat::Tsv => b'\t',
        });
    }

    fn end_row(&mut self) {
        self.buf.extend_from_slice(b"\r\n");
    }

    fn header(&mut self, names: &[String]) {
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                self.separator();
            }
            self.field(name);
        }
        self.end_row();
    }

    /// Appends every row of a batch.
    fn batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns: Vec<ColumnWriter<'_>> = batch
            .columns()
            .iter()
            .map(|a| ColumnWriter::new(a.as_ref()))
            .collect::<Result<_>>()?;
        let mut itoa_buf = itoa::Buffer::new();
        let mut text = String::new();
        for row in 0..batch.num_rows() {
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    self.separator();
                }
                if column.array.is_null(row) {
                    continue;
                }
                match &column.kind {
                    Kind::Utf8 => self.field(column.array.as_string::<i32>().value(row)),
                    Kind::LargeUtf8 => self.field(column.array.as_string::<i64>().value(row)),
                    Kind::Utf8View => self.field(column.array.as_string_view().value(row)),
                    Kind::Int64 => {
                        let v = column.array.as_primitive::<Int64Type>().value(row);
                        self.buf.extend_from_slice(itoa_buf.format(v).as_bytes());
                    }
                    Kind::Int32 => {
                        let v = column.array.as_primitive::<Int32Type>().value(row);
                        self.buf.extend_from_slice(itoa_buf.format(v).as_bytes());
                    }
                    Kind::UInt64 => {
                        let v = column.array.as_primitive::<UInt64Type>().value(row);
                        self.buf.extend_from_slice(itoa_buf.format(v).as_bytes());
                    }
                    Kind::Float64 => {
                        let v = column.array.as_primitive::<Float64Type>().value(row);
                        plain_float(&mut self.buf, v);
                    }
                    Kind::Float32 => {
                        let v = column.array.as_primitive::<Float32Type>().value(row);
                        plain_float(&mut self.buf, f64::from(v));
                    }
                    Kind::Date32 => {
                        let days = column.array.as_primitive::<Date32Type>().value(row);
                        if let Some(d) = days_to_date(days) {
                            text.clear();
                            use std::fmt::Write as _;
                            let _ = write!(text, "{}", d.format("%Y-%m-%d"));
                            self.buf.extend_from_slice(text.as_bytes());
                        }
                    }
                    Kind::Other(formatter) => {
                        text.clear();
                        use std::fmt::Write as _;
                        let _ = write!(text, "{}", formatter.value(row));
                        let owned = std::mem::take(&mut text);
                        self.field(&owned);
                        text = owned;
                    }
                }
            }
            self.end_row();
        }
        Ok(())
    }
}

/// Plain decimal without exponent; Rust's `Display` for `f64` never uses one.
fn plain_float(buf: &mut Vec<u8>, v: f64) {
    let _ = write!(buf, "{v}");
}

enum Kind<'a> {
    Utf8,
    LargeUtf8,
    Utf8View,
    Int64,
    Int32,
    UInt64,
    Float64,
    Float32,
    Date32,
    Other(ArrayFormatter<'a>),
}

struct ColumnWriter<'a> {
    array: &'a dyn Array,
    kind: Kind<'a>,
}

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

impl<'a> ColumnWriter<'a> {
    fn new(array: &'a dyn Array) -> Result<Self> {
        let kind = match array.data_type() {
            DataType::Utf8 => Kind::Utf8,
            DataType::LargeUtf8 => Kind::LargeUtf8,
            DataType::Utf8View => Kind::Utf8View,
            DataType::Int64 => Kind::Int64,
            DataType::Int32 => Kind::Int32,
            DataType::UInt64 => Kind::UInt64,
            DataType::Float64 => Kind::Float64,
            DataType::Float32 => Kind::Float32,
            DataType::Date32 => Kind::Date32,
            _ => {
                let options = FormatOptions::default()
                    .with_timestamp_format(Some(TIMESTAMP_FORMAT))
                    .with_timestamp_tz_format(Some(TIMESTAMP_FORMAT))
                    .with_date_format(Some("%Y-%m-%d"))
                    .with_null("");
                Kind::Other(ArrayFormatter::try_new(array, &options)?)
            }
        };
        Ok(ColumnWriter { array, kind })
    }
}

/// Writes a stream of batches as a report file to `out`, streaming.
pub async fn write_stream<W: Write + Send>(
    mut stream: SendableRecordBatchStream,
    header: &[String],
    out: W,
    options: WriteOptions,
) -> Result<WriteStats> {
    let mut sink: Box<dyn Write + Send + '_> = if options.gzip {
        Box::new(flate2::write::GzEncoder::new(
            out,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(out)
    };
    let io = |source| EngineError::Io {
        path: "report output".into(),
        source,
    };
    let mut formatter = RowFormatter {
        format: options.format,
        buf: Vec::with_capacity(1 << 20),
    };
    let mut stats = WriteStats::default();
    if options.bom {
        formatter.buf.extend_from_slice("\u{feff}".as_bytes());
    }
    formatter.header(header);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        formatter.batch(&batch)?;
        stats.rows += batch.num_rows() as u64;
        if formatter.buf.len() >= 1 << 20 {
            sink.write_all(&formatter.buf).map_err(io)?;
            stats.bytes += formatter.buf.len() as u64;
            formatter.buf.clear();
        }
    }
    sink.write_all(&formatter.buf).map_err(io)?;
    stats.bytes += formatter.buf.len() as u64;
    sink.flush().map_err(io)?;
    drop(sink);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(format: FileFormat, values: &[&str]) -> String {
        let mut f = RowFormatter {
            format,
            buf: Vec::new(),
        };
        f.header(&values.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        String::from_utf8(f.buf).unwrap()
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(
            row(FileFormat::Csv, &["a", "b,c", "d\"e", "f\ng", "h\ri", ""]),
            "a,\"b,c\",\"d\"\"e\",\"f\ng\",\"h\ri\",\r\n"
        );
    }

    #[test]
    fn tsv_escaping() {
        assert_eq!(
            row(
                FileFormat::Tsv,
                &["a\tb", "c\nd", "e\\f", "g\rh", "plain, \"x\""]
            ),
            "a\\tb\tc\\nd\te\\\\f\tg\\rh\tplain, \"x\"\r\n"
        );
    }

    #[test]
    fn floats_never_use_an_exponent() {
        let mut buf = Vec::new();
        for v in [1e21, 1e-7, 0.1, -2.5, 3.0] {
            plain_float(&mut buf, v);
            buf.push(b' ');
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "1000000000000000000000 0.0000001 0.1 -2.5 3 "
        );
    }
}
