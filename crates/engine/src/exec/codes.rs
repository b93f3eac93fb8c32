//! Column values to small integer codes and back: 0 is null, values count
//! from 1 in the order they are first seen. Used where rows are compared
//! by value many times over few distinct values: DISTINCT
//! (`exec/distinct`) and COUNT(DISTINCT) (`exec/count_distinct`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, RwLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, StringBuilder,
    StringViewArray, StringViewBuilder,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::memory_pool::MemoryReservation;
use foldhash::fast::RandomState;

use super::view_cache::ViewCache;

/// The column types the codes hold (the engine's column types as read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    StringView,
    String,
    Int64,
    Float64,
    Date32,
}

impl Kind {
    pub(crate) fn of(ty: &DataType) -> Option<Kind> {
        Some(match ty {
            DataType::Utf8View => Kind::StringView,
            DataType::Utf8 => Kind::String,
            DataType::Int64 => Kind::Int64,
            DataType::Float64 => Kind::Float64,
            DataType::Date32 => Kind::Date32,
            _ => return None,
        })
    }
}

/// Strings to codes.
#[derive(Default)]
struct StringCodes {
    index: HashMap<Box<str>, u32, RandomState>,
    bytes: usize,
}

impl StringCodes {
    fn code(&mut self, s: &str) -> DfResult<u32> {
        if let Some(&code) = self.index.get(s) {
            return Ok(code);
        }
        let code = next_code(self.index.len())?;
        self.index.insert(s.into(), code);
        self.bytes += s.len();
        Ok(code)
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn heap_bytes(&self) -> usize {
        self.index.capacity() * (size_of::<(Box<str>, u32)>() + 1) + self.bytes
    }

    /// Every string with its code.
    fn into_entries(self) -> impl Iterator<Item = (Box<str>, u32)> {
        self.index.into_iter()
    }
}

/// One column's values to codes.
enum Codes {
    Strings(StringCodes),
    /// Numbers by their bits (floats as `to_bits`: DataFusion's grouping
    /// also tells NaNs and zeros apart by bits).
    Numbers(HashMap<u64, u32, RandomState>),
}

/// A row's value in one column, as the codes see it.
enum Value<'a> {
    Null,
    Text(&'a str),
    Bits(u64),
}

/// A code not found in a read-only lookup (never a value's code:
/// [`next_code`] stops before it).
const MISSING: u32 = u32::MAX;

fn next_code(len: usize) -> DfResult<u32> {
    u32::try_from(len + 1)
        .ok()
        .filter(|&c| c != MISSING)
        .ok_or_else(|| {
            DataFusionError::ResourcesExhausted("DISTINCT: over 4 billion values".into())
        })
}

fn wrong_type(kind: Kind, array: &ArrayRef) -> DataFusionError {
    DataFusionError::Internal(format!(
        "DISTINCT: a {} column in the codes of {kind:?}",
        array.data_type()
    ))
}

/// Calls `f` with each row's value of `array`, a column of `kind`.
fn each_value(
    kind: Kind,
    array: &ArrayRef,
    mut f: impl FnMut(usize, Value<'_>) -> DfResult<()>,
) -> DfResult<()> {
    let bad = || wrong_type(kind, array);
    match kind {
        Kind::StringView => {
            for (i, v) in array
                .as_string_view_opt()
                .ok_or_else(bad)?
                .iter()
                .enumerate()
            {
                f(i, v.map_or(Value::Null, Value::Text))?;
            }
        }
        Kind::String => {
            for (i, v) in array
                .as_string_opt::<i32>()
                .ok_or_else(bad)?
                .iter()
                .enumerate()
            {
                f(i, v.map_or(Value::Null, Value::Text))?;
            }
        }
        Kind::Int64 => {
            let values = array.as_primitive_opt::<Int64Type>().ok_or_else(bad)?;
            for (i, v) in values.iter().enumerate() {
                f(i, v.map_or(Value::Null, |v| Value::Bits(v as u64)))?;
            }
        }
        Kind::Float64 => {
            let values = array.as_primitive_opt::<Float64Type>().ok_or_else(bad)?;
            for (i, v) in values.iter().enumerate() {
                f(i, v.map_or(Value::Null, |v| Value::Bits(v.to_bits())))?;
            }
        }
        Kind::Date32 => {
            let values = array.as_primitive_opt::<Date32Type>().ok_or_else(bad)?;
            for (i, v) in values.iter().enumerate() {
                f(
                    i,
                    v.map_or(Value::Null, |v| Value::Bits(u64::from(v as u32))),
                )?;
            }
        }
    }
    Ok(())
}

impl Codes {
    fn new(kind: Kind) -> Codes {
        match kind {
            Kind::StringView | Kind::String => Codes::Strings(StringCodes::default()),
            Kind::Int64 | Kind::Float64 | Kind::Date32 => Codes::Numbers(HashMap::default()),
        }
    }

    /// A value's code if it has one (0 for null).
    fn get(&self, value: &Value<'_>) -> Option<u32> {
        match (self, value) {
            (_, Value::Null) => Some(0),
            (Codes::Strings(strings), Value::Text(s)) => strings.get(s),
            (Codes::Numbers(index), Value::Bits(bits)) => index.get(bits).copied(),
            _ => None,
        }
    }

    /// A value's code, given one if it has none.
    fn code(&mut self, value: &Value<'_>) -> DfResult<u32> {
        match (self, value) {
            (_, Value::Null) => Ok(0),
            (Codes::Strings(strings), Value::Text(s)) => strings.code(s),
            (Codes::Numbers(index), Value::Bits(bits)) => {
                let len = index.len();
                Ok(match index.entry(*bits) {
                    Entry::Occupied(e) => *e.get(),
                    Entry::Vacant(e) => *e.insert(next_code(len)?),
                })
            }
            _ => Err(DataFusionError::Internal(
                "DISTINCT: a value of another type than its column's".into(),
            )),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Codes::Strings(strings) => strings.heap_bytes(),
            Codes::Numbers(index) => index.capacity() * (size_of::<(u64, u32)>() + 1),
        }
    }

    fn into_values(self, kind: Kind) -> Values {
        match self {
            Codes::Strings(strings) => {
                let mut values = vec![Box::<str>::default(); strings.len() + 1];
                for (value, code) in strings.into_entries() {
                    values[code as usize] = value;
                }
                Values::Strings(kind, values)
            }
            Codes::Numbers(index) => {
                let mut values = vec![0; index.len() + 1];
                for (bits, code) in index {
                    values[code as usize] = bits;
                }
                Values::Numbers(kind, values)
            }
        }
    }
}

/// Every column's codes, shared by the partitions: one table per column
/// (a table per partition took twice the cache, and a merge translating
/// codes), read-locked for a batch's lookups and write-locked only to add
/// the values the batch brought first. What they hold is reserved from
/// the memory pool.
pub(crate) struct ColumnCodes {
    columns: Vec<(Kind, RwLock<Codes>)>,
    /// None: accounted by the caller (COUNT(DISTINCT)'s accumulators).
    reservation: Option<Mutex<MemoryReservation>>,
}

fn poisoned<T>(_: T) -> DataFusionError {
    DataFusionError::Internal("a partition panicked holding the value codes".into())
}

impl ColumnCodes {
    pub(crate) fn new(kinds: &[Kind], reservation: Option<MemoryReservation>) -> ColumnCodes {
        ColumnCodes {
            columns: kinds
                .iter()
                .map(|&k| (k, RwLock::new(Codes::new(k))))
                .collect(),
            reservation: reservation.map(Mutex::new),
        }
    }

    /// What the codes hold, in bytes.
    pub(crate) fn heap_bytes(&self) -> DfResult<usize> {
        let mut bytes = 0;
        for (_, codes) in &self.columns {
            bytes += codes.read().map_err(poisoned)?.heap_bytes();
        }
        Ok(bytes)
    }

    pub(crate) fn columns(&self) -> usize {
        self.columns.len()
    }

    /// A caller's memory of the codes it looked up, for [`ColumnCodes::codes_of`].
    pub(crate) fn cache(&self) -> CodesCache {
        CodesCache {
            columns: self.columns.iter().map(|_| ViewCache::default()).collect(),
            misses: Vec::new(),
        }
    }

    /// A cache that remembers nothing, for a caller that cannot keep one.
    pub(crate) fn no_cache(&self) -> CodesCache {
        CodesCache {
            columns: self.columns.iter().map(|_| ViewCache::off()).collect(),
            misses: Vec::new(),
        }
    }

    /// The codes of each of `arrays` (one per column), into `out` (one
    /// vector per column), asking `cache` first (one cache per caller,
    /// from [`ColumnCodes::cache`]); false when the pool refused the
    /// values added.
    pub(crate) fn codes_of(
        &self,
        arrays: &[ArrayRef],
        out: &mut [Vec<u32>],
        cache: &mut CodesCache,
    ) -> DfResult<bool> {
        if cache.columns.len() != self.columns.len() {
            *cache = self.cache();
        }
        let CodesCache { columns, misses } = cache;
        let mut grew = false;
        let each = self.columns.iter().zip(out).zip(arrays).zip(columns);
        for ((((kind, codes), out), array), remembered) in each {
            grew |= match (kind, array.as_string_view_opt()) {
                // A cache that stopped remembering would only add a pass.
                (Kind::StringView, Some(views)) if remembered.remembers() => {
                    view_codes(codes, views, out, remembered, misses)?
                }
                _ => column_codes(*kind, codes, array, out)?,
            };
        }
        let Some(reservation) = self.reservation.as_ref().filter(|_| grew) else {
            return Ok(true);
        };
        let bytes = self.heap_bytes()?;
        let reservation = reservation.lock().map_err(poisoned)?;
        Ok(reservation.try_resize(bytes).is_ok())
    }

    /// Each column's values by code (keeping the reservation with them).
    pub(crate) fn into_values(self) -> DfResult<(Vec<Values>, Option<MemoryReservation>)> {
        let values = self
            .columns
            .into_iter()
            .map(|(kind, codes)| Ok(codes.into_inner().map_err(poisoned)?.into_values(kind)))
            .collect::<DfResult<_>>()?;
        let reservation = match self.reservation {
            Some(r) => Some(r.into_inner().map_err(poisoned)?),
            None => None,
        };
        Ok((values, reservation))
    }
}

/// A caller's remembered codes: one [`ViewCache`] per column.
pub(crate) struct CodesCache {
    columns: Vec<ViewCache>,
    /// The rows of a batch the caches did not answer, with the key their
    /// code goes under once found (`None`: not remembered).
    misses: Vec<(usize, Option<u64>)>,
}

/// One column's codes, each value looked up in the shared table (read
/// locked), then the values it lacks added (write locked); true when it
/// grew.
fn column_codes(
    kind: Kind,
    codes: &RwLock<Codes>,
    array: &ArrayRef,
    out: &mut Vec<u32>,
) -> DfResult<bool> {
    out.clear();
    out.reserve(array.len());
    let mut missing = 0usize;
    {
        let codes = codes.read().map_err(poisoned)?;
        each_value(kind, array, |_, v| {
            let code = codes.get(&v).unwrap_or(MISSING);
            missing += usize::from(code == MISSING);
            out.push(code);
            Ok(())
        })?;
    }
    if missing == 0 {
        return Ok(false);
    }
    let mut codes = codes.write().map_err(poisoned)?;
    each_value(kind, array, |i, v| {
        if out[i] == MISSING {
            out[i] = codes.code(&v)?;
        }
        Ok(())
    })?;
    Ok(true)
}

/// A string-view column's codes: [`column_codes`] for the rows whose
/// codes `remembered` does not hold, which it holds from then on.
fn view_codes(
    codes: &RwLock<Codes>,
    array: &StringViewArray,
    out: &mut Vec<u32>,
    remembered: &mut ViewCache,
    misses: &mut Vec<(usize, Option<u64>)>,
) -> DfResult<bool> {
    remembered.adopt(array);
    out.clear();
    out.reserve(array.len());
    misses.clear();
    let nulls = array.nulls();
    for (i, &view) in array.views().iter().enumerate() {
        if nulls.is_some_and(|n| n.is_null(i)) {
            out.push(0);
            continue;
        }
        let key = remembered.key(view);
        match key.and_then(|k| remembered.get(k)) {
            Some(code) => out.push(code),
            None => {
                out.push(MISSING);
                misses.push((i, key));
            }
        }
    }
    if misses.is_empty() {
        return Ok(false);
    }
    let mut missing = 0usize;
    {
        let codes = codes.read().map_err(poisoned)?;
        for &(i, _) in misses.iter() {
            let code = codes.get(&Value::Text(array.value(i))).unwrap_or(MISSING);
            missing += usize::from(code == MISSING);
            out[i] = code;
        }
    }
    if missing > 0 {
        let mut codes = codes.write().map_err(poisoned)?;
        for &(i, _) in misses.iter() {
            if out[i] == MISSING {
                out[i] = codes.code(&Value::Text(array.value(i)))?;
            }
        }
    }
    for &(i, key) in misses.iter() {
        if let Some(key) = key {
            remembered.insert(key, out[i]);
        }
    }
    Ok(missing > 0)
}

/// A column's values by code, to decode the rows.
pub(crate) enum Values {
    Strings(Kind, Vec<Box<str>>),
    Numbers(Kind, Vec<u64>),
}

impl Values {
    pub(crate) fn array(&self, codes: &[u32]) -> ArrayRef {
        let at = |c: u32| (c != 0).then_some(c as usize);
        match self {
            Values::Strings(Kind::StringView, values) => {
                let mut b = StringViewBuilder::with_capacity(codes.len());
                for &c in codes {
                    b.append_option(at(c).map(|i| &values[i]));
                }
                Arc::new(b.finish())
            }
            Values::Strings(_, values) => {
                let mut b = StringBuilder::with_capacity(codes.len(), codes.len() * 16);
                for &c in codes {
                    b.append_option(at(c).map(|i| &values[i]));
                }
                Arc::new(b.finish())
            }
            Values::Numbers(Kind::Float64, values) => Arc::new(Float64Array::from_iter(
                codes
                    .iter()
                    .map(|&c| at(c).map(|i| f64::from_bits(values[i]))),
            )),
            Values::Numbers(Kind::Date32, values) => Arc::new(Date32Array::from_iter(
                codes
                    .iter()
                    .map(|&c| at(c).map(|i| values[i] as u32 as i32)),
            )),
            Values::Numbers(_, values) => Arc::new(Int64Array::from_iter(
                codes.iter().map(|&c| at(c).map(|i| values[i] as i64)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_their_codes_and_come_back() {
        let mut strings = StringCodes::default();
        let codes: Vec<u32> = ["", "x", "a long string", "x", "", "a long string", "y"]
            .iter()
            .map(|s| strings.code(s).unwrap())
            .collect();
        assert_eq!(codes, [1, 2, 3, 2, 1, 3, 4]);
        assert_eq!((strings.get("y"), strings.get("z")), (Some(4), None));
        let mut back: Vec<(Box<str>, u32)> = strings.into_entries().collect();
        back.sort_by_key(|(_, c)| *c);
        let texts: Vec<&str> = back.iter().map(|(s, _)| &**s).collect();
        assert_eq!(texts, ["", "x", "a long string", "y"]);
    }
}
