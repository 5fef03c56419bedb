//! Pairing the begins and ends inside one batch, so a slice that opens and
//! closes within it can be written as one complete (`X`) line.

use alloc::vec::Vec;

use super::static_names::StaticNames;
use crate::Event;

/// `ends[i]` for an event that is not a begin or end with its partner in
/// the batch.
pub(super) const UNMATCHED: u32 = u32::MAX;
/// `ends[i]` for an end whose begin is in the batch: written with it.
pub(super) const MERGED: u32 = u32::MAX - 1;

/// Working memory for [`Encoder::batch`](super::Encoder::batch), kept between
/// batches so encoding allocates nothing in the steady state.
#[derive(Debug, Default)]
pub struct BatchScratch {
    /// For each event of the batch: the index of its end if it is a begin
    /// that ends in the batch, else [`UNMATCHED`] or [`MERGED`].
    pub(super) ends: Vec<u32>,
    /// Begins not ended yet while pairing: (index, lane number).
    open: Vec<(u32, u32)>,
    /// The indices of the events that are not part of a slice lying wholly
    /// inside the batch, in order.
    unpaired: Vec<u32>,
    /// Span names written before, kept across batches.
    pub(super) names: StaticNames,
}

impl BatchScratch {
    /// Pairs each begin with its end inside `events`, lane by lane.
    pub fn pair(&mut self, events: &[Event]) {
        self.ends.clear();
        self.ends.resize(events.len(), UNMATCHED);
        // A stack as a slice with its own top: its length and the top stay
        // in registers while the loop stores through the slices.
        if self.open.len() < events.len() {
            self.open.resize(events.len(), (0, 0));
        }
        self.unpaired.clear();
        let (ends, open) = (&mut self.ends[..], &mut self.open[..]);
        let unpaired = &mut self.unpaired;
        let mut top = 0;
        for (i, event) in events.iter().enumerate() {
            let lane = match event {
                Event::SpanBegin { lane, .. } => lane,
                Event::TaskBegin(b) => &b.lane,
                Event::End { lane, .. } => {
                    let lane = lane.get();
                    // The innermost open slice of the same lane; in a batch
                    // of one task's events that is the top of the stack.
                    let Some(at) = open[..top].iter().rposition(|&(_, l)| l == lane) else {
                        unpaired.push(i as u32);
                        continue;
                    };
                    let (begin, _) = open[at];
                    if at + 1 < top {
                        open.copy_within(at + 1..top, at);
                    }
                    top -= 1;
                    ends[begin as usize] = i as u32;
                    ends[i] = MERGED;
                    continue;
                }
                _ => {
                    unpaired.push(i as u32);
                    continue;
                }
            };
            open[top] = (i as u32, lane.get());
            top += 1;
        }
        // Begins still open join the others in stream order.
        if top > 0 {
            unpaired.extend(open[..top].iter().map(|&(i, _)| i));
            unpaired.sort_unstable();
        }
    }

    /// True if event `i` of the last paired batch begins or ends a slice that
    /// lies wholly inside the batch.
    pub fn is_paired(&self, i: usize) -> bool {
        self.ends.get(i).is_some_and(|&e| e != UNMATCHED)
    }

    /// The events of the last paired batch (`events`) that are not part of a
    /// slice lying wholly inside it: what changes the set of open slices.
    pub fn unpaired<'a, 'e: 'a>(
        &'a self,
        events: &'e [Event],
    ) -> impl Iterator<Item = &'e Event> + 'a {
        self.unpaired.iter().filter_map(|&i| events.get(i as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LaneId, Timestamp};
    use alloc::vec;

    fn lane(n: u32) -> LaneId {
        LaneId::new(n).unwrap()
    }

    fn begin(l: u32) -> Event {
        Event::SpanBegin {
            lane: lane(l),
            ts: Timestamp::from_nanos(1),
            name: "s".into(),
        }
    }

    fn end(l: u32) -> Event {
        Event::End {
            lane: lane(l),
            ts: Timestamp::from_nanos(2),
        }
    }

    #[test]
    fn nested_and_interleaved_lanes_pair_innermost_first() {
        // 0:B1 1:B2 2:B1 3:E2 4:E1 5:E1 6:E1 7:B2
        let events = vec![
            begin(1),
            begin(2),
            begin(1),
            end(2),
            end(1),
            end(1),
            end(1),
            begin(2),
        ];
        let mut s = BatchScratch::default();
        s.pair(&events);
        assert_eq!(
            s.ends,
            vec![5, 3, 4, MERGED, MERGED, MERGED, UNMATCHED, UNMATCHED]
        );
        let unpaired: Vec<_> = s.unpaired(&events).collect();
        assert_eq!(unpaired, vec![&events[6], &events[7]]);
        assert!(s.is_paired(0) && !s.is_paired(6) && !s.is_paired(99));
        // Open begins, unmatched ends and other events, in stream order.
        let lane_name = Event::LaneName {
            lane: lane(3),
            name: "x#0".into(),
        };
        let events = vec![
            end(1),
            begin(2),
            lane_name,
            begin(1),
            end(1),
            begin(1),
            end(3),
        ];
        s.pair(&events);
        let unpaired: Vec<_> = s.unpaired(&events).collect();
        let want: Vec<_> = [0, 1, 2, 5, 6].iter().map(|&i| &events[i]).collect();
        assert_eq!(unpaired, want);
        for i in 0..events.len() {
            assert_eq!(s.is_paired(i), i == 3 || i == 4, "{i}");
        }
    }
}
