//! COUNT(DISTINCT x) through codes: the values of x interned once per
//! query in a table every accumulator shares ([`ColumnCodes`]), and each
//! group keeping a set of 4-byte codes instead of a set of strings (one
//! per group and partition before the merge). The partial aggregation's
//! state is the list of a group's codes, which the final one reads back
//! with the same table: both stages run in this process, from the one
//! function object made for the query. Sets spill as those lists like any
//! aggregation state; the table is not spilled, and each accumulator
//! counts it in its size, so a memory limit sees it (more than once).

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt32Type};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use foldhash::fast::RandomState;

use super::codes::{CodesCache, ColumnCodes, Kind};

type CodeSet = HashSet<u32, RandomState>;

/// A COUNT(DISTINCT) over values of `ty` through codes, or `None` for a
/// type the codes do not hold.
pub(super) fn count_distinct_codes(ty: &DataType) -> Option<AggregateUDF> {
    let kind = Kind::of(ty)?;
    Some(AggregateUDF::from(CountDistinctCodes {
        codes: Arc::new(ColumnCodes::new(&[kind], None)),
        signature: Signature::exact(vec![ty.clone()], Volatility::Immutable),
    }))
}

/// The function, holding the query's codes.
struct CountDistinctCodes {
    codes: Arc<ColumnCodes>,
    signature: Signature,
}

impl fmt::Debug for CountDistinctCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountDistinctCodes").finish_non_exhaustive()
    }
}

/// One function object is one query's codes: equal only to itself.
impl PartialEq for CountDistinctCodes {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.codes, &other.codes)
    }
}

impl Eq for CountDistinctCodes {}

impl Hash for CountDistinctCodes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.codes).hash(state);
    }
}

impl AggregateUDFImpl for CountDistinctCodes {
    fn name(&self) -> &str {
        "count_distinct_codes"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int64)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn default_value(&self, _: &DataType) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new_list(
            format_state_name(args.name, "codes"),
            Field::new_list_field(DataType::UInt32, false),
            true,
        ))])
    }

    fn accumulator(&self, _: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(Groups::new(self.codes.clone()))))
    }

    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups::new(self.codes.clone())))
    }
}

/// Each group's set of codes.
struct Groups {
    codes: Arc<ColumnCodes>,
    sets: Vec<CodeSet>,
    scratch: [Vec<u32>; 1],
    cache: CodesCache,
}

fn one_argument(values: &[ArrayRef]) -> DfResult<&[ArrayRef]> {
    values
        .get(..1)
        .ok_or_else(|| DataFusionError::Internal("count_distinct_codes takes one argument".into()))
}

/// Whether a row's code counts: not null, and kept by the aggregate's
/// filter if it has one.
fn is_counted(code: u32, filter: Option<&BooleanArray>, row: usize) -> bool {
    code != 0 && filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}

/// A state column: per group, the list of its codes.
fn codes_list(lengths: &[usize], codes: Vec<u32>) -> ListArray {
    ListArray::new(
        Arc::new(Field::new_list_field(DataType::UInt32, false)),
        OffsetBuffer::from_lengths(lengths.iter().copied()),
        Arc::new(UInt32Array::from(codes)),
        None,
    )
}

impl Groups {
    fn new(codes: Arc<ColumnCodes>) -> Groups {
        Groups {
            cache: codes.cache(),
            codes,
            sets: Vec::new(),
            scratch: [Vec::new()],
        }
    }

    fn sets_for(&mut self, total_num_groups: usize) {
        if self.sets.len() < total_num_groups {
            self.sets.resize_with(total_num_groups, CodeSet::default);
        }
    }

    fn state_list(sets: Vec<CodeSet>) -> ListArray {
        let lengths: Vec<usize> = sets.iter().map(|s| s.len()).collect();
        codes_list(&lengths, sets.into_iter().flatten().collect())
    }

    fn set_bytes(&self) -> usize {
        self.sets.capacity() * size_of::<CodeSet>()
            + self
                .sets
                .iter()
                .map(|s| s.capacity() * (size_of::<u32>() + 1))
                .sum::<usize>()
    }
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.sets_for(total_num_groups);
        self.codes
            .codes_of(one_argument(values)?, &mut self.scratch, &mut self.cache)?;
        let codes = &self.scratch[0];
        for (row, (&group, &code)) in group_indices.iter().zip(codes).enumerate() {
            if is_counted(code, opt_filter, row) {
                self.sets[group].insert(code);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> DfResult<ArrayRef> {
        let sets = emit_to.take_needed(&mut self.sets);
        Ok(Arc::new(Int64Array::from_iter_values(
            sets.iter().map(|s| s.len() as i64),
        )))
    }

    fn state(&mut self, emit_to: EmitTo) -> DfResult<Vec<ArrayRef>> {
        let sets = emit_to.take_needed(&mut self.sets);
        Ok(vec![Arc::new(Groups::state_list(sets))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> DfResult<()> {
        self.sets_for(total_num_groups);
        let list = values
            .first()
            .and_then(|v| v.as_list_opt::<i32>())
            .ok_or_else(|| {
                DataFusionError::Internal("count_distinct_codes: a state that is not a list".into())
            })?;
        for (row, &group) in group_indices.iter().enumerate() {
            if list.is_null(row) {
                continue;
            }
            let codes = list.value(row);
            let codes = codes.as_primitive_opt::<UInt32Type>().ok_or_else(|| {
                DataFusionError::Internal("count_distinct_codes: a state that is not codes".into())
            })?;
            self.sets[group].extend(codes.values().iter().copied());
        }
        Ok(())
    }

    /// Each row as its own group's state, for a partial aggregation that
    /// passes rows on: a list of its code (empty for null or filtered).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> DfResult<Vec<ArrayRef>> {
        let mut scratch = [Vec::new()];
        // State conversion has no place to keep a cache between batches.
        let mut cache = self.codes.no_cache();
        self.codes
            .codes_of(one_argument(values)?, &mut scratch, &mut cache)?;
        let mut lengths = Vec::with_capacity(scratch[0].len());
        let mut codes = Vec::new();
        for (row, &code) in scratch[0].iter().enumerate() {
            let counted = is_counted(code, opt_filter, row);
            lengths.push(usize::from(counted));
            if counted {
                codes.push(code);
            }
        }
        Ok(vec![Arc::new(codes_list(&lengths, codes))])
    }

    fn size(&self) -> usize {
        self.set_bytes() + self.codes.heap_bytes().unwrap_or(0)
    }
}

/// COUNT(DISTINCT) without GROUP BY: one group.
struct OneGroup(Groups);

impl fmt::Debug for OneGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneGroup").finish_non_exhaustive()
    }
}

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> DfResult<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.0.update_batch(values, &vec![0; rows], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> DfResult<()> {
        let rows = states.first().map_or(0, |v| v.len());
        GroupsAccumulator::merge_batch(&mut self.0, states, &vec![0; rows], 1)
    }

    fn state(&mut self) -> DfResult<Vec<ScalarValue>> {
        self.0.sets_for(1);
        let list = Groups::state_list(vec![self.0.sets[0].clone()]);
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn evaluate(&mut self) -> DfResult<ScalarValue> {
        Ok(ScalarValue::Int64(Some(
            self.0.sets.first().map_or(0, |s| s.len() as i64),
        )))
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.0.size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::Int64Type;

    fn strings(values: &[Option<&str>]) -> Vec<ArrayRef> {
        vec![Arc::new(StringArray::from(values.to_vec()))]
    }

    #[test]
    fn groups_count_their_distinct_values_through_partial_states() {
        let codes = Arc::new(ColumnCodes::new(&[Kind::String], None));
        // Two partitions' partial stages, then the final one.
        let mut a = Groups::new(codes.clone());
        a.update_batch(
            &strings(&[Some("x"), Some("y"), Some("x"), None, Some("z")]),
            &[0, 0, 0, 1, 1],
            None,
            2,
        )
        .unwrap();
        let mut b = Groups::new(codes.clone());
        let filter = BooleanArray::from(vec![Some(true), Some(false), None, Some(true)]);
        b.update_batch(
            &strings(&[Some("y"), Some("w"), Some("v"), Some("z")]),
            &[0, 0, 1, 1],
            Some(&filter),
            2,
        )
        .unwrap();
        let mut last = Groups::new(codes.clone());
        last.merge_batch(&a.state(EmitTo::All).unwrap(), &[0, 1], 2)
            .unwrap();
        last.merge_batch(&b.state(EmitTo::First(1)).unwrap(), &[0], 2)
            .unwrap();
        last.merge_batch(&b.state(EmitTo::All).unwrap(), &[1], 2)
            .unwrap();
        // Rows passed on as states: "q" counts in group 1, the null not.
        let rows = last
            .convert_to_state(&strings(&[Some("q"), None]), None)
            .unwrap();
        last.merge_batch(&rows, &[1, 0], 2).unwrap();
        let counts = last.evaluate(EmitTo::All).unwrap();
        // Group 0: x, y (w filtered out); group 1: z, q (null, filtered v out).
        assert_eq!(counts.as_primitive::<Int64Type>().values(), &[2, 2]);
    }

    #[test]
    fn one_group_states_merge() {
        let codes = Arc::new(ColumnCodes::new(&[Kind::String], None));
        let mut a = OneGroup(Groups::new(codes.clone()));
        a.update_batch(&strings(&[Some("x"), Some("y"), Some("x")]))
            .unwrap();
        let mut b = OneGroup(Groups::new(codes));
        b.update_batch(&strings(&[Some("z"), None])).unwrap();
        let state = match a.state().unwrap().remove(0) {
            ScalarValue::List(list) => list as ArrayRef,
            other => panic!("{other:?}"),
        };
        b.merge_batch(&[state]).unwrap();
        assert_eq!(b.evaluate().unwrap(), ScalarValue::Int64(Some(3)));
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Int64(Some(2)));
    }
}
