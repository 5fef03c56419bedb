//! The task tree (R1–R3, R6): parents, live children, names and ids.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::{
    Event, EventSink, FlowId, IdBytes, IdGen, LaneId, Name, NodeDesc, NodeId, Timestamp,
    UniqueNamer, Violation,
};

/// A task in a [`TaskTree`]. Valid while the tree holds the task (see
/// [`TaskTree::retain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskKey {
    index: u32,
    generation: u32,
}

impl TaskKey {
    /// A small number, unique among the tasks the tree holds now.
    pub fn index(self) -> usize {
        self.index as usize
    }
}

#[derive(Debug)]
struct Entry {
    generation: u32,
    task: Option<TaskData>,
}

#[derive(Debug)]
struct TaskData {
    id: NodeId,
    base: Name,
    /// The base name's number in the namer, and the task's suffix `N`: its
    /// unique name is kept there once for every task that reuses it.
    base_index: u32,
    suffix: u32,
    lane: LaneId,
    /// The parent the task was started under (R2, R3); fixed for life.
    parent: Option<TaskKey>,
    /// The live task whose child count includes this one; differs from
    /// `parent` once a parent ended early (the R6 repair).
    owner: Option<TaskKey>,
    live_children: u32,
    ended: bool,
    /// Handles held by the adapter plus one per task whose `parent` or
    /// `owner` points here. The entry is freed when this reaches 0 after end.
    holds: u32,
}

/// What [`TaskTree::start`] decided about a new task.
#[derive(Debug)]
pub struct TaskStarted {
    /// The new task, held once for the caller.
    pub key: TaskKey,
    /// Its id (R12).
    pub id: NodeId,
    /// Its base name (after the R4 repair, if any).
    pub name: Name,
    /// Its unique name `NAME#N` (R5).
    pub unique: Arc<str>,
    /// Its lane (C1).
    pub lane: LaneId,
    /// True if the lane is used for the first time and needs a name event.
    pub new_lane: bool,
    /// The parent task (R2, R3) and its lane, if the task is not a root.
    pub parent: Option<(TaskKey, LaneId, NodeId)>,
    /// The flow arrow from the parent's lane, if there is a parent (C3).
    pub flow: Option<FlowId>,
    /// A generator for the ids of this task's spans.
    pub span_ids: IdGen,
    /// R4, if the name had to be repaired.
    pub violation: Option<Violation>,
}

impl TaskStarted {
    /// The event that starts the flow arrow on the parent's lane (C3); write
    /// it before [`TaskStarted::begin_events`].
    pub fn flow_start(&self, ts: Timestamp) -> Option<Event> {
        let (_, lane, _) = self.parent?;
        Some(Event::FlowStart {
            lane,
            ts,
            flow: self.flow?,
        })
    }

    /// The events that open the task on its lane: its lane's name if new, the
    /// task slice, and the end of the flow arrow when `with_flow`.
    pub fn begin_events(&self, ts: Timestamp, with_flow: bool, out: &mut impl EventSink) {
        if self.new_lane {
            out.event(Event::LaneName {
                lane: self.lane,
                name: self.unique.clone(),
            });
        }
        out.event(Event::TaskBegin(alloc::boxed::Box::new(crate::TaskBegin {
            lane: self.lane,
            ts,
            name: self.name.clone(),
            unique: self.unique.clone(),
            id: self.id,
            parent: self.parent.map(|(_, _, id)| id),
        })));
        if let (true, Some(flow)) = (with_flow, self.flow) {
            out.event(Event::FlowEnd {
                lane: self.lane,
                ts,
                flow,
            });
        }
    }
}

/// What [`TaskTree::end`] did.
#[derive(Debug, Default)]
pub struct TaskEnded {
    /// True if the task had already ended: nothing was done (R7).
    pub already_ended: bool,
    /// R6, if child tasks were still live.
    pub violation: Option<Violation>,
}

/// The tree of tasks, their unique names and ids.
///
/// It emits no events of its own: the adapter writes [`TaskStarted`]'s events
/// in the lanes' order, and a task's end through its span stack.
#[derive(Debug)]
pub struct TaskTree {
    entries: Vec<Entry>,
    free: Vec<u32>,
    namer: UniqueNamer,
    ids: IdGen,
    next_flow: u64,
    live: usize,
}

impl TaskTree {
    /// An empty tree whose ids come from `seed`.
    pub fn new(seed: u64, id_bytes: IdBytes) -> Self {
        TaskTree {
            entries: Vec::new(),
            free: Vec::new(),
            namer: UniqueNamer::new(),
            ids: IdGen::new(seed, id_bytes),
            next_flow: 1,
            live: 0,
        }
    }

    /// Starts a task from a context whose task is `from` (None: a root task,
    /// R1). The parent is `from` if live, else its nearest live ancestor (R2,
    /// R3). A `#` in the name is a violation (R4), repaired to `_`.
    pub fn start(&mut self, from: Option<TaskKey>, name: Name) -> TaskStarted {
        let (name, violation) = if name.contains('#') {
            let repaired: String = name.replace('#', "_");
            (
                Name::from(repaired),
                Some(Violation::HashInTaskName {
                    name: name.as_str().into(),
                }),
            )
        } else {
            (name, None)
        };
        let parent = self.nearest_live(from);
        let unique = self.namer.acquire(&name);
        let id = self.ids.next_id();
        let span_ids = self.ids.fork();
        let data = TaskData {
            id,
            base: name.clone(),
            base_index: unique.base,
            suffix: unique.suffix,
            lane: unique.lane,
            parent,
            owner: parent,
            live_children: 0,
            ended: false,
            holds: 1,
        };
        let key = self.insert(data);
        let (parent, flow) = match parent {
            Some(p) => {
                let pd = self.data_mut(p);
                pd.live_children += 1;
                pd.holds += 2; // as `parent` and as `owner`
                let info = (p, pd.lane, pd.id);
                let flow = FlowId(self.next_flow);
                self.next_flow += 1;
                (Some(info), Some(flow))
            }
            None => (None, None),
        };
        self.live += 1;
        TaskStarted {
            key,
            id,
            name,
            unique: unique.unique,
            lane: unique.lane,
            new_lane: unique.new_lane,
            parent,
            flow,
            span_ids,
            violation,
        }
    }

    /// Ends a task (its spans must be closed by its span stack first). Ending
    /// twice is a no-op (R7). Live children are a violation (R6), repaired by
    /// handing them to the nearest live ancestor.
    pub fn end(&mut self, key: TaskKey) -> TaskEnded {
        let data = self.data_mut(key);
        if data.ended {
            return TaskEnded {
                already_ended: true,
                violation: None,
            };
        }
        data.ended = true;
        let (owner, base, suffix, has_children) = (
            data.owner,
            data.base_index,
            data.suffix,
            data.live_children > 0,
        );
        self.namer.release_at(base, suffix);
        self.live -= 1;
        if let Some(o) = owner {
            self.data_mut(o).live_children -= 1;
        }
        let violation = has_children.then(|| {
            let heir = self.nearest_live(Some(key));
            let mut children = Vec::new();
            for i in 0..self.entries.len() {
                let Some(child) = self.entries[i].task.as_mut() else {
                    continue;
                };
                if child.ended || child.owner != Some(key) {
                    continue;
                }
                child.owner = heir;
                children.push(NodeDesc {
                    id: child.id,
                    name: Name::from(unique_of(&self.namer, child).clone()),
                });
                if let Some(h) = heir {
                    let hd = self.data_mut(h);
                    hd.live_children += 1;
                    hd.holds += 1;
                }
                self.data_mut(key).live_children -= 1;
                self.release(key);
            }
            Violation::TaskEndedWithLiveChildren {
                task: self.desc(key),
                children,
            }
        });
        TaskEnded {
            already_ended: false,
            violation,
        }
    }

    /// Takes one more hold on a task, for an adapter handle.
    pub fn retain(&mut self, key: TaskKey) {
        self.data_mut(key).holds += 1;
    }

    /// Drops one hold; the task is forgotten once it has ended and nothing
    /// holds it, which may in turn free its parent and owner.
    pub fn release(&mut self, key: TaskKey) {
        self.release_holds(key, 1);
    }

    /// Drops `count` holds of `key`. Freeing a task drops the holds it had on
    /// its parent and owner; when they are the same task (no R6 repair), both
    /// are dropped in one step, so the walk up the tree needs no list.
    fn release_holds(&mut self, key: TaskKey, count: u32) {
        // Only an owner that differs from the parent waits here.
        let mut pending: Vec<TaskKey> = Vec::new();
        let mut next = Some((key, count));
        while let Some((k, n)) = next.take().or_else(|| pending.pop().map(|k| (k, 1))) {
            let d = self.data_mut(k);
            d.holds -= n;
            if d.holds > 0 || !d.ended {
                continue;
            }
            let (parent, owner) = (d.parent, d.owner);
            let entry = &mut self.entries[k.index as usize];
            entry.task = None;
            entry.generation = entry.generation.wrapping_add(1);
            self.free.push(k.index);
            next = match (parent, owner) {
                (Some(p), Some(o)) if p == o => Some((p, 2)),
                (p, o) => {
                    pending.extend(o);
                    p.map(|p| (p, 1))
                }
            };
        }
    }

    /// True if the task has not ended.
    pub fn is_live(&self, key: TaskKey) -> bool {
        !self.data(key).ended
    }

    /// The task's id, unique name and lane.
    pub fn describe(&self, key: TaskKey) -> (NodeId, &Arc<str>, LaneId) {
        let d = self.data(key);
        (d.id, unique_of(&self.namer, d), d.lane)
    }

    /// The task as a violation report names it.
    pub fn desc(&self, key: TaskKey) -> NodeDesc {
        let d = self.data(key);
        NodeDesc {
            id: d.id,
            name: Name::from(unique_of(&self.namer, d).clone()),
        }
    }

    /// The tasks from the root down to `key`, as (id, base name) (R13).
    pub fn chain(&self, key: TaskKey) -> Vec<(NodeId, Name)> {
        let mut chain = Vec::new();
        let mut next = Some(key);
        while let Some(k) = next {
            let d = self.data(k);
            chain.push((d.id, d.base.clone()));
            next = d.parent;
        }
        chain.reverse();
        chain
    }

    /// Every live task, in no particular order.
    pub fn live_tasks(&self) -> impl Iterator<Item = TaskKey> + '_ {
        self.entries.iter().enumerate().filter_map(|(i, e)| {
            let d = e.task.as_ref()?;
            (!d.ended).then_some(TaskKey {
                index: i as u32,
                generation: e.generation,
            })
        })
    }

    /// The slab indexes of every task the tree holds, ascending.
    pub fn held_indexes(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.task.as_ref().map(|_| i))
    }

    /// The begin event of a task, as first written at `start` (for C6).
    pub fn begin_event(&self, key: TaskKey, start: Timestamp) -> Event {
        let d = self.data(key);
        Event::TaskBegin(alloc::boxed::Box::new(crate::TaskBegin {
            lane: d.lane,
            ts: start,
            name: d.base.clone(),
            unique: unique_of(&self.namer, d).clone(),
            id: d.id,
            parent: d.parent.map(|p| self.data(p).id),
        }))
    }

    /// Number of live tasks (M1).
    pub fn live_count(&self) -> usize {
        self.live
    }

    /// Number of tasks the tree still holds (live, or ended but referenced).
    pub fn held_count(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// The namer, for lane lists and the M2 gauge.
    pub fn namer(&self) -> &UniqueNamer {
        &self.namer
    }

    fn nearest_live(&self, mut key: Option<TaskKey>) -> Option<TaskKey> {
        while let Some(k) = key {
            let d = self.data(k);
            if !d.ended {
                return Some(k);
            }
            key = d.parent;
        }
        None
    }

    fn insert(&mut self, data: TaskData) -> TaskKey {
        match self.free.pop() {
            Some(index) => {
                let entry = &mut self.entries[index as usize];
                entry.task = Some(data);
                TaskKey {
                    index,
                    generation: entry.generation,
                }
            }
            None => {
                let index = u32::try_from(self.entries.len()).expect("fewer than 2^32 tasks held");
                self.entries.push(Entry {
                    generation: 0,
                    task: Some(data),
                });
                TaskKey {
                    index,
                    generation: 0,
                }
            }
        }
    }

    fn data(&self, key: TaskKey) -> &TaskData {
        let entry = &self.entries[key.index as usize];
        debug_assert_eq!(entry.generation, key.generation, "stale task key");
        entry.task.as_ref().expect("task key used after release")
    }

    fn data_mut(&mut self, key: TaskKey) -> &mut TaskData {
        let entry = &mut self.entries[key.index as usize];
        debug_assert_eq!(entry.generation, key.generation, "stale task key");
        entry.task.as_mut().expect("task key used after release")
    }
}

/// A held task's unique name, as its namer keeps it.
fn unique_of<'a>(namer: &'a UniqueNamer, d: &TaskData) -> &'a Arc<str> {
    namer
        .unique_at(d.base_index, d.suffix)
        .expect("a held task's name was handed out by the namer")
}
