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

use datafusion::arrow::array::{
    Array, AsArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use datafusion::arrow::buffer::NullBuffer;
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

    /// Appends every row of a batch. Columns are resolved to their typed
    /// arrays once per batch, so a cell costs one match and no downcast.
    fn batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let columns: Vec<ColumnWriter<'_>> = batch
            .columns()
            .iter()
            .map(|a| ColumnWriter::new(a.as_ref()))
            .collect::<Result<_>>()?;
        let mut itoa_buf = itoa::Buffer::new();
        let mut dates = DateCache::default();
        let mut text = String::new();
        for row in 0..batch.num_rows() {
            for (i, column) in columns.iter().enumerate() {
                if i > 0 {
                    self.separator();
                }
                if column.nulls.is_some_and(|n| n.is_null(row)) {
                    continue;
                }
                match &column.kind {
                    Kind::Utf8(a) => self.field(a.value(row)),
                    Kind::LargeUtf8(a) => self.field(a.value(row)),
                    Kind::Utf8View(a) => self.field(a.value(row)),
                    Kind::Int64(v) => self
                        .buf
                        .extend_from_slice(itoa_buf.format(v[row]).as_bytes()),
                    Kind::Int32(v) => self
                        .buf
                        .extend_from_slice(itoa_buf.format(v[row]).as_bytes()),
                    Kind::UInt64(v) => self
                        .buf
                        .extend_from_slice(itoa_buf.format(v[row]).as_bytes()),
                    Kind::Float64(v) => plain_float(&mut self.buf, v[row]),
                    Kind::Float32(v) => plain_float(&mut self.buf, f64::from(v[row])),
                    Kind::Date32(v) => dates.write(&mut self.buf, v[row]),
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

/// `yyyy-MM-dd` of a day number, remembering the last one (a report's
/// date column repeats the same day for long runs of rows).
#[derive(Default)]
struct DateCache {
    /// The day `text` holds, when it holds one.
    days: Option<i32>,
    text: Vec<u8>,
}

impl DateCache {
    fn write(&mut self, buf: &mut Vec<u8>, days: i32) {
        if self.days != Some(days) {
            self.fill(days);
        }
        buf.extend_from_slice(&self.text);
    }

    fn fill(&mut self, days: i32) {
        let text = &mut self.text;
        text.clear();
        if let Some(date) = days_to_date(days) {
            use chrono::Datelike;
            let (y, m, d) = (date.year(), date.month(), date.day());
            if (0..=9999).contains(&y) {
                let digit = |n: u32| b'0' + (n % 10) as u8;
                let y = y as u32;
                text.extend_from_slice(&[
                    digit(y / 1000),
                    digit(y / 100),
                    digit(y / 10),
                    digit(y),
                    b'-',
                    digit(m / 10),
                    digit(m),
                    b'-',
                    digit(d / 10),
                    digit(d),
                ]);
            } else {
                let _ = write!(text, "{}", date.format("%Y-%m-%d"));
            }
        }
        self.days = Some(days);
    }
}

/// Plain decimal without exponent, exactly as Rust's `Display` for `f64`
/// writes it (shortest digits that read back, never an exponent). Whole
/// numbers go through `itoa`. Fractions in ryu's plain-decimal range go
/// through `ryu` when its answer has at most 15 significant digits: then
/// it is the only string that short which reads back, so `Display` writes
/// it too (with 16 or 17 digits two strings can tie, and the two libraries
/// break ties differently). The rest through `Display`.
fn plain_float(buf: &mut Vec<u8>, v: f64) {
    let magnitude = v.abs();
    if v.fract() == 0.0 && magnitude < 1e15 && !(v == 0.0 && v.is_sign_negative()) {
        buf.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
        return;
    }
    if v.is_finite() && (1e-4..1e15).contains(&magnitude) {
        let mut ryu = ryu::Buffer::new();
        let text = ryu.format_finite(v);
        let significant = text
            .bytes()
            .filter(u8::is_ascii_digit)
            .skip_while(|&b| b == b'0')
            .count();
        if significant <= 15 {
            buf.extend_from_slice(text.as_bytes());
            return;
        }
    }
    let _ = write!(buf, "{v}");
}

enum Kind<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Int64(&'a [i64]),
    Int32(&'a [i32]),
    UInt64(&'a [u64]),
    Float64(&'a [f64]),
    Float32(&'a [f32]),
    Date32(&'a [i32]),
    Other(ArrayFormatter<'a>),
}

struct ColumnWriter<'a> {
    nulls: Option<&'a NullBuffer>,
    kind: Kind<'a>,
}

const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

impl<'a> ColumnWriter<'a> {
    fn new(array: &'a dyn Array) -> Result<Self> {
        let kind = match array.data_type() {
            DataType::Utf8 => Kind::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Kind::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Kind::Utf8View(array.as_string_view()),
            DataType::Int64 => Kind::Int64(array.as_primitive::<Int64Type>().values()),
            DataType::Int32 => Kind::Int32(array.as_primitive::<Int32Type>().values()),
            DataType::UInt64 => Kind::UInt64(array.as_primitive::<UInt64Type>().values()),
            DataType::Float64 => Kind::Float64(array.as_primitive::<Float64Type>().values()),
            DataType::Float32 => Kind::Float32(array.as_primitive::<Float32Type>().values()),
            DataType::Date32 => Kind::Date32(array.as_primitive::<Date32Type>().values()),
            _ => {
                let options = FormatOptions::default()
                    .with_timestamp_format(Some(TIMESTAMP_FORMAT))
                    .with_timestamp_tz_format(Some(TIMESTAMP_FORMAT))
                    .with_date_format(Some("%Y-%m-%d"))
                    .with_null("");
                Kind::Other(ArrayFormatter::try_new(array, &options)?)
            }
        };
        Ok(ColumnWriter {
            nulls: array.nulls(),
            kind,
        })
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

    #[test]
    fn fast_float_paths_write_what_display_writes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut values = vec![
            0.0,
            -0.0,
            1e15,
            -1e15,
            1e-4,
            9.999e-5,
            0.5,
            123456.78,
            65_536.0 + 1.0 / 4096.0,
            262529389807493.63,
        ];
        for _ in 0..200_000 {
            let scale = 10f64.powi(rng.random_range(-8..18));
            let v = (rng.random::<f64>() - 0.5) * scale;
            values.extend([v, v.round(), (v * 100.0).round() / 100.0]);
        }
        for bits in [f64::MIN_POSITIVE.to_bits(), f64::MAX.to_bits()] {
            values.push(f64::from_bits(bits));
        }
        let mut buf = Vec::new();
        for v in values {
            buf.clear();
            plain_float(&mut buf, v);
            assert_eq!(std::str::from_utf8(&buf).unwrap(), format!("{v}"), "{v:?}");
        }
    }

    #[test]
    fn dates_are_written_as_iso_days() {
        let mut cache = DateCache::default();
        let mut buf = Vec::new();
        for days in [0, 0, 20_000, -719_162, 2_932_896, 2_932_897, i32::MAX] {
            cache.write(&mut buf, days);
            buf.push(b' ');
        }
        let expected: Vec<String> = [0, 0, 20_000, -719_162, 2_932_896, 2_932_897, i32::MAX]
            .iter()
            .map(|&d| {
                days_to_date(d)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(String::from_utf8(buf).unwrap(), expected.join(" ") + " ");
    }
}
