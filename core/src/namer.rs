//! Unique concurrent task names `NAME#N` (R5) and their lanes (C1).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::LaneId;

/// Hands out the smallest free suffix per base name and remembers which lane
/// each `NAME#N` was drawn on, so a reused name reuses its lane.
#[derive(Debug, Default)]
pub struct UniqueNamer {
    bases: BTreeMap<Arc<str>, Suffixes>,
    lanes: u32,
}

#[derive(Debug, Default)]
struct Suffixes {
    /// Bit `n` is set while a live task holds `NAME#n`. Trailing free words
    /// are trimmed so its length shows current concurrency (M2).
    taken: Vec<u64>,
    /// Lane and unique name for each suffix ever handed out.
    lanes: Vec<(LaneId, Arc<str>)>,
}

/// A unique name handed out by [`UniqueNamer::acquire`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniqueName {
    /// The suffix `N`.
    pub suffix: u32,
    /// `NAME#N`.
    pub unique: Arc<str>,
    /// The lane drawn for `NAME#N`.
    pub lane: LaneId,
    /// True when `NAME#N` is used for the first time: its lane needs a name.
    pub new_lane: bool,
}

impl UniqueNamer {
    /// An empty namer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the smallest suffix of `base` that no live task holds. The caller
    /// has checked that `base` contains no `#` (R4).
    pub fn acquire(&mut self, base: &str) -> UniqueName {
        let total_lanes = &mut self.lanes;
        let entry = match self.bases.get_mut(base) {
            Some(entry) => entry,
            None => self.bases.entry(Arc::from(base)).or_default(),
        };
        let suffix = first_clear_bit(&entry.taken);
        let word = (suffix / 64) as usize;
        if word >= entry.taken.len() {
            entry.taken.resize(word + 1, 0);
        }
        entry.taken[word] |= 1 << (suffix % 64);
        let new_lane = suffix as usize >= entry.lanes.len();
        if new_lane {
            *total_lanes += 1;
            let lane = LaneId::new(*total_lanes).expect("lane numbers start at 1");
            entry
                .lanes
                .push((lane, Arc::from(format!("{base}#{suffix}"))));
        }
        let (lane, unique) = entry.lanes[suffix as usize].clone();
        UniqueName {
            suffix,
            unique,
            lane,
            new_lane,
        }
    }

    /// Frees `NAME#suffix` for reuse. Releasing a suffix that is not held is
    /// ignored.
    pub fn release(&mut self, base: &str, suffix: u32) {
        let Some(entry) = self.bases.get_mut(base) else {
            return;
        };
        let word = (suffix / 64) as usize;
        if let Some(w) = entry.taken.get_mut(word) {
            *w &= !(1 << (suffix % 64));
        }
        while entry.taken.last() == Some(&0) {
            entry.taken.pop();
        }
    }

    /// The length in bits of the suffix bit vector of `base` (M2).
    pub fn bitvec_len(&self, base: &str) -> usize {
        self.bases.get(base).map_or(0, |e| e.taken.len() * 64)
    }

    /// Every base name with its bit-vector length (M2).
    pub fn bitvec_lens(&self) -> impl Iterator<Item = (&str, usize)> {
        self.bases
            .iter()
            .map(|(base, e)| (&**base, e.taken.len() * 64))
    }

    /// Every lane handed out so far, with its unique name (for late joiners, C6).
    pub fn lanes(&self) -> impl Iterator<Item = (LaneId, &Arc<str>)> {
        self.bases
            .values()
            .flat_map(|e| e.lanes.iter().map(|(lane, name)| (*lane, name)))
    }

    /// How many lanes were handed out.
    pub fn lane_count(&self) -> u32 {
        self.lanes
    }
}

fn first_clear_bit(words: &[u64]) -> u32 {
    for (i, w) in words.iter().enumerate() {
        if *w != u64::MAX {
            return i as u32 * 64 + w.trailing_ones();
        }
    }
    words.len() as u32 * 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r5_suffixes_are_smallest_free_and_reused() {
        let mut n = UniqueNamer::new();
        let a0 = n.acquire("a");
        let a1 = n.acquire("a");
        let a2 = n.acquire("a");
        assert_eq!(
            (&*a0.unique, &*a1.unique, &*a2.unique),
            ("a#0", "a#1", "a#2")
        );
        n.release("a", 1);
        let again = n.acquire("a");
        assert_eq!(&*again.unique, "a#1");
        assert_eq!(again.lane, a1.lane, "C1: a reused name reuses its lane");
        assert!(!again.new_lane);
        assert_eq!(&*n.acquire("a").unique, "a#3");
    }

    #[test]
    fn r5_different_bases_never_collide() {
        let mut n = UniqueNamer::new();
        let a = n.acquire("a");
        let b = n.acquire("b");
        assert_eq!((&*a.unique, &*b.unique), ("a#0", "b#0"));
        assert_ne!(a.lane, b.lane);
    }

    #[test]
    fn r5_many_suffixes_cross_word_boundaries() {
        let mut n = UniqueNamer::new();
        for i in 0..130 {
            assert_eq!(n.acquire("x").suffix, i);
        }
        assert_eq!(n.bitvec_len("x"), 192);
        n.release("x", 64);
        assert_eq!(n.acquire("x").suffix, 64);
        for i in (0..131).rev() {
            n.release("x", i);
        }
        assert_eq!(
            n.bitvec_len("x"),
            0,
            "M2: the vector shrinks when tasks end"
        );
        assert_eq!(n.lane_count(), 130);
    }

    #[test]
    fn c1_lane_numbers_are_never_zero() {
        let mut n = UniqueNamer::new();
        assert_eq!(n.acquire("a").lane.get(), 1);
    }
}
