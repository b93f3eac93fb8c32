//! SELECT DISTINCT through codes: each column's values interned to small
//! integer codes (a string is hashed once per row against its column's
//! distinct values, which are few next to the rows and stay in cache), a
//! row packed from its codes into one integer, and the rows kept in a set
//! of those integers. DataFusion's aggregation instead hashes every row's
//! strings twice (repartition, then table) and compares them with the
//! stored groups' bytes: cache misses on every true match.
//!
//! Every partition of the input runs on its own task, with the codes
//! shared ([`ColumnCodes`]) and a set of its own; the sets are merged as
//! integers, and rows come out in batches decoded from the final set.
//!
//! Used for a DISTINCT without ORDER BY over at most [`MAX_COLUMNS`]
//! columns of the engine's types. Under a memory limit the sets reserve
//! what they hold from the engine's pool; when the pool says no, nothing
//! has been written yet, and the plan runs again as DataFusion's
//! aggregation, which can spill.

mod rows;

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::prelude::DataFrame;
use futures::stream::{self, StreamExt};

use super::codes::{ColumnCodes, Kind};
use super::outside::{Computed, or_fallback, per_partition};
use rows::{DistinctRows, Key};

/// The most columns a DISTINCT runs through codes: four 32-bit codes fill
/// a `u128`.
pub(super) const MAX_COLUMNS: usize = 4;

/// Whether rows of `schema` can be made distinct through codes.
pub(super) fn supports(schema: &Schema) -> bool {
    let fields = schema.fields();
    (1..=MAX_COLUMNS).contains(&fields.len())
        && fields.iter().all(|f| Kind::of(f.data_type()).is_some())
}

/// The distinct rows of `input` (skipping `offset`, at most `limit`), or,
/// if their codes and sets pass the memory pool's limit, `fallback`'s rows
/// (the same DISTINCT planned by DataFusion).
pub(super) fn execute(
    input: DataFrame,
    fallback: DataFrame,
    offset: usize,
    limit: Option<usize>,
) -> SendableRecordBatchStream {
    let schema: SchemaRef = Arc::new(input.schema().as_arrow().clone());
    let rows = {
        let schema = schema.clone();
        async move {
            if schema.fields().len() <= 2 {
                distinct_batches::<u64>(input, schema, offset, limit).await
            } else {
                distinct_batches::<u128>(input, schema, offset, limit).await
            }
        }
    };
    or_fallback(schema, rows, fallback, "DISTINCT through codes")
}

/// Runs every partition of `input` into its own [`DistinctRows`], merges
/// them and returns the rows as a stream of batches; `None` when the
/// memory pool refused what they hold.
async fn distinct_batches<K: Key>(
    input: DataFrame,
    schema: SchemaRef,
    offset: usize,
    limit: Option<usize>,
) -> Computed {
    let pool = input.task_ctx().memory_pool().clone();
    let kinds: Vec<Kind> = schema
        .fields()
        .iter()
        .map(|f| Kind::of(f.data_type()))
        .collect::<Option<_>>()
        .ok_or_else(|| DataFusionError::Internal("DISTINCT through codes: a column type".into()))?;
    let codes = Arc::new(ColumnCodes::new(
        &kinds,
        Some(MemoryConsumer::new("DistinctCodes").register(&pool)),
    ));
    let made = |reservation| DistinctRows::<K>::new(codes.clone(), reservation);
    let Some(sets) = per_partition(input, "DistinctRows", made).await? else {
        return Ok(None);
    };
    drop(codes);
    let merged = sets.into_iter().reduce(DistinctRows::merge);
    let Some(rows) = merged else {
        return Ok(Some(stream::empty().boxed()));
    };
    Ok(Some(
        stream::iter(rows.into_batches(schema, offset, limit)?).boxed(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field};
    use futures::TryStreamExt;

    /// A frame of `n` rows of one integer column (values mod 5,000).
    fn numbers(ctx: &datafusion::prelude::SessionContext, first: i64, n: i64) -> DataFrame {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)])),
            vec![Arc::new(Int64Array::from_iter_values(
                (first..first + n).map(|i| i % 5_000),
            ))],
        )
        .unwrap();
        ctx.read_batch(batch).unwrap()
    }

    async fn count(stream: SendableRecordBatchStream) -> usize {
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        batches.iter().map(|b| b.num_rows()).sum()
    }

    #[tokio::test]
    async fn the_fallback_runs_only_when_the_pool_refuses() {
        use datafusion::execution::memory_pool::GreedyMemoryPool;
        use datafusion::execution::runtime_env::RuntimeEnvBuilder;
        use datafusion::prelude::{SessionConfig, SessionContext};
        let session = |pool: Option<usize>| {
            let mut runtime = RuntimeEnvBuilder::new();
            if let Some(bytes) = pool {
                runtime = runtime.with_memory_pool(Arc::new(GreedyMemoryPool::new(bytes)));
            }
            SessionContext::new_with_config_rt(SessionConfig::new(), runtime.build_arc().unwrap())
        };
        // 20,000 rows, 5,000 distinct; the fallback here is a marker frame
        // of 3 rows (in the engine it is the same DISTINCT, aggregated).
        let free = session(None);
        let rows = execute(numbers(&free, 0, 20_000), numbers(&free, 0, 3), 0, None);
        assert_eq!(count(rows).await, 5_000);
        let tight = session(Some(16 * 1024));
        let rows = execute(numbers(&tight, 0, 20_000), numbers(&tight, 0, 3), 0, None);
        assert_eq!(count(rows).await, 3);
    }
}
