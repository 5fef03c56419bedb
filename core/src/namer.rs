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
    /// Each base name's place in `suffixes`.
    bases: BTreeMap<Arc<str>, u32>,
    suffixes: Vec<Suffixes>,
    lanes: u32,
    /// The base name acquired last and its number: programs mostly start
    /// many tasks of one name in a row, and a string comparison is cheaper
    /// than a search of the map.
    last: Option<(Arc<str>, u32)>,
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
    /// The base name's number, for [`UniqueNamer::release_at`].
    pub base: u32,
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
        let index = match &self.last {
            Some((name, index)) if **name == *base => *index,
            _ => self.look_up(base),
        };
        let entry = &mut self.suffixes[index as usize];
        let suffix = first_clear_bit(&entry.taken);
        let word = (suffix / 64) as usize;
        if word >= entry.taken.len() {
            entry.taken.resize(word + 1, 0);
        }
        entry.taken[word] |= 1 << (suffix % 64);
        let new_lane = suffix as usize >= entry.lanes.len();
        if new_lane {
            self.lanes += 1;
            let lane = LaneId::new(self.lanes).expect("lane numbers start at 1");
            entry
                .lanes
                .push((lane, Arc::from(format!("{base}#{suffix}"))));
        }
        let (lane, unique) = entry.lanes[suffix as usize].clone();
        UniqueName {
            base: index,
            suffix,
            unique,
            lane,
            new_lane,
        }
    }

    /// The number of `base`, given one if it is new; remembered as the last.
    fn look_up(&mut self, base: &str) -> u32 {
        let (name, index) = match self.bases.get_key_value(base) {
            Some((name, &index)) => (name.clone(), index),
            None => {
                let index = u32::try_from(self.suffixes.len()).expect("fewer than 2^32 base names");
                let name: Arc<str> = Arc::from(base);
                self.bases.insert(name.clone(), index);
                self.suffixes.push(Suffixes::default());
                (name, index)
            }
        };
        self.last = Some((name, index));
        index
    }

    /// Frees `NAME#suffix` for reuse. Releasing a suffix that is not held is
    /// ignored.
    pub fn release(&mut self, base: &str, suffix: u32) {
        if let Some(&index) = self.bases.get(base) {
            self.release_at(index, suffix);
        }
    }

    /// [`UniqueNamer::release`] by the base name's number in a
    /// [`UniqueName`]: no name lookup.
    pub fn release_at(&mut self, base: u32, suffix: u32) {
        let Some(entry) = self.suffixes.get_mut(base as usize) else {
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

    /// The unique name `NAME#suffix` handed out for a base name's number.
    pub fn unique_at(&self, base: u32, suffix: u32) -> Option<&Arc<str>> {
        let entry = self.suffixes.get(base as usize)?;
        entry.lanes.get(suffix as usize).map(|(_, unique)| unique)
    }

    /// The length in bits of the suffix bit vector of `base` (M2).
    pub fn bitvec_len(&self, base: &str) -> usize {
        self.bases
            .get(base)
            .map_or(0, |&i| self.suffixes[i as usize].taken.len() * 64)
    }

    /// Every base name with its bit-vector length (M2).
    pub fn bitvec_lens(&self) -> impl Iterator<Item = (&str, usize)> {
        self.bases
            .iter()
            .map(|(base, &i)| (&**base, self.suffixes[i as usize].taken.len() * 64))
    }

    /// Every lane handed out so far, with its unique name (for late joiners, C6).
    pub fn lanes(&self) -> impl Iterator<Item = (LaneId, &Arc<str>)> {
        self.bases.values().flat_map(|&i| {
            self.suffixes[i as usize]
                .lanes
                .iter()
                .map(|(lane, name)| (*lane, name))
        })
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
    fn r5_release_by_number_frees_that_base_only() {
        let mut n = UniqueNamer::new();
        let a0 = n.acquire("a");
        let b0 = n.acquire("b");
        let a1 = n.acquire("a");
        assert_eq!(a0.base, a1.base);
        assert_ne!(a0.base, b0.base);
        assert_eq!(n.unique_at(b0.base, 0).map(|u| &**u), Some("b#0"));
        n.release_at(a0.base, a0.suffix);
        assert_eq!(&*n.acquire("a").unique, "a#0");
        assert_eq!(&*n.acquire("b").unique, "b#1", "b#0 is still held");
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
