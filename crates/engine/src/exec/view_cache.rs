//! One caller's memory of the codes of string views it has looked up, by
//! where their bytes are rather than what they are.
//!
//! The Parquet reader decodes a dictionary-encoded column into views of
//! the dictionary's own buffer: every row holding the same value points at
//! the same bytes, for every batch of that column chunk. So the code of a
//! long string (over 12 bytes, the ones a view points to) is remembered by
//! (buffer, offset, length), a small table of integers that stays in cache
//! while the file is read, and the shared table of strings ([`super::codes`],
//! one hash of the bytes and a comparison with bytes far away in memory)
//! is asked once per value per file instead of once per row: DISTINCT over
//! tenant ids, 10 M rows in files of 131k rows and ~40k values each.
//!
//! The buffers whose addresses are remembered are held (an address names
//! the same bytes while its buffer lives), at most [`MAX_BUFFERS`] and
//! [`MAX_HELD_BYTES`]: a new one past either, or an array sharing none of
//! them (the next file), forgets everything. Columns
//! whose values do not repeat within a buffer (plain-encoded pages of
//! distinct strings) would pay a remembered entry per row for nothing: a
//! column whose first 64k entries got hits for under a quarter of them
//! stops being remembered.

use std::collections::HashMap;

use datafusion::arrow::array::StringViewArray;
use datafusion::arrow::buffer::Buffer;
use foldhash::fast::RandomState;

/// The most buffers held at once.
const MAX_BUFFERS: usize = 8;
/// The most bytes of buffers held at once (a dictionary of ~50k tenant ids
/// takes ~2 MB).
const MAX_HELD_BYTES: usize = 8 << 20;
/// How many codes are added before the cache judges whether it pays.
const JUDGED_AFTER: usize = 1 << 16;
/// The most codes remembered (~2.5 MB of table); past it, lookups go on
/// but nothing more is added until the buffers change.
const MAX_ENTRIES: usize = 1 << 17;

/// A string-view column's remembered codes (see the module's notes).
#[derive(Default)]
pub(crate) struct ViewCache {
    held: Vec<Buffer>,
    held_bytes: usize,
    /// Per data buffer of the current array: its place in `held`, or
    /// `None` when its views are not remembered.
    slots: Vec<Option<u8>>,
    codes: HashMap<u64, u32, RandomState>,
    hits: usize,
    /// Hits and codes added before the last [`ViewCache::forget`]s.
    total_hits: usize,
    total_entries: usize,
    /// False once the column showed no repeats (see the module's notes).
    stopped: bool,
}

impl ViewCache {
    /// A cache that remembers nothing (for a caller with nowhere to keep
    /// one between batches).
    pub(crate) fn off() -> ViewCache {
        ViewCache {
            stopped: true,
            ..ViewCache::default()
        }
    }

    /// Whether it still remembers codes (not [`ViewCache::off`], nor
    /// stopped for a column without repeats).
    pub(crate) fn remembers(&self) -> bool {
        !self.stopped
    }

    /// Prepares for the views of `array`: its buffers are found among the
    /// held ones or held from now on. An array sharing no buffer with the
    /// held ones starts afresh (the next file's dictionary: the last one's
    /// codes are not asked for again).
    pub(crate) fn adopt(&mut self, array: &StringViewArray) {
        self.slots.clear();
        let buffers = array.data_buffers();
        if self.stopped {
            return;
        }
        let is_held = |b: &Buffer| self.held.iter().any(|h| h.ptr_eq(b));
        let new: Vec<&Buffer> = buffers.iter().filter(|b| !is_held(b)).collect();
        let new_bytes: usize = new.iter().map(|b| b.len()).sum();
        if !self.held.is_empty()
            && (new.len() == buffers.len()
                || self.held.len() + new.len() > MAX_BUFFERS
                || self.held_bytes + new_bytes > MAX_HELD_BYTES)
        {
            self.forget();
            if self.stopped {
                return;
            }
            return self.adopt(array);
        }
        if new.len() > MAX_BUFFERS || new_bytes > MAX_HELD_BYTES {
            // Too large to hold at all: this array's views go unremembered.
            return;
        }
        for b in new {
            self.held.push(b.clone());
            self.held_bytes += b.len();
        }
        self.place(buffers);
    }

    fn place(&mut self, buffers: &[Buffer]) {
        self.slots.extend(buffers.iter().map(|b| {
            self.held
                .iter()
                .position(|h| h.ptr_eq(b))
                .and_then(|i| u8::try_from(i).ok())
        }));
    }

    /// Drops every held buffer and remembered code; stops remembering once
    /// [`JUDGED_AFTER`] codes were added and under a quarter of them were
    /// asked for again (dictionaries get ~1 to 3 hits per code, a small
    /// file's included; plain pages of distinct strings get none).
    fn forget(&mut self) {
        self.total_hits += self.hits;
        self.total_entries += self.codes.len();
        if self.total_entries >= JUDGED_AFTER && self.total_hits < self.total_entries / 4 {
            self.stopped = true;
        }
        self.held.clear();
        self.held_bytes = 0;
        self.codes.clear();
        self.hits = 0;
    }

    /// Where a view's bytes are, as a key (`None` for a string inlined in
    /// its view, or in a buffer not remembered).
    pub(crate) fn key(&self, view: u128) -> Option<u64> {
        let len = view as u32;
        if len <= 12 || len >= 1 << 24 {
            return None;
        }
        let buffer = (view >> 64) as u32 as usize;
        let offset = (view >> 96) as u32;
        let slot = (*self.slots.get(buffer)?)?;
        Some(u64::from(slot) << 56 | u64::from(len) << 32 | u64::from(offset))
    }

    pub(crate) fn get(&mut self, key: u64) -> Option<u32> {
        let code = self.codes.get(&key).copied();
        self.hits += usize::from(code.is_some());
        code
    }

    pub(crate) fn insert(&mut self, key: u64, code: u32) {
        if self.codes.len() < MAX_ENTRIES {
            self.codes.insert(key, code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, StringViewBuilder};

    fn long(i: usize) -> String {
        format!("a string longer than twelve bytes {i}")
    }

    /// An array whose views point into one shared buffer (as a dictionary
    /// column chunk's do), `rows` rows cycling over `values` values.
    fn dictionary_like(values: usize, rows: usize) -> StringViewArray {
        let dictionary = StringViewArray::from_iter_values((0..values).map(long));
        let indices = datafusion::arrow::array::UInt32Array::from_iter_values(
            (0..rows).map(|r| (r % values) as u32),
        );
        let taken = datafusion::arrow::compute::take(&dictionary, &indices, None).unwrap();
        taken
            .as_any()
            .downcast_ref::<StringViewArray>()
            .unwrap()
            .clone()
    }

    #[test]
    fn the_same_bytes_are_the_same_key_across_arrays_sharing_a_buffer() {
        let a = dictionary_like(10, 30);
        let b = a.slice(5, 20);
        let mut cache = ViewCache::default();
        cache.adopt(&a);
        let keys_a: Vec<u64> = a.views().iter().map(|&v| cache.key(v).unwrap()).collect();
        assert_eq!(keys_a[0], keys_a[10]);
        assert_ne!(keys_a[0], keys_a[1]);
        for (i, key) in keys_a.iter().take(10).enumerate() {
            cache.insert(*key, i as u32 + 1);
        }
        cache.adopt(&b);
        let codes: Vec<u32> = b
            .views()
            .iter()
            .map(|&v| cache.key(v).and_then(|k| cache.get(k)).unwrap())
            .collect();
        let expected: Vec<u32> = (5..25).map(|r| (r % 10) as u32 + 1).collect();
        assert_eq!(codes, expected);
        assert_eq!(cache.held.len(), 1);
    }

    #[test]
    fn short_strings_have_no_key_and_equal_bytes_elsewhere_are_not_the_same() {
        let mut cache = ViewCache::default();
        let short = StringViewArray::from_iter_values(["abc", "twelve bytes"]);
        cache.adopt(&short);
        assert!(short.views().iter().all(|&v| cache.key(v).is_none()));
        // Two buffers holding the same strings, in one array.
        let a = dictionary_like(3, 6);
        let b = dictionary_like(3, 6);
        let both = datafusion::arrow::compute::concat(&[&a, &b]).unwrap();
        let both = both.as_any().downcast_ref::<StringViewArray>().unwrap();
        assert_eq!(both.data_buffers().len(), 2);
        cache.adopt(both);
        let keys: Vec<u64> = both
            .views()
            .iter()
            .map(|&v| cache.key(v).unwrap())
            .collect();
        assert_eq!(keys[0], keys[3]);
        assert_ne!(keys[0], keys[6]);
    }

    #[test]
    fn the_next_dictionary_starts_afresh() {
        let mut cache = ViewCache::default();
        for _file in 0..3 {
            let array = dictionary_like(4, 40);
            cache.adopt(&array);
            for (i, &v) in array.views().iter().enumerate() {
                let key = cache.key(v).unwrap();
                if cache.get(key).is_none() {
                    cache.insert(key, i as u32);
                }
            }
            assert_eq!((cache.held.len(), cache.codes.len()), (1, 4));
        }
        assert!(!cache.stopped);
    }

    #[test]
    fn a_column_without_repeats_stops_being_remembered() {
        let mut cache = ViewCache::default();
        let distinct = |from: usize| {
            let mut b = StringViewBuilder::new();
            for i in from..from + 4096 {
                b.append_value(long(i));
            }
            b.finish()
        };
        let rounds = JUDGED_AFTER / 4096;
        for round in 0..rounds {
            let array = distinct(round * 4096);
            cache.adopt(&array);
            assert!(!cache.stopped, "judged after {round} buffers");
            for (i, &v) in array.views().iter().enumerate() {
                let key = cache.key(v).unwrap();
                assert_eq!(cache.get(key), None);
                cache.insert(key, i as u32);
            }
        }
        // The next buffer makes the cache forget: its 64k codes had no hits.
        let next = distinct(rounds * 4096);
        cache.adopt(&next);
        assert!(cache.stopped);
        assert!(cache.key(next.views()[0]).is_none());
        assert!(cache.held.is_empty());
    }
}
