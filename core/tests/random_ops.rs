//! Long random sequences of valid and invalid operations applied to a
//! [`Tracer`], checked after every step against an independent model of the
//! rules (R1–R11, C1–C3) and, at the end, through the encoded stream read back
//! with [`read_trace`].

use std::collections::{BTreeMap, BTreeSet};

use actrace_core::parse::read_trace;
use actrace_core::{
    Encoder, Event, IdBytes, LaneId, Node, NodeId, StackKind, Timestamp, Tracer, Violation,
};
use proptest::prelude::*;
use proptest::sample::Index;

const ORIGIN: u64 = 1_000_000_000;
const BASES: [&str; 4] = ["a", "b", "c", "d#e"];
const SPANS: [&str; 3] = ["s", "t", "u"];

#[derive(Clone, Debug)]
enum Op {
    /// Start a task from a random node, or from no context.
    StartTask { from: Option<Index>, base: usize },
    /// Start a span from a random node, live or ended.
    StartSpan { from: Index, name: usize },
    /// End a random node, live or ended.
    End { node: Index },
    /// Drop the handle of a random task (live or ended): its nodes are no
    /// longer used.
    Release { task: Index },
    /// Let time pass (possibly not at all).
    Advance { nanos: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (proptest::option::weighted(0.8, any::<Index>()), 0..BASES.len())
            .prop_map(|(from, base)| Op::StartTask { from, base }),
        4 => (any::<Index>(), 0..SPANS.len()).prop_map(|(from, name)| Op::StartSpan { from, name }),
        4 => any::<Index>().prop_map(|node| Op::End { node }),
        1 => any::<Index>().prop_map(|task| Op::Release { task }),
        2 => prop_oneof![Just(0u64), Just(1), 1..2_000u64, Just(1_000_000)]
            .prop_map(|nanos| Op::Advance { nanos }),
    ]
}

/// A task as the model sees it.
struct MTask {
    node: Node,
    base: &'static str,
    unique: String,
    suffix: u32,
    lane: LaneId,
    id: NodeId,
    /// Fixed at start (R2, R3).
    parent: Option<usize>,
    /// Whose live child it counts as (R6 hands children up).
    owner: Option<usize>,
    live: bool,
    /// Our handle to it is still held.
    held: bool,
    /// Open spans, outermost first (model span indexes).
    spans: Vec<usize>,
}

/// A span as the model sees it.
struct MSpan {
    node: Node,
    task: usize,
    name: &'static str,
    /// The spans it was started under, outermost first.
    ancestors: Vec<usize>,
}

#[derive(Clone, Copy, Debug)]
enum MNode {
    Task(usize),
    Span(usize),
}

/// What the stream says so far, lane by lane.
#[derive(Default)]
struct StreamState {
    depth: BTreeMap<LaneId, usize>,
    last_ts: BTreeMap<LaneId, Timestamp>,
    flows_open: BTreeSet<u64>,
    flows_seen: BTreeSet<u64>,
    /// Unique name of each lane (C1).
    lane_names: BTreeMap<LaneId, String>,
    checked: usize,
}

struct Model {
    tracer: Tracer,
    events: Vec<Event>,
    now: Timestamp,
    tasks: Vec<MTask>,
    spans: Vec<MSpan>,
    /// Every node ever created, in creation order.
    nodes: Vec<MNode>,
    /// Lane of each unique name ever used (C1).
    lanes: BTreeMap<String, LaneId>,
    stream: StreamState,
    /// What the run exercised: violations by rule, lane reuses, adoptions.
    seen: BTreeMap<&'static str, usize>,
}

fn repaired(base: &str) -> String {
    base.replace('#', "_")
}

impl Model {
    fn new() -> Self {
        Model {
            tracer: Tracer::new(7, IdBytes::default()),
            events: Vec::new(),
            now: Timestamp::from_nanos(ORIGIN),
            tasks: Vec::new(),
            spans: Vec::new(),
            nodes: Vec::new(),
            lanes: BTreeMap::new(),
            stream: StreamState::default(),
            seen: BTreeMap::new(),
        }
    }

    fn task_of(&self, n: MNode) -> usize {
        match n {
            MNode::Task(t) => t,
            MNode::Span(s) => self.spans[s].task,
        }
    }

    fn tracer_node(&self, n: MNode) -> Node {
        match n {
            MNode::Task(t) => self.tasks[t].node,
            MNode::Span(s) => self.spans[s].node,
        }
    }

    /// Nodes whose task handle is still held.
    fn usable(&self) -> Vec<MNode> {
        self.nodes
            .iter()
            .copied()
            .filter(|&n| self.tasks[self.task_of(n)].held)
            .collect()
    }

    fn nearest_live(&self, mut t: Option<usize>) -> Option<usize> {
        while let Some(i) = t {
            if self.tasks[i].live {
                return Some(i);
            }
            t = self.tasks[i].parent;
        }
        None
    }

    /// R13 by names, from the model.
    fn expected_stack(&self, task: usize, spans: &[usize]) -> String {
        let mut chain = Vec::new();
        let mut t = Some(task);
        while let Some(i) = t {
            chain.push(repaired(self.tasks[i].base));
            t = self.tasks[i].parent;
        }
        chain.reverse();
        let mut out = chain.join("$");
        out.push('$');
        out.push_str(&repaired(self.tasks[task].base));
        for &s in spans {
            out.push('.');
            out.push_str(self.spans[s].name);
        }
        out
    }

    fn apply(&mut self, op: &Op) {
        let mark = self.events.len();
        match *op {
            Op::Advance { nanos } => {
                self.now = Timestamp::from_nanos(self.now.as_nanos() + nanos);
            }
            Op::StartTask { from, base } => {
                let usable = self.usable();
                let from = from.filter(|_| !usable.is_empty()).map(|i| *i.get(&usable));
                self.start_task(from, BASES[base], mark);
            }
            Op::StartSpan { from, name } => {
                let usable = self.usable();
                if !usable.is_empty() {
                    self.start_span(*from.get(&usable), SPANS[name], mark);
                }
            }
            Op::End { node } => {
                let usable = self.usable();
                if !usable.is_empty() {
                    self.end(*node.get(&usable), mark);
                }
            }
            Op::Release { task } => {
                let held: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| self.tasks[t].held)
                    .collect();
                if !held.is_empty() {
                    let t = *task.get(&held);
                    self.tracer.release(self.tasks[t].node.task);
                    self.tasks[t].held = false;
                    assert_eq!(self.events.len(), mark, "releasing emits nothing");
                }
            }
        }
        for e in &self.events[mark..] {
            if let Event::TaskBegin(b) = e {
                if !b.unique.ends_with("#0") {
                    *self.seen.entry("suffix>0").or_default() += 1;
                }
            }
        }
        self.check_step();
    }

    fn saw(&mut self, violations: &[Violation]) {
        for v in violations {
            *self.seen.entry(v.rule()).or_default() += 1;
        }
    }

    fn start_task(&mut self, from: Option<MNode>, base: &'static str, mark: usize) {
        let from_task = from.map(|n| self.task_of(n));
        let parent = self.nearest_live(from_task);
        let name = repaired(base);
        let taken: BTreeSet<u32> = self
            .tasks
            .iter()
            .filter(|t| t.live && repaired(t.base) == name)
            .map(|t| t.suffix)
            .collect();
        let suffix = (0..).find(|n| !taken.contains(n)).unwrap();
        let unique = format!("{name}#{suffix}");

        let (node, violation) = self.tracer.start_task(
            from.map(|n| self.tracer_node(n)),
            base,
            self.now,
            &mut self.events,
        );
        self.saw(violation.as_slice());
        if from_task.is_some() && parent != from_task {
            *self.seen.entry("adopted").or_default() += 1;
        }
        // R4.
        match (&violation, base.contains('#')) {
            (None, false) => {}
            (Some(Violation::HashInTaskName { name }), true) => assert_eq!(name, base),
            other => panic!("R4 expected for {base:?} only, got {other:?}"),
        }
        // The events: arrow start, lane name, task slice, arrow end.
        let new = &self.events[mark..];
        let mut i = 0;
        let parent_lane = parent.map(|p| self.tasks[p].lane);
        let mut flow = None;
        if let Some(pl) = parent_lane {
            match &new[i] {
                Event::FlowStart { lane, ts, flow: f } => {
                    assert_eq!((*lane, *ts), (pl, self.now), "C3: on the parent's lane");
                    flow = Some(*f);
                }
                e => panic!("expected a flow start, got {e:?}"),
            }
            i += 1;
        }
        let known_lane = self.lanes.get(&unique).copied();
        if known_lane.is_none() {
            match &new[i] {
                Event::LaneName { name, .. } => assert_eq!(&**name, unique),
                e => panic!("expected the name of a new lane, got {e:?}"),
            }
            i += 1;
        }
        let begin = match &new[i] {
            Event::TaskBegin(b) => b.clone(),
            e => panic!("expected a task begin, got {e:?}"),
        };
        i += 1;
        assert_eq!(&*begin.unique, unique, "R5: smallest free suffix");
        assert_eq!(&*begin.name, name);
        assert_eq!(begin.ts, self.now);
        assert_eq!(
            begin.parent,
            parent.map(|p| self.tasks[p].id),
            "R1-R3: parent of {unique}"
        );
        match known_lane {
            Some(lane) => {
                assert_eq!(begin.lane, lane, "C1: {unique} reuses its lane");
                *self.seen.entry("lane reused").or_default() += 1;
            }
            None => {
                assert!(
                    !self.lanes.values().any(|&l| l == begin.lane),
                    "a new unique name gets a new lane"
                );
                self.lanes.insert(unique.clone(), begin.lane);
            }
        }
        if let Some(f) = flow {
            match &new[i] {
                Event::FlowEnd { lane, flow, ts } => {
                    assert_eq!((*lane, *flow, *ts), (begin.lane, f, self.now))
                }
                e => panic!("expected a flow end, got {e:?}"),
            }
            i += 1;
        }
        assert_eq!(new.len(), i, "no other events: {new:?}");

        let t = self.tasks.len();
        self.tasks.push(MTask {
            node,
            base,
            unique,
            suffix,
            lane: begin.lane,
            id: begin.id,
            parent,
            owner: parent,
            live: true,
            held: true,
            spans: Vec::new(),
        });
        self.nodes.push(MNode::Task(t));
        assert_eq!(
            self.tracer.stack_string(node, StackKind::Names),
            self.expected_stack(t, &[])
        );
    }

    fn start_span(&mut self, from: MNode, name: &'static str, mark: usize) {
        let t = self.task_of(from);
        let (span, violations) = self.tracer.start_span(
            Some(self.tracer_node(from)),
            name,
            self.now,
            0,
            &mut self.events,
            &mut |_| {},
        );
        let rules: Vec<&str> = violations.iter().map(Violation::rule).collect();
        self.saw(&violations);
        if !self.tasks[t].live {
            assert_eq!(span, None, "R8: nothing recorded in an ended task");
            assert!(
                matches!(
                    violations.as_slice(),
                    [Violation::SpanWithoutTask {
                        ended_task: Some(_),
                        ..
                    }]
                ),
                "{violations:?}"
            );
            assert_eq!(self.events.len(), mark);
            return;
        }
        let stack = &self.tasks[t].spans;
        let (parent_depth, from_ended) = match from {
            MNode::Task(_) => (0, false),
            MNode::Span(s) => match stack.iter().position(|&x| x == s) {
                Some(i) => (i + 1, false),
                None => {
                    let anc = &self.spans[s].ancestors;
                    let live = anc.iter().zip(stack).take_while(|(a, b)| a == b).count();
                    (live, true)
                }
            },
        };
        let closed = stack.len() - parent_depth;
        let mut expected = Vec::new();
        if from_ended {
            expected.push("R10");
        }
        if closed > 0 {
            expected.push("R9");
        }
        assert_eq!(rules, expected, "{violations:?}");
        let lane = self.tasks[t].lane;
        let new = &self.events[mark..];
        assert_eq!(new.len(), closed + 1, "{new:?}");
        for e in &new[..closed] {
            assert_eq!(e, &Event::End { lane, ts: self.now });
        }
        assert!(
            matches!(&new[closed], Event::SpanBegin { lane: l, name: n, ts }
                if *l == lane && &**n == name && *ts == self.now),
            "{new:?}"
        );
        let node = span.expect("recorded in a live task");
        let ancestors = self.tasks[t].spans[..parent_depth].to_vec();
        let s = self.spans.len();
        self.spans.push(MSpan {
            node,
            task: t,
            name,
            ancestors: ancestors.clone(),
        });
        self.tasks[t].spans.truncate(parent_depth);
        self.tasks[t].spans.push(s);
        self.nodes.push(MNode::Span(s));
        let mut path = ancestors;
        path.push(s);
        assert_eq!(
            self.tracer.stack_string(node, StackKind::Names),
            self.expected_stack(t, &path)
        );
    }

    fn end(&mut self, n: MNode, mark: usize) {
        let t = self.task_of(n);
        let node = self.tracer_node(n);
        let violations = self
            .tracer
            .end(node, self.now, &mut self.events, &mut |_| {});
        let rules: Vec<&str> = violations.iter().map(Violation::rule).collect();
        self.saw(&violations);
        let lane = self.tasks[t].lane;
        let ends = match n {
            MNode::Span(s) => {
                let pos = self.tasks[t].spans.iter().position(|&x| x == s);
                match (self.tasks[t].live, pos) {
                    (true, Some(i)) => {
                        let n = self.tasks[t].spans.len() - i;
                        let expected: &[&str] = if n > 1 { &["R10"] } else { &[] };
                        assert_eq!(rules, expected, "{violations:?}");
                        self.tasks[t].spans.truncate(i);
                        n
                    }
                    _ => {
                        assert!(violations.is_empty(), "R7: {violations:?}");
                        0
                    }
                }
            }
            MNode::Task(_) if !self.tasks[t].live => {
                assert!(violations.is_empty(), "R7: {violations:?}");
                0
            }
            MNode::Task(_) => {
                let open_spans = self.tasks[t].spans.len();
                let children: BTreeSet<String> = (0..self.tasks.len())
                    .filter(|&c| self.tasks[c].live && self.tasks[c].owner == Some(t))
                    .map(|c| self.tasks[c].unique.clone())
                    .collect();
                let mut expected = Vec::new();
                if open_spans > 0 {
                    expected.push("R10");
                }
                if !children.is_empty() {
                    expected.push("R6");
                }
                assert_eq!(rules, expected, "{violations:?}");
                if let Some(Violation::TaskEndedWithLiveChildren { task, children: c }) =
                    violations.last()
                {
                    assert_eq!(&*task.name, self.tasks[t].unique);
                    let named: BTreeSet<String> = c.iter().map(|d| d.name.to_string()).collect();
                    assert_eq!(named, children, "R6 names every live child");
                }
                self.tasks[t].live = false;
                self.tasks[t].spans.clear();
                let heir = self.nearest_live(Some(t));
                for c in 0..self.tasks.len() {
                    if self.tasks[c].live && self.tasks[c].owner == Some(t) {
                        self.tasks[c].owner = heir;
                    }
                }
                open_spans + 1
            }
        };
        let new = &self.events[mark..];
        assert_eq!(new.len(), ends, "{new:?}");
        for e in new {
            assert_eq!(e, &Event::End { lane, ts: self.now });
        }
    }

    /// The invariants that hold after every step.
    fn check_step(&mut self) {
        // The stream so far: balanced per lane, time never goes back, every
        // flow end follows its start, flow ids unique.
        let st = &mut self.stream;
        for e in &self.events[st.checked..] {
            let lane = e.lane();
            if let Some(ts) = e.ts() {
                let last = st.last_ts.entry(lane).or_insert(ts);
                assert!(ts >= *last, "C2: time went back on {lane:?}");
                *last = ts;
            }
            match e {
                Event::LaneName { name, .. } => {
                    let old = st.lane_names.insert(lane, name.to_string());
                    assert!(old.is_none(), "C1: lane {lane:?} named twice");
                }
                Event::TaskBegin(b) => {
                    assert_eq!(st.lane_names.get(&lane), Some(&b.unique.to_string()));
                    *st.depth.entry(lane).or_default() += 1;
                }
                Event::SpanBegin { .. } => {
                    let d = st.depth.entry(lane).or_default();
                    assert!(*d > 0, "a span outside its task slice");
                    *d += 1;
                }
                Event::End { .. } => {
                    let d = st.depth.entry(lane).or_default();
                    assert!(*d > 0, "R11: E without B on {lane:?}");
                    *d -= 1;
                }
                Event::FlowStart { flow, .. } => {
                    assert!(st.flows_seen.insert(flow.0), "C3: flow id reused");
                    st.flows_open.insert(flow.0);
                }
                Event::FlowEnd { flow, .. } => {
                    assert!(st.flows_open.remove(&flow.0), "C3: f before its s");
                }
            }
        }
        st.checked = self.events.len();
        assert!(
            st.flows_open.is_empty(),
            "every arrow ends with its task begin"
        );

        // Each lane is exactly as deep as the live task on it.
        let mut expected: BTreeMap<LaneId, usize> = BTreeMap::new();
        let mut live_names = BTreeSet::new();
        for t in self.tasks.iter().filter(|t| t.live) {
            assert!(
                live_names.insert(t.unique.clone()),
                "R5: {} held by two live tasks",
                t.unique
            );
            expected.insert(t.lane, 1 + t.spans.len());
        }
        for (lane, depth) in &self.stream.depth {
            assert_eq!(
                expected.get(lane).copied().unwrap_or(0),
                *depth,
                "open slices on {lane:?}"
            );
        }
        for (lane, depth) in &expected {
            assert_eq!(self.stream.depth.get(lane), Some(depth), "{lane:?}");
        }
        assert_eq!(self.tracer.tree().live_count(), live_names.len(), "M1");
        // Liveness as the tracer reports it, for every node we can still use.
        for n in self.usable() {
            let t = self.task_of(n);
            let live = match n {
                MNode::Task(_) => self.tasks[t].live,
                MNode::Span(s) => self.tasks[t].live && self.tasks[t].spans.contains(&s),
            };
            assert_eq!(self.tracer.is_live(self.tracer_node(n)), live, "{n:?}");
        }
    }

    /// The whole stream read back: open slices are exactly the live nodes.
    fn check_end(&self) {
        let enc = Encoder::new(Timestamp::from_nanos(ORIGIN));
        let mut bytes = Vec::new();
        enc.open("random", &mut bytes);
        for e in &self.events {
            enc.event(e, &mut bytes);
        }
        let trace = read_trace(&bytes).expect("the stream so far reads back");
        let mut open: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &trace.open_slices {
            let lane = trace.lanes[s.lane]
                .name
                .as_deref()
                .unwrap_or("?")
                .to_string();
            open.entry(lane).or_default().push(s.name.to_string());
        }
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.tasks.iter().filter(|t| t.live) {
            let mut names = vec![repaired(t.base)];
            names.extend(t.spans.iter().map(|&s| self.spans[s].name.to_string()));
            expected.insert(t.unique.clone(), names);
        }
        assert_eq!(open, expected, "open slices are the live nodes");
        let flows = self
            .events
            .iter()
            .filter(|e| matches!(e, Event::FlowStart { .. }))
            .count();
        assert_eq!(trace.flows.len(), flows);
        enc.close(&mut bytes);
        let closed = read_trace(&bytes).expect("the closed stream is valid");
        assert!(closed.complete);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn r5_r9_r10_r11_random_operations_keep_invariants(
        ops in proptest::collection::vec(op(), 1..300)
    ) {
        let mut m = Model::new();
        for op in &ops {
            m.apply(op);
        }
        m.check_end();
    }
}

/// A fixed, long run on top of the random ones, so a failure is reproducible
/// without proptest's persistence file.
#[test]
fn r5_r9_r10_r11_long_deterministic_run_keeps_invariants() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let ops = proptest::collection::vec(op(), 3_000)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let mut m = Model::new();
    for op in &ops {
        m.apply(op);
    }
    m.check_end();
    assert!(m.tasks.len() > 300, "the run exercises many tasks");
    for what in [
        "R4",
        "R6",
        "R8",
        "R9",
        "R10",
        "suffix>0",
        "lane reused",
        "adopted",
    ] {
        assert!(
            m.seen.get(what).copied().unwrap_or(0) > 5,
            "{what}: {:?}",
            m.seen
        );
    }
}
