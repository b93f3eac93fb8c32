//! Interning for the rollup cube: a row's key columns, or one dimension's
//! value, to a small integer code, and back.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use foldhash::fast::RandomState;

use crate::error::{EngineError, Result};

/// Key tuples (several columns of any type) to codes, through Arrow's row
/// format; a row equal to the one before it reuses its code without a
/// hash (key columns come in long runs: one app, one date).
pub(super) struct KeyInterner {
    converter: RowConverter,
    index: HashMap<Box<[u8]>, u32, RandomState>,
    rows: Rows,
}

impl KeyInterner {
    pub(super) fn new(fields: Vec<SortField>) -> Result<KeyInterner> {
        let converter = RowConverter::new(fields)?;
        let rows = converter.empty_rows(0, 0);
        Ok(KeyInterner {
            converter,
            index: HashMap::default(),
            rows,
        })
    }

    pub(super) fn codes(&mut self, columns: &[ArrayRef]) -> Result<Vec<u32>> {
        let rows = self.converter.convert_columns(columns)?;
        let mut out = Vec::with_capacity(rows.num_rows());
        let mut previous: Option<(usize, u32)> = None;
        for i in 0..rows.num_rows() {
            let row = rows.row(i);
            let bytes = row.data();
            let code = match previous {
                Some((p, code)) if rows.row(p).data() == bytes => code,
                _ => match self.index.get(bytes) {
                    Some(&code) => code,
                    None => {
                        let code = self.index.len() as u32;
                        self.index.insert(bytes.into(), code);
                        self.rows.push(row);
                        code
                    }
                },
            };
            previous = Some((i, code));
            out.push(code);
        }
        Ok(out)
    }

    pub(super) fn decode(&self, codes: &[u32]) -> Result<Vec<ArrayRef>> {
        Ok(self
            .converter
            .convert_rows(codes.iter().map(|&c| self.rows.row(c as usize)))?)
    }
}

/// One dimension's values to codes; code 0 is null. Strings are hashed as
/// their bytes, numbers as theirs, without Arrow's row encoding.
pub(super) struct ValueInterner {
    pub(super) ty: DataType,
    index: HashMap<Box<[u8]>, u32, RandomState>,
    /// The value of each code (index 0, null, unused).
    values: Vec<Box<[u8]>>,
}

impl ValueInterner {
    pub(super) fn new(ty: DataType) -> ValueInterner {
        ValueInterner {
            ty,
            index: HashMap::default(),
            values: vec![Box::default()],
        }
    }

    fn code(&mut self, bytes: &[u8]) -> u32 {
        if let Some(&code) = self.index.get(bytes) {
            return code;
        }
        let code = self.values.len() as u32;
        self.index.insert(bytes.into(), code);
        self.values.push(bytes.into());
        code
    }

    pub(super) fn codes(&mut self, array: &ArrayRef) -> Result<Vec<u32>> {
        let n = array.len();
        if array.null_count() == n {
            return Ok(vec![0; n]);
        }
        let mut out = Vec::with_capacity(n);
        match array.data_type() {
            DataType::Utf8View => {
                for v in array.as_string_view().iter() {
                    out.push(v.map_or(0, |v| self.code(v.as_bytes())));
                }
            }
            DataType::Utf8 => {
                for v in array.as_string::<i32>().iter() {
                    out.push(v.map_or(0, |v| self.code(v.as_bytes())));
                }
            }
            DataType::Int64 => {
                for v in array.as_primitive::<Int64Type>().iter() {
                    out.push(v.map_or(0, |v| self.code(&v.to_le_bytes())));
                }
            }
            other => {
                // Other types through their string form, decoded back by cast.
                let strings = cast(array, &DataType::Utf8)?;
                if strings.data_type() != &DataType::Utf8 {
                    return Err(EngineError::BadInput(format!(
                        "a rollup dimension of type {other} cannot be grouped"
                    )));
                }
                return self.codes(&strings);
            }
        }
        Ok(out)
    }

    pub(super) fn decode(&self, codes: &[u32]) -> Result<ArrayRef> {
        let value = |c: u32| (c != 0).then(|| &self.values[c as usize]);
        Ok(match self.ty {
            DataType::Int64 => Arc::new(Int64Array::from_iter(codes.iter().map(|&c| {
                value(c).map(|b| {
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(&b[..8]);
                    i64::from_le_bytes(raw)
                })
            }))),
            _ => {
                let strings: datafusion::arrow::array::StringArray = codes
                    .iter()
                    .map(|&c| value(c).map(|b| String::from_utf8_lossy(b).into_owned()))
                    .collect();
                cast(&strings, &self.ty)?
            }
        })
    }
}
