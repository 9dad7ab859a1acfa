//! A map kept as a vector of entries behind a hash table of positions,
//! which remembers the entry last asked for.
//!
//! Flow-log records come in runs: a connection's request and response
//! records are usually adjacent, and an interface's records are grouped
//! within a capture window. A record that goes where the previous one
//! went finds its entry by one key comparison, with no hashing; every
//! other record pays one lookup, as in a plain hash map. (A reference
//! into a `HashMap` cannot be kept from one record to the next; a
//! position can.)

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};

use crate::flowlog::record::{EniId, Ip};

/// A key hashed by a few multiplications of its words (folded: the high
/// and low halves of a 128-bit product xored, as foldhash does) instead
/// of through `Hasher`'s byte stream: a cell key is five words, and the
/// generic path cost ~40 instructions a lookup, once per record. The seed
/// is random per map, so crafted logs cannot aim at one bucket.
pub(super) trait SlotKey: Eq + Copy {
    fn words(&self) -> [u64; 3];
}

impl SlotKey for Ip {
    #[inline(always)]
    fn words(&self) -> [u64; 3] {
        [self.0 as u64, (self.0 >> 64) as u64, 0]
    }
}

impl SlotKey for EniId {
    #[inline(always)]
    fn words(&self) -> [u64; 3] {
        [self.0 as u64, (self.0 >> 64) as u64, 0]
    }
}

impl SlotKey for u64 {
    fn words(&self) -> [u64; 3] {
        [*self, 0, 0]
    }
}

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = a as u128 * b as u128;
    p as u64 ^ (p >> 64) as u64
}

#[inline(always)]
fn hash<K: SlotKey>(seed: u64, key: &K) -> u64 {
    const K1: u64 = 0x243f_6a88_85a3_08d3;
    const K2: u64 = 0x1319_8a2e_0370_7344;
    let [a, b, c] = key.words();
    let h = fold_mul(a ^ seed, b ^ K1);
    fold_mul(h ^ c, K2 ^ seed)
}

#[derive(Debug, Clone)]
pub(super) struct Slots<K, V> {
    list: Vec<(K, V)>,
    index: HashTable<u32>,
    seed: u64,
    /// Positions of the entry last asked for and of the one before.
    last: usize,
    prev: usize,
}

impl<K, V> Default for Slots<K, V> {
    fn default() -> Self {
        Slots {
            list: Vec::new(),
            index: HashTable::new(),
            seed: DefaultHashBuilder::default().hash_one(0u64) | 1,
            last: 0,
            prev: 0,
        }
    }
}

impl<K: SlotKey, V> Slots<K, V> {
    /// Room for `n` entries before the first growth.
    pub(super) fn with_capacity(n: usize) -> Self {
        Slots {
            list: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            ..Slots::default()
        }
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, (K, V)> {
        self.list.iter()
    }

    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    #[cfg(test)]
    pub(super) fn contains(&self, key: &K) -> bool {
        let list = &self.list;
        self.index
            .find(hash(self.seed, key), |&i| list[i as usize].0 == *key)
            .is_some()
    }

    /// The value of `key` (a new key gets `new()`), which becomes the
    /// entry last asked for. Callers try `last` first.
    pub(super) fn get_or_insert_with(&mut self, key: K, new: impl FnOnce() -> V) -> &mut V {
        let list = &self.list;
        let seed = self.seed;
        let entry = self.index.entry(
            hash(seed, &key),
            |&i| list[i as usize].0 == key,
            |&i| hash(seed, &list[i as usize].0),
        );
        let i = match entry {
            Entry::Occupied(e) => *e.get() as usize,
            Entry::Vacant(e) => {
                let i = self.list.len();
                e.insert(u32::try_from(i).expect("fewer than 2^32 entries"));
                self.list.push((key, new()));
                i
            }
        };
        self.prev = self.last;
        self.last = i;
        &mut self.list[i].1
    }

    /// The value of `key`, if one of the two entries last asked for has
    /// that key.
    #[inline]
    pub(super) fn last(&mut self, key: &K) -> Option<&mut V> {
        let i = self.last_index(key)?;
        Some(&mut self.list[i].1)
    }

    /// `last`, then `get_or_insert_with`.
    #[inline(always)]
    pub(super) fn get(&mut self, key: K, new: impl FnOnce() -> V) -> &mut V {
        match self.last_index(&key) {
            Some(i) => &mut self.list[i].1,
            None => self.get_or_insert_with(key, new),
        }
    }

    /// The position of `key`, if one of the two entries last asked for
    /// has it (which becomes the last).
    #[inline(always)]
    fn last_index(&mut self, key: &K) -> Option<usize> {
        if self.list.get(self.last).is_some_and(|e| e.0 == *key) {
            return Some(self.last);
        }
        if self.list.get(self.prev).is_some_and(|e| e.0 == *key) {
            std::mem::swap(&mut self.last, &mut self.prev);
            return Some(self.last);
        }
        None
    }
}

impl<K: SlotKey, V> Slots<K, V> {
    /// Keeps the entries for which `keep` is true (it may take what it
    /// needs out of the others first), in place: the list is compacted
    /// and the index rebuilt, so that dropping entries never holds two
    /// copies of the table (a rebuilt copy was the run's peak memory).
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let before = self.list.len();
        self.list.retain_mut(|(k, v)| keep(k, v));
        if self.list.len() == before {
            return;
        }
        // Memory freed only if the list gives it back.
        if self.list.len() < self.list.capacity() / 2 {
            self.list.shrink_to(self.list.len() * 5 / 4);
        }
        self.index.clear();
        let (list, seed) = (&self.list, self.seed);
        for i in 0..list.len() {
            self.index
                .insert_unique(hash(seed, &list[i].0), i as u32, |&j| {
                    hash(seed, &list[j as usize].0)
                });
        }
        (self.last, self.prev) = (0, 0);
    }
}

impl<K, V> Slots<K, V> {
    /// The entries, without the index.
    pub(super) fn into_list(self) -> Vec<(K, V)> {
        self.list
    }
}

impl<K, V> IntoIterator for Slots<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a Slots<K, V> {
    type Item = &'a (K, V);
    type IntoIter = std::slice::Iter<'a, (K, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map_whatever_the_order() {
        let mut s: Slots<u64, u64> = Slots::default();
        let mut m = std::collections::HashMap::new();
        let mut x: u64 = 7;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Runs of one key, and keys from a small set.
            let key = (x >> 60) % 13;
            *s.get_or_insert_with(key, || 0) += 1;
            *m.entry(key).or_insert(0u64) += 1;
            assert!(s.contains(&key));
            assert_eq!(s.last(&key).copied(), m.get(&key).copied());
        }
        assert_eq!(s.len(), m.len());
        for (k, v) in &s {
            assert_eq!(m[k], *v);
        }
        assert!(!s.contains(&99));
        assert!(s.last(&99).is_none());
    }

    #[test]
    fn retain_keeps_a_working_map() {
        let mut s: Slots<u64, u64> = Slots::default();
        for k in 0..10_000u64 {
            *s.get_or_insert_with(k, || 0) += k;
        }
        s.get_or_insert_with(9_999, || 0);
        let mut dropped = 0;
        s.retain(|k, v| {
            dropped += (k % 3 == 0) as u64 * *v;
            k % 3 != 0
        });
        assert_eq!(dropped, (0..10_000u64).filter(|k| k % 3 == 0).sum::<u64>());
        assert_eq!(s.len(), (0..10_000).filter(|k| k % 3 != 0).count());
        for k in 0..10_000u64 {
            assert_eq!(s.contains(&k), k % 3 != 0, "{k}");
            assert!(s.last(&k).is_none_or(|v| *v == k));
        }
        // New keys go in, old ones are found.
        *s.get_or_insert_with(3, || 7) += 1;
        assert_eq!(*s.get_or_insert_with(4, || 0), 4);
        assert_eq!(s.last(&3).copied(), Some(8));
        assert_eq!(s.len(), (0..10_000).filter(|k| k % 3 != 0).count() + 1);
    }
}
