//! Running sums of a cube's measures per group, with SQL's null rules:
//! nulls are skipped, a group whose values are all null sums to null, and
//! integers wrap like the stored Int64 they came from.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};

use crate::error::{EngineError, Result};

/// A measure column of one batch.
pub(super) enum Measure<'a> {
    AllNull,
    Int(&'a Int64Array),
    Float(&'a Float64Array),
}

impl<'a> Measure<'a> {
    pub(super) fn of(array: &'a ArrayRef, int: bool) -> Result<Measure<'a>> {
        if array.null_count() == array.len() {
            return Ok(Measure::AllNull);
        }
        Ok(match (int, array.data_type()) {
            (true, DataType::Int64) => Measure::Int(array.as_primitive::<Int64Type>()),
            (false, DataType::Float64) => Measure::Float(array.as_primitive::<Float64Type>()),
            (_, other) => {
                return Err(EngineError::BadInput(format!(
                    "a rollup measure is {other}, not a 64-bit number"
                )));
            }
        })
    }
}

/// Sums of one measure per group, and whether any value was not null.
#[derive(Clone)]
pub(super) struct MeasureSums {
    ints: Vec<i64>,
    floats: Vec<f64>,
    int: bool,
    seen: Vec<bool>,
}

impl MeasureSums {
    pub(super) fn new(int: bool) -> MeasureSums {
        MeasureSums {
            ints: Vec::new(),
            floats: Vec::new(),
            int,
            seen: Vec::new(),
        }
    }

    pub(super) fn grow(&mut self) {
        if self.int {
            self.ints.push(0);
        } else {
            self.floats.push(0.0);
        }
        self.seen.push(false);
    }

    pub(super) fn add(&mut self, groups: &[u32], measure: &Measure) {
        match measure {
            Measure::AllNull => {}
            Measure::Int(values) => add_values(
                &mut self.ints,
                &mut self.seen,
                groups,
                values,
                i64::wrapping_add,
            ),
            Measure::Float(values) => {
                add_values(&mut self.floats, &mut self.seen, groups, values, |a, b| {
                    a + b
                })
            }
        }
    }

    pub(super) fn array(&self) -> ArrayRef {
        if self.int {
            Arc::new(Int64Array::from_iter(
                self.ints
                    .iter()
                    .zip(&self.seen)
                    .map(|(v, s)| s.then_some(*v)),
            ))
        } else {
            Arc::new(Float64Array::from_iter(
                self.floats
                    .iter()
                    .zip(&self.seen)
                    .map(|(v, s)| s.then_some(*v)),
            ))
        }
    }
}

fn add_values<T, A>(
    sums: &mut [T::Native],
    seen: &mut [bool],
    groups: &[u32],
    values: &datafusion::arrow::array::PrimitiveArray<T>,
    plus: A,
) where
    T: datafusion::arrow::datatypes::ArrowPrimitiveType,
    A: Fn(T::Native, T::Native) -> T::Native,
{
    let raw = values.values();
    match values.nulls() {
        None => {
            for (&g, &v) in groups.iter().zip(raw.iter()) {
                let g = g as usize;
                sums[g] = plus(sums[g], v);
                seen[g] = true;
            }
        }
        Some(nulls) => {
            for (row, (&g, &v)) in groups.iter().zip(raw.iter()).enumerate() {
                if nulls.is_valid(row) {
                    let g = g as usize;
                    sums[g] = plus(sums[g], v);
                    seen[g] = true;
                }
            }
        }
    }
}
