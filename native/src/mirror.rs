//! The writer's copy of what is open in the stream, for late joiners (C6).

use std::sync::Arc;

use actrace_core::{Event, EventSink, LaneId};

/// Follows the event stream and remembers each lane's name and its open
/// slices, so a consumer attaching mid-run can be sent exactly what it needs
/// to draw the present correctly, at the exact position in the stream.
#[derive(Default)]
pub(crate) struct Mirror {
    lanes: Vec<Lane>,
}

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
            Event::FlowStart { .. } | Event::FlowEnd { .. } => {}
        }
    }

    /// Lane names, then every open slice in the order it opened.
    pub(crate) fn snapshot(&self, out: &mut impl EventSink) {
        for (i, lane) in self.lanes.iter().enumerate() {
            if let (Some(name), Some(id)) = (&lane.name, LaneId::new(i as u32 + 1)) {
                out.event(Event::LaneName {
                    lane: id,
                    name: name.clone(),
                });
            }
        }
        for lane in &self.lanes {
            for event in &lane.open {
                out.event(event.clone());
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
