//! Results computed outside DataFusion's plan (DISTINCT through codes,
//! ORDER BY + LIMIT through a bound): each partition of the input folded
//! on its own task, and DataFusion's plan of the same rows to fall back
//! on when the memory pool refuses what they hold.

use std::future::Future;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::DataFrame;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tokio::task::JoinSet;

/// Batches computed without DataFusion's plan; `None` when the memory
/// pool refused (nothing has been written yet).
pub(super) type Computed = DfResult<Option<BoxStream<'static, DfResult<RecordBatch>>>>;

/// The batches `computed` gives, or, if it gives `None`, `fallback`'s.
/// Nothing runs until the stream is first polled; dropping the stream
/// drops (and so aborts) the computation.
pub(super) fn or_fallback(
    schema: SchemaRef,
    computed: impl Future<Output = Computed> + Send + 'static,
    fallback: DataFrame,
    what: &'static str,
) -> SendableRecordBatchStream {
    let rows = stream::once(async move {
        match computed.await? {
            Some(rows) => Ok::<_, DataFusionError>(rows),
            None => {
                tracing::debug!("{what} passed the memory limit; running DataFusion's plan");
                let stream: BoxStream<'static, DfResult<RecordBatch>> =
                    fallback.execute_stream().await?.boxed();
                Ok(stream)
            }
        }
    })
    .try_flatten();
    Box::pin(RecordBatchStreamAdapter::new(schema, rows))
}

/// What a partition's task folds its batches into.
pub(super) trait PartitionState: Send + 'static {
    type Done: Send + 'static;
    /// Takes in a batch; false when the memory pool refused.
    fn add(&mut self, batch: RecordBatch) -> DfResult<bool>;
    /// The partition's result; `None` when the pool refused.
    fn finish(self) -> DfResult<Option<Self::Done>>;
}

/// Folds each partition of `input` into the state `state` makes (given a
/// reservation named `name[partition]` in the input's pool) on its own
/// task. Every partition's result, or `None` as soon as one was refused
/// (dropping the tasks aborts the others, as does dropping this future).
pub(super) async fn per_partition<S: PartitionState>(
    input: DataFrame,
    name: &str,
    state: impl Fn(MemoryReservation) -> S,
) -> DfResult<Option<Vec<S::Done>>> {
    let pool = input.task_ctx().memory_pool().clone();
    let mut tasks = JoinSet::new();
    for (p, mut partition) in input
        .execute_stream_partitioned()
        .await?
        .into_iter()
        .enumerate()
    {
        let mut folded = state(MemoryConsumer::new(format!("{name}[{p}]")).register(&pool));
        tasks.spawn(async move {
            while let Some(batch) = partition.next().await {
                if !folded.add(batch?)? {
                    return Ok(None);
                }
            }
            folded.finish()
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Some(result) = joined.map_err(|e| DataFusionError::External(Box::new(e)))?? else {
            return Ok(None);
        };
        done.push(result);
    }
    Ok(Some(done))
}
