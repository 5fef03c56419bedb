//! The stack of open spans inside one task (R7–R10).

use alloc::vec::Vec;

use crate::{Event, EventSink, IdGen, LaneId, Name, NodeDesc, NodeId, Timestamp, Violation};

/// One open span.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The span's name.
    pub name: Name,
    /// The task's span-id generator; the span's id is its `generation`-th id,
    /// worked out only when asked for (R12), which keeps it off the hot path.
    ids: IdGen,
    /// When it started.
    pub start: Timestamp,
    /// How many callbacks were registered when it started (R14): only those
    /// are told of its end.
    pub callbacks_seen: u32,
    generation: u32,
}

impl Frame {
    /// The span's id (R12).
    pub fn id(&self) -> NodeId {
        self.ids.nth_id(u64::from(self.generation))
    }

    fn desc(&self) -> NodeDesc {
        NodeDesc {
            id: self.id(),
            name: self.name.clone(),
        }
    }
}

/// Where in a task's span stack a context points: the task itself (depth 0)
/// or one span. Stays valid, but not live, after that node ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    depth: u32,
    generation: u32,
}

impl Default for Position {
    fn default() -> Self {
        Position::TASK
    }
}

impl Position {
    /// The task itself, outside any span.
    pub const TASK: Position = Position {
        depth: 0,
        generation: 0,
    };

    /// How many spans deep (0 for the task itself).
    pub fn depth(self) -> usize {
        self.depth as usize
    }
}

/// The result of [`SpanStack::begin`].
#[derive(Debug)]
pub struct Begun {
    /// The new span, or `None` if nothing was recorded (R8).
    pub span: Option<Position>,
    /// Violations found and repaired on the way.
    pub violations: Vec<Violation>,
}

/// The open spans of one task, strictly nested (R9, R10).
///
/// Every method keeps the lane balanced: a violation is repaired (open spans
/// are closed in order) before it is returned, so what the sink receives stays
/// well-formed whatever the caller does (R11).
#[derive(Debug)]
pub struct SpanStack {
    lane: LaneId,
    task: NodeDesc,
    frames: Vec<Frame>,
    next_generation: u32,
    ids: IdGen,
    ended: bool,
}

impl SpanStack {
    /// The (empty) stack of a task that was just started.
    pub fn new(lane: LaneId, task: NodeDesc, ids: IdGen) -> Self {
        SpanStack {
            lane,
            task,
            frames: Vec::new(),
            next_generation: 1,
            ids,
            ended: false,
        }
    }

    /// Starts a span as the child of `from` (R9): if `from` already has a live
    /// child span, that child and its descendants end first. If `from` is a
    /// span that has ended, the span starts from its nearest live ancestor.
    /// In an ended task nothing is recorded (R8). `on_close` is told of spans
    /// ended on the way, as in [`SpanStack::end`].
    pub fn begin(
        &mut self,
        from: Position,
        name: Name,
        ts: Timestamp,
        callbacks_seen: u32,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) -> Begun {
        match self.begin_top(from, name, ts, callbacks_seen, out) {
            Ok(span) => Begun {
                span: Some(span),
                violations: Vec::new(),
            },
            Err(name) => self.begin_repairing(from, name, ts, callbacks_seen, out, on_close),
        }
    }

    /// [`SpanStack::begin`] in the common case only: `from` is the innermost
    /// open node, so nothing needs repairing. Otherwise nothing happens and
    /// the name comes back, for `begin` to handle.
    #[inline]
    pub fn begin_top(
        &mut self,
        from: Position,
        name: Name,
        ts: Timestamp,
        callbacks_seen: u32,
        out: &mut impl EventSink,
    ) -> Result<Position, Name> {
        if !self.is_top(from) {
            return Err(name);
        }
        let generation = self.push(name, ts, callbacks_seen, out);
        Ok(Position {
            depth: self.frames.len() as u32,
            generation,
        })
    }

    #[cold]
    fn begin_repairing(
        &mut self,
        from: Position,
        name: Name,
        ts: Timestamp,
        callbacks_seen: u32,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) -> Begun {
        let mut violations = Vec::new();
        if self.ended {
            violations.push(Violation::SpanWithoutTask {
                span: name,
                ended_task: Some(self.task.clone()),
            });
            return Begun {
                span: None,
                violations,
            };
        }
        let mut parent_depth = from.depth as usize;
        if !self.is_live(from) {
            parent_depth = self.path(from).len();
            violations.push(Violation::ParentSpanEnded {
                task: self.task.clone(),
                depth: from.depth(),
                new_span: name.clone(),
            });
        }
        if self.frames.len() > parent_depth {
            violations.push(Violation::SecondLiveChildSpan {
                parent: self.desc_at(parent_depth),
                live_child: self.frames[parent_depth].desc(),
                new_span: name.clone(),
            });
            self.close_above(parent_depth, ts, out, on_close);
        }
        let generation = self.push(name, ts, callbacks_seen, out);
        Begun {
            span: Some(Position {
                depth: self.frames.len() as u32,
                generation,
            }),
            violations,
        }
    }

    /// True if `pos` is live and has no live child span.
    #[inline]
    fn is_top(&self, pos: Position) -> bool {
        !self.ended
            && pos.depth as usize == self.frames.len()
            && self
                .frames
                .last()
                .is_none_or(|f| f.generation == pos.generation)
    }

    #[inline]
    fn push(
        &mut self,
        name: Name,
        ts: Timestamp,
        callbacks_seen: u32,
        out: &mut impl EventSink,
    ) -> u32 {
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1).max(1);
        if out.wants_events() {
            out.event(Event::SpanBegin {
                lane: self.lane,
                ts,
                name: name.clone(),
            });
        }
        self.frames.push(Frame {
            name,
            ids: self.ids.clone(),
            start: ts,
            callbacks_seen,
            generation,
        });
        generation
    }

    /// Ends a span. Ending one that already ended is a no-op (R7); ending one
    /// with a live child span is a violation (R10), repaired by ending the
    /// children first. `on_close` sees, for each span as it ends, the open
    /// frames from the outermost down to that span.
    pub fn end(
        &mut self,
        span: Position,
        ts: Timestamp,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) -> Option<Violation> {
        // The common case first: the innermost open span ends.
        if span.depth > 0 && self.is_top(span) {
            on_close(&self.frames);
            self.pop_top(ts, out);
            return None;
        }
        if span.depth == 0 || !self.is_live(span) {
            return None;
        }
        let depth = span.depth as usize;
        let violation = (self.frames.len() > depth).then(|| Violation::EndedWithLiveChildSpan {
            node: self.frames[depth - 1].desc(),
            live_child: self.frames[depth].desc(),
        });
        self.close_above(depth - 1, ts, out, on_close);
        violation
    }

    /// [`SpanStack::end`] in the common case only: `span` is the innermost
    /// open span. Returns false, having done nothing, otherwise.
    #[inline]
    pub fn end_top(&mut self, span: Position, ts: Timestamp, out: &mut impl EventSink) -> bool {
        if span.depth == 0 || !self.is_top(span) {
            return false;
        }
        self.pop_top(ts, out);
        true
    }

    #[inline]
    fn pop_top(&mut self, ts: Timestamp, out: &mut impl EventSink) {
        self.frames.pop();
        if out.wants_events() {
            out.event(Event::End {
                lane: self.lane,
                ts,
            });
        }
    }

    /// Ends the task: open spans end first, which is a violation (R10, the
    /// task being the root of its span stack); then the task's own slice.
    /// Ending twice is a no-op (R7).
    pub fn end_task(
        &mut self,
        ts: Timestamp,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) -> Option<Violation> {
        if self.ended {
            return None;
        }
        let violation = self
            .frames
            .first()
            .map(|live| Violation::EndedWithLiveChildSpan {
                node: self.task.clone(),
                live_child: live.desc(),
            });
        self.close_above(0, ts, out, on_close);
        out.event(Event::End {
            lane: self.lane,
            ts,
        });
        self.ended = true;
        violation
    }

    /// True if the node at `pos` has not ended.
    pub fn is_live(&self, pos: Position) -> bool {
        if self.ended {
            return false;
        }
        match pos.depth as usize {
            0 => true,
            d => self
                .frames
                .get(d - 1)
                .is_some_and(|f| f.generation == pos.generation),
        }
    }

    /// True once the task itself has ended.
    pub fn task_ended(&self) -> bool {
        self.ended
    }

    /// The open spans from the outermost down to `pos`; if `pos` has ended,
    /// down to its nearest live ancestor.
    pub fn path(&self, pos: Position) -> &[Frame] {
        let depth = (pos.depth as usize).min(self.frames.len());
        if self.is_live(pos) {
            return &self.frames[..depth];
        }
        // Ancestors of `pos` are older than it; a frame at its depth with a
        // newer generation replaced it.
        let live = self.frames[..depth]
            .iter()
            .rposition(|f| f.generation < pos.generation);
        &self.frames[..live.map_or(0, |i| i + 1)]
    }

    /// Every open span, outermost first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The task's lane.
    pub fn lane(&self) -> LaneId {
        self.lane
    }

    /// The begin events of the open spans, for a late joiner (C6); write them
    /// after the task's own begin event.
    pub fn snapshot(&self, out: &mut impl EventSink) {
        for f in &self.frames {
            out.event(Event::SpanBegin {
                lane: self.lane,
                ts: f.start,
                name: f.name.clone(),
            });
        }
    }

    fn close_above(
        &mut self,
        depth: usize,
        ts: Timestamp,
        out: &mut impl EventSink,
        on_close: &mut impl FnMut(&[Frame]),
    ) {
        while self.frames.len() > depth {
            on_close(&self.frames);
            self.frames.pop();
            out.event(Event::End {
                lane: self.lane,
                ts,
            });
        }
    }

    fn desc_at(&self, depth: usize) -> NodeDesc {
        match depth {
            0 => self.task.clone(),
            d => self.frames[d - 1].desc(),
        }
    }
}
