//! Aggregations with a distinct count run in one stage over rows already
//! partitioned by their group, instead of DataFusion's partial aggregation
//! per input partition followed by a final one.
//!
//! A partial COUNT(DISTINCT x) cannot shrink its input the way a partial
//! sum does: each partition's partial keeps a set of every x of every
//! group it saw, hands all of them on as lists, and the final aggregation
//! builds the same sets again. With the rows hash-partitioned on the group
//! keys first, every (group, x) pair is held once, by the one partition
//! that owns the group.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::Result;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::Partitioning;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::repartition::RepartitionExec;

/// The physical optimizer rule: `FinalPartitioned(Repartition(Partial(x)))`
/// with a distinct aggregate, plain group keys and no aggregate that needs
/// its input in order (a repartition does not keep order) becomes
/// `SinglePartitioned(Repartition(x))` on the same keys.
#[derive(Debug, Default)]
pub(super) struct DistinctInOneStage;

impl PhysicalOptimizerRule for DistinctInOneStage {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match one_stage(&node)? {
                Some(replaced) => Transformed::yes(replaced),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "distinct_in_one_stage"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The one-stage replacement of `node`, when it is the final half of a
/// two-stage aggregation with a distinct aggregate.
fn one_stage(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(last) = node.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    if *last.mode() != AggregateMode::FinalPartitioned {
        return Ok(None);
    }
    let Some(exchange) = last.input().downcast_ref::<RepartitionExec>() else {
        return Ok(None);
    };
    let &Partitioning::Hash(_, partitions) = exchange.partitioning() else {
        return Ok(None);
    };
    let Some(partial) = exchange.input().downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let group = partial.group_expr();
    if *partial.mode() != AggregateMode::Partial
        || !group.is_single()
        || group.expr().is_empty()
        || !partial.aggr_expr().iter().any(|a| a.is_distinct())
        || partial
            .aggr_expr()
            .iter()
            .any(|a| !a.order_bys().is_empty())
        || last.limit_options().is_some()
    {
        return Ok(None);
    }
    let keys = group.expr().iter().map(|(e, _)| Arc::clone(e)).collect();
    let rows = Arc::new(RepartitionExec::try_new(
        Arc::clone(partial.input()),
        Partitioning::Hash(keys, partitions),
    )?);
    let single = AggregateExec::try_new(
        AggregateMode::SinglePartitioned,
        group.clone(),
        partial.aggr_expr().to_vec(),
        partial.filter_expr().to_vec(),
        rows,
        partial.input_schema(),
    )?;
    Ok(Some(Arc::new(single)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::functions_aggregate::expr_fn::{count_distinct, first_value, sum};
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext, col};

    /// Two partitions of (g, x, y) where the same (g, x) pairs and
    /// groups appear in both, so a wrong merge shows in the counts.
    fn context(rule: bool) -> SessionContext {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, true),
            Field::new("x", DataType::Utf8, true),
            Field::new("y", DataType::Int64, true),
        ]));
        let batch = |g: Vec<Option<&str>>, x: Vec<Option<&str>>, y: Vec<i64>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(g)),
                    Arc::new(StringArray::from(x)),
                    Arc::new(Int64Array::from(y)),
                ],
            )
            .unwrap()
        };
        let first = batch(
            vec![Some("a"), Some("a"), Some("b"), None, Some("c")],
            vec![Some("1"), Some("2"), Some("1"), Some("1"), None],
            vec![1, 2, 3, 4, 5],
        );
        let second = batch(
            vec![Some("a"), Some("b"), Some("b"), None, Some("c")],
            vec![Some("2"), Some("2"), Some("3"), Some("2"), Some("9")],
            vec![10, 20, 30, 40, 50],
        );
        let table = MemTable::try_new(schema.clone(), vec![vec![first], vec![second]]).unwrap();
        let mut state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_default_features();
        if rule {
            state = state.with_physical_optimizer_rule(Arc::new(DistinctInOneStage));
        }
        let ctx = SessionContext::new_with_state(state.build());
        ctx.register_table("t", Arc::new(table)).unwrap();
        ctx
    }

    async fn run(rule: bool, aggregates: Vec<datafusion::logical_expr::Expr>) -> (String, String) {
        let ctx = context(rule);
        let df = ctx
            .table("t")
            .await
            .unwrap()
            .aggregate(vec![col("g")], aggregates)
            .unwrap()
            .sort(vec![col("g").sort(true, false)])
            .unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        let rows = pretty_format_batches(&df.collect().await.unwrap())
            .unwrap()
            .to_string();
        (shown, rows)
    }

    #[tokio::test]
    async fn distinct_counts_run_in_one_stage_with_the_same_answer() {
        let aggregates = || {
            vec![
                count_distinct(col("x")).alias("n"),
                sum(col("y")).alias("s"),
            ]
        };
        let (two_stage, expected) = run(false, aggregates()).await;
        let (one_stage, rows) = run(true, aggregates()).await;
        assert!(two_stage.contains("mode=Partial"), "{two_stage}");
        assert!(one_stage.contains("mode=SinglePartitioned"), "{one_stage}");
        assert!(!one_stage.contains("mode=Partial"), "{one_stage}");
        assert_eq!(rows, expected);
        // a: {1, 2}, b: {1, 2, 3}, c: {9} (nulls are not counted), null: {1, 2}
        assert!(rows.contains("| a | 2 | 13 |"), "{rows}");
        assert!(rows.contains("| b | 3 | 53 |"), "{rows}");
        assert!(rows.contains("| c | 1 | 55 |"), "{rows}");
        assert!(rows.contains("|   | 2 | 44 |"), "{rows}");
    }

    #[tokio::test]
    async fn other_aggregations_keep_two_stages() {
        let (plan, _) = run(true, vec![sum(col("y")).alias("s")]).await;
        assert!(plan.contains("mode=Partial"), "{plan}");
        // An aggregate that needs ordered input is left alone too.
        let ordered = first_value(col("y"), vec![col("y").sort(true, false)]);
        let (plan, _) = run(
            true,
            vec![count_distinct(col("x")).alias("n"), ordered.alias("f")],
        )
        .await;
        assert!(!plan.contains("SinglePartitioned"), "{plan}");
    }
}
