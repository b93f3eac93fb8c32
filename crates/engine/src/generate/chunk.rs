//! One generated chunk of rows, column by column: string columns drawn
//! from a fixed set of values are kept as codes into it (the seed path
//! writes them to Parquet as dictionary indices without making a string
//! per row); [`Chunk::into_batch`] makes an ordinary record batch.

use super::*;

/// The rows of one chunk.
pub(super) struct Chunk {
    pub(super) rows: usize,
    /// One per stored column, in the dataset's order.
    pub(super) columns: Vec<Values>,
}

/// The values of one column of a chunk.
pub(super) enum Values {
    /// A string column as codes: row `i` is `text_of(codes[i])` where
    /// `nulls` says it is valid (null rows hold code 0).
    Coded {
        codes: Vec<u32>,
        nulls: Option<NullBuffer>,
    },
    /// Any other column.
    Array(ArrayRef),
}

impl Chunk {
    /// The chunk as a record batch of the dataset's schema (strings as
    /// `Utf8`).
    pub(super) fn into_batch(
        self,
        universe: &Universe,
        dataset: &Dataset,
        columns: &[(Gen, &Column)],
    ) -> Result<RecordBatch> {
        let arrays = self
            .columns
            .into_iter()
            .zip(columns)
            .map(|(values, (kind, column))| match values {
                Values::Coded { codes, nulls } => {
                    coded_array(universe, *kind, column, &codes, nulls.as_ref())
                }
                Values::Array(array) => array,
            })
            .collect();
        Ok(RecordBatch::try_new(dataset_schema(dataset), arrays)?)
    }
}

/// A coded column as an Arrow string array.
pub(super) fn coded_array(
    universe: &Universe,
    kind: Gen,
    column: &Column,
    codes: &[u32],
    nulls: Option<&NullBuffer>,
) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(codes.len(), codes.len() * 12);
    for (i, &code) in codes.iter().enumerate() {
        if nulls.is_none_or(|n| n.is_valid(i)) {
            b.append_value(text_of(universe, kind, column, code));
        } else {
            b.append_null();
        }
    }
    Arc::new(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_codes_name_the_drawn_segments() {
        let drawn: Vec<&str> = SEGMENTS.iter().map(|s| s.0).collect();
        assert_eq!(SEGMENT_NAMES[2..], drawn[..]);
    }

    #[test]
    fn repeated_texts_get_their_first_code() {
        let codes = first_of_each(["x", "y", "x", "z", "y"].into_iter());
        assert_eq!(codes, [0, 1, 0, 3, 1]);
    }

    #[test]
    fn a_guided_draw_finds_what_a_full_search_finds() {
        let zipf: Vec<f64> = (0..5_000)
            .scan(0.0, |acc, i| {
                *acc += 1.0 / (f64::from(i) + 1.0).powf(0.9);
                Some(*acc)
            })
            .collect();
        for cumulative in [zipf, vec![1.0, 1.0, 3.0, 3.0, 10.0], vec![2.0]] {
            let cdf = Cdf::new(cumulative.clone());
            let total = *cumulative.last().unwrap();
            let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
            for _ in 0..100_000 {
                let x = b.random::<f64>() * total;
                let full = cumulative
                    .partition_point(|&c| c < x)
                    .min(cumulative.len() - 1);
                assert_eq!(cdf.sample(&mut a), full, "x = {x}");
            }
        }
    }
}
