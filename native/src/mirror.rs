//! The writer's copy of what is open in the stream, for late joiners (C6).

use std::sync::Arc;

use actrace_core::{Event, EventSink, LaneId};

/// Follows the event stream and remembers each lane's name and its open
/// slices, so a consumer attaching mid-run can be sent exactly what it needs
/// to draw the present correctly, at the exact position in the stream.
#[derive(Default)]
pub(crate) struct Mirror {
    lanes: Vec<Lane>,
    /// Flow starts whose end is not in the stream yet: the parent's `s` and
    /// the child's `f` reach the writer in different batches, and a consumer
    /// attaching between them needs the `s` to read the `f`.
    flows: Vec<Event>,
}

/// Open flows kept at most (a child's `f` follows its `s` within one pull).
const MAX_OPEN_FLOWS: usize = 4096;

#[derive(Default)]
struct Lane {
    name: Option<Arc<str>>,
    open: Vec<Event>,
}

impl Mirror {
    pub(crate) fn apply(&mut self, event: &Event) {
        let lane = self.lane(event.lane());
        match event {
            Event::LaneName { name, .. } => lane.name = Some(name.clone()),
            Event::TaskBegin(_) | Event::SpanBegin { .. } => lane.open.push(event.clone()),
            Event::End { .. } => {
                lane.open.pop();
            }
            Event::FlowStart { .. } => {
                if self.flows.len() >= MAX_OPEN_FLOWS {
                    self.flows.remove(0);
                }
                self.flows.push(event.clone());
            }
            Event::FlowEnd { flow, .. } => {
                let flow = *flow;
                self.flows
                    .retain(|e| !matches!(e, Event::FlowStart { flow: f, .. } if *f == flow));
            }
        }
    }

    /// Lane names, then every open slice in the order it opened, with the
    /// starts of flows still open in time order on their lane.
    pub(crate) fn snapshot(&self, out: &mut impl EventSink) {
        for (i, lane) in self.lanes.iter().enumerate() {
            if let (Some(name), Some(id)) = (&lane.name, LaneId::new(i as u32 + 1)) {
                out.event(Event::LaneName {
                    lane: id,
                    name: name.clone(),
                });
            }
        }
        for (i, lane) in self.lanes.iter().enumerate() {
            let mut flows = self
                .flows
                .iter()
                .filter(|e| e.lane().get() as usize == i + 1)
                .peekable();
            for event in &lane.open {
                while let Some(f) = flows.next_if(|f| f.ts() < event.ts()) {
                    out.event(f.clone());
                }
                out.event(event.clone());
            }
            for f in flows {
                out.event(f.clone());
            }
        }
    }

    fn lane(&mut self, id: LaneId) -> &mut Lane {
        let i = id.get() as usize - 1;
        if self.lanes.len() <= i {
            self.lanes.resize_with(i + 1, Lane::default);
        }
        &mut self.lanes[i]
    }
}
