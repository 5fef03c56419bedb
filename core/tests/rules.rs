//! The rules of SPEC.md (R1–R13, C1, C3, C5) against the pure state machine:
//! a [`Tracer`] driven with deterministic timestamps into a `Vec<Event>`, the
//! events encoded with [`Encoder`] and read back with
//! [`actrace_core::parse::read_trace`].
//!
//! Every test that provokes a violation checks right after it that the
//! encoded stream is still well-formed: no lane has an `E` without its `B`,
//! and the slices left open are exactly the live nodes (R11).

use std::collections::{BTreeMap, BTreeSet};

use actrace_core::parse::{read_trace, Trace};
use actrace_core::{
    Encoder, Event, IdBytes, LaneId, Node, NodeDesc, StackKind, TaskBegin, Timestamp, Tracer,
    Violation,
};

/// Wall-clock time of `ts` 0 in the encoded stream, ns.
const ORIGIN: u64 = 1_700_000_000_000_000_000;

/// A tracer with a hand-driven clock and every event it emitted.
struct Rig {
    tracer: Tracer,
    events: Vec<Event>,
    now: u64,
}

impl Rig {
    fn new() -> Self {
        Self::with_ids(IdBytes::default())
    }

    fn with_ids(bytes: IdBytes) -> Self {
        Rig {
            tracer: Tracer::new(0x5eed, bytes),
            events: Vec::new(),
            now: ORIGIN,
        }
    }

    /// One microsecond later.
    fn tick(&mut self) -> Timestamp {
        self.now += 1_000;
        Timestamp::from_nanos(self.now)
    }

    fn task_v(&mut self, from: Option<Node>, name: &'static str) -> (Node, Option<Violation>) {
        let ts = self.tick();
        self.tracer.start_task(from, name, ts, &mut self.events)
    }

    fn task(&mut self, from: Option<Node>, name: &'static str) -> Node {
        let (node, v) = self.task_v(from, name);
        assert_eq!(v, None, "starting task {name:?}");
        node
    }

    fn span_v(&mut self, from: Option<Node>, name: &'static str) -> (Option<Node>, Vec<Violation>) {
        let ts = self.tick();
        self.tracer
            .start_span(from, name, ts, 0, &mut self.events, &mut |_| {})
    }

    fn span(&mut self, from: Node, name: &'static str) -> Node {
        let (node, v) = self.span_v(Some(from), name);
        assert!(v.is_empty(), "starting span {name:?}: {v:?}");
        node.expect("a span in a live task is recorded")
    }

    fn end_v(&mut self, node: Node) -> Vec<Violation> {
        let ts = self.tick();
        self.tracer.end(node, ts, &mut self.events, &mut |_| {})
    }

    fn end(&mut self, node: Node) {
        let v = self.end_v(node);
        assert!(v.is_empty(), "ending {node:?}: {v:?}");
    }

    /// The events emitted since `mark` (an index into `events`).
    fn since(&self, mark: usize) -> &[Event] {
        &self.events[mark..]
    }

    /// The most recent begin event of the task whose unique name is `unique`.
    fn begin(&self, unique: &str) -> TaskBegin {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::TaskBegin(b) if &*b.unique == unique => Some((**b).clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no begin event for {unique}"))
    }

    /// The node as a violation names it.
    fn desc(&self, node: Node) -> NodeDesc {
        if node.position.depth() == 0 {
            return self.tracer.tree().desc(node.task);
        }
        let frame = &self.tracer.stack(node.task).frames()[node.position.depth() - 1];
        NodeDesc {
            id: frame.id(),
            name: frame.name.clone(),
        }
    }

    fn bytes(&self, close: bool) -> Vec<u8> {
        encode(&self.events, close)
    }

    /// The stream as written so far (not closed), read back.
    fn trace(&self) -> Trace {
        let bytes = self.bytes(false);
        read_trace(&bytes).unwrap_or_else(|e| {
            panic!(
                "stream unreadable: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// R11: the stream read back has no unbalanced `E` and the slices still
    /// open are exactly `open` (lane name → slice names, outermost first);
    /// closed, it is valid JSON whose flows all ended.
    fn assert_balanced(&self, open: &[(&str, &[&str])]) {
        let trace = self.trace();
        let expected: BTreeMap<String, Vec<String>> = open
            .iter()
            .map(|(lane, names)| {
                (
                    lane.to_string(),
                    names.iter().map(|n| n.to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(open_by_lane(&trace), expected, "open slices per lane");
        let closed = read_trace(&self.bytes(true)).expect("closed stream reads");
        assert!(closed.complete);
    }
}

fn encode(events: &[Event], close: bool) -> Vec<u8> {
    let enc = Encoder::new(Timestamp::from_nanos(ORIGIN));
    let mut out = Vec::new();
    enc.open("rules", &mut out);
    for e in events {
        enc.event(e, &mut out);
    }
    if close {
        enc.close(&mut out);
    }
    out
}

fn lane_name(trace: &Trace, lane: usize) -> String {
    trace.lanes[lane]
        .name
        .as_deref()
        .unwrap_or("<unnamed>")
        .to_string()
}

/// Open slices grouped by lane name, outermost first.
fn open_by_lane(trace: &Trace) -> BTreeMap<String, Vec<String>> {
    let mut open: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &trace.open_slices {
        let names = open.entry(lane_name(trace, s.lane)).or_default();
        assert_eq!(s.depth, names.len(), "open slices come outermost first");
        names.push(s.name.to_string());
    }
    open
}

/// Ended slices on the lane named `lane`, as (name, depth), in end order.
fn slices_on(trace: &Trace, lane: &str) -> Vec<(String, usize)> {
    trace
        .slices
        .iter()
        .filter(|s| lane_name(trace, s.lane) == lane)
        .map(|s| (s.name.to_string(), s.depth))
        .collect()
}

fn ends(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::End { .. }))
        .count()
}

fn flow_starts(events: &[Event]) -> Vec<LaneId> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FlowStart { lane, .. } => Some(*lane),
            _ => None,
        })
        .collect()
}

fn rules(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(Violation::rule).collect()
}

#[test]
fn r1_task_from_empty_context_is_root() {
    let mut r = Rig::new();
    let a = r.task(None, "a");
    let begin = r.begin("a#0");
    assert_eq!(begin.parent, None, "a root task has no parent");
    assert!(flow_starts(&r.events).is_empty(), "no arrow into a root");
    assert_eq!(r.tracer.stack_string(a, StackKind::Names), "a$a");
    assert!(!r.bytes(false).windows(8).any(|w| w == b"\"parent\""));
    r.assert_balanced(&[("a#0", &["a"])]);
    // A second root is a root too, even while the first is live.
    r.task(None, "b");
    assert_eq!(r.begin("b#0").parent, None);
}

#[test]
fn r2_parent_of_task_started_in_span_is_span_task() {
    let mut r = Rig::new();
    let a = r.task(None, "a");
    let s = r.span(a, "s");
    let inner = r.span(s, "inner");
    let b = r.task(Some(inner), "b");
    let a_id = r.begin("a#0").id;
    assert_eq!(r.begin("b#0").parent, Some(a_id), "from a span: its task");
    assert_eq!(r.tracer.stack_string(b, StackKind::Names), "a$b$b");
    // From the task context itself.
    let c = r.task(Some(a), "c");
    assert_eq!(r.begin("c#0").parent, Some(a_id), "from a task: that task");
    // A grandchild's parent is its own parent, not the root.
    let _d = r.task(Some(c), "d");
    assert_eq!(r.begin("d#0").parent, Some(r.begin("c#0").id));
    r.assert_balanced(&[
        ("a#0", &["a", "s", "inner"]),
        ("b#0", &["b"]),
        ("c#0", &["c"]),
        ("d#0", &["d"]),
    ]);
}

#[test]
fn r3_orphan_reparented_to_nearest_live_ancestor() {
    let mut r = Rig::new();
    let g = r.task(None, "g");
    let p = r.task(Some(g), "p");
    let q = r.task(Some(p), "q");
    let q_span = r.span(q, "work");
    r.end(q_span);
    r.end(q);
    r.end(p);
    // q and p ended: a task started from q's (ended) span goes under g.
    let mark = r.events.len();
    let (o, v) = r.task_v(Some(q_span), "orphan");
    assert_eq!(v, None, "starting from an ended parent is no violation");
    let g_begin = r.begin("g#0");
    assert_eq!(r.begin("orphan#0").parent, Some(g_begin.id));
    assert_eq!(
        flow_starts(r.since(mark)),
        vec![g_begin.lane],
        "the arrow leaves the adoptive parent's lane"
    );
    assert_eq!(
        r.tracer.stack_string(o, StackKind::Names),
        "g$orphan$orphan"
    );
    // The orphan counts as g's child: ending g first is R6.
    let v = r.end_v(g);
    assert_eq!(rules(&v), ["R6"]);
    r.assert_balanced(&[("orphan#0", &["orphan"])]);
}

#[test]
fn r3_orphan_with_no_live_ancestor_is_root() {
    let mut r = Rig::new();
    let a = r.task(None, "a");
    let b = r.task(Some(a), "b");
    r.end(b);
    r.end(a);
    let mark = r.events.len();
    let (c, v) = r.task_v(Some(b), "c");
    assert_eq!(v, None);
    assert_eq!(r.begin("c#0").parent, None, "no live ancestor: a root");
    assert!(
        flow_starts(r.since(mark)).is_empty(),
        "no arrow into a root"
    );
    assert_eq!(r.tracer.stack_string(c, StackKind::Names), "c$c");
    // And it can be ended with no violation.
    r.end(c);
    r.assert_balanced(&[]);
}

#[test]
fn r4_hash_in_task_name_is_violation_and_repaired() {
    let mut r = Rig::new();
    let (t, v) = r.task_v(None, "copy#3");
    let v = v.expect("R4 is reported");
    assert_eq!(
        v,
        Violation::HashInTaskName {
            name: "copy#3".into()
        }
    );
    assert_eq!(v.rule(), "R4");
    assert!(v.to_string().contains("\"copy#3\""), "{v}");
    let begin = r.begin("copy_3#0");
    assert_eq!(&*begin.name, "copy_3");
    assert!(r.tracer.is_live(t));
    r.assert_balanced(&[("copy_3#0", &["copy_3"])]);
    // A repaired name cannot impersonate a suffix: "a#0" does not collide
    // with the unique name of a task based "a".
    let (_, v) = r.task_v(None, "a#0");
    assert!(v.is_some());
    r.task(None, "a");
    r.assert_balanced(&[
        ("copy_3#0", &["copy_3"]),
        ("a_0#0", &["a_0"]),
        ("a#0", &["a"]),
    ]);
    r.end(t);
    r.assert_balanced(&[("a_0#0", &["a_0"]), ("a#0", &["a"])]);
}

#[test]
fn r5_smallest_free_suffix_reused() {
    let mut r = Rig::new();
    let a: Vec<Node> = (0..4).map(|_| r.task(None, "a")).collect();
    let uniques: Vec<String> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TaskBegin(b) => Some(b.unique.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(uniques, ["a#0", "a#1", "a#2", "a#3"]);
    r.end(a[2]);
    r.end(a[0]);
    // Both 0 and 2 are free: the smallest comes first, then the other.
    let x = r.task(None, "a");
    assert_eq!(r.tracer.tree().describe(x.task).1.as_ref(), "a#0");
    let y = r.task(None, "a");
    assert_eq!(r.tracer.tree().describe(y.task).1.as_ref(), "a#2");
    let z = r.task(None, "a");
    assert_eq!(r.tracer.tree().describe(z.task).1.as_ref(), "a#4");
    // A child of an `a` task with the same base takes the next free suffix.
    r.end(a[1]);
    let child = r.task(Some(z), "a");
    assert_eq!(r.tracer.tree().describe(child.task).1.as_ref(), "a#1");
    r.assert_balanced(&[
        ("a#0", &["a"]),
        ("a#1", &["a"]),
        ("a#2", &["a"]),
        ("a#3", &["a"]),
        ("a#4", &["a"]),
    ]);
}

#[test]
fn r5_different_bases_never_collide() {
    let mut r = Rig::new();
    let bases = ["a", "b", "ab", "a_0", "a 0", "A", "a#"];
    let mut uniques = BTreeSet::new();
    let mut lanes = BTreeSet::new();
    for base in bases {
        let (t, _) = r.task_v(None, base);
        let (_, unique, lane) = r.tracer.tree().describe(t.task);
        assert!(uniques.insert(unique.to_string()), "{unique} collides");
        assert!(lanes.insert(lane), "lane of {unique} collides");
        assert!(unique.ends_with("#0"), "{unique}: first of its base");
    }
    // A second round: every base gets #1, still on distinct lanes.
    for base in bases {
        let (t, _) = r.task_v(None, base);
        let (_, unique, lane) = r.tracer.tree().describe(t.task);
        assert!(unique.ends_with("#1"), "{unique}");
        assert!(uniques.insert(unique.to_string()), "{unique} collides");
        assert!(lanes.insert(lane));
    }
    let trace = r.trace();
    assert_eq!(trace.lanes.len(), 2 * bases.len());
    let names: BTreeSet<String> = (0..trace.lanes.len())
        .map(|i| lane_name(&trace, i))
        .collect();
    assert_eq!(names, uniques);
}

#[test]
fn r6_end_task_with_live_children_is_violation_and_stream_stays_balanced() {
    let mut r = Rig::new();
    let root = r.task(None, "root");
    let a = r.task(Some(root), "a");
    let b = r.task(Some(a), "b");
    let b_span = r.span(b, "b-work");
    let (a_desc, b_desc) = (r.desc(a), r.desc(b));
    let mark = r.events.len();
    let v = r.end_v(a);
    assert_eq!(
        v,
        vec![Violation::TaskEndedWithLiveChildren {
            task: a_desc.clone(),
            children: vec![b_desc.clone()],
        }]
    );
    let msg = v[0].to_string();
    assert!(msg.starts_with("actrace R6: "), "{msg}");
    for part in [
        a_desc.to_string(),
        b_desc.to_string(),
        "\"a#0\"".into(),
        "\"b#0\"".into(),
    ] {
        assert!(msg.contains(&part), "{msg} should name {part}");
    }
    assert_eq!(ends(r.since(mark)), 1, "a's slice ends, b's does not");
    assert!(!r.tracer.is_live(a));
    assert!(r.tracer.is_live(b) && r.tracer.is_live(b_span));
    r.assert_balanced(&[("root#0", &["root"]), ("b#0", &["b", "b-work"])]);
    // The repair handed b to root: ending root now names b as its child.
    let v = r.end_v(root);
    assert_eq!(
        v,
        vec![Violation::TaskEndedWithLiveChildren {
            task: r.desc(root),
            children: vec![b_desc],
        }]
    );
    r.assert_balanced(&[("b#0", &["b", "b-work"])]);
    // b itself ends cleanly, and a child of it is fine.
    let c = r.task(Some(b_span), "c");
    assert_eq!(r.begin("c#0").parent, Some(r.begin("b#0").id));
    r.end(c);
    r.end(b_span);
    r.end(b);
    r.assert_balanced(&[]);
}

#[test]
fn r7_double_end_is_noop() {
    let mut r = Rig::new();
    let t = r.task(None, "t");
    let s = r.span(t, "s");
    r.end(s);
    let mark = r.events.len();
    assert!(r.end_v(s).is_empty(), "span ended twice");
    assert!(r.since(mark).is_empty(), "no event for a second span end");
    r.assert_balanced(&[("t#0", &["t"])]);
    // A span closed by a repair (R9) and then ended: nothing more.
    let s1 = r.span(t, "s1");
    let (_s2, v) = r.span_v(Some(t), "s2");
    assert_eq!(rules(&v), ["R9"]);
    let mark = r.events.len();
    assert!(r.end_v(s1).is_empty());
    assert!(r.since(mark).is_empty(), "auto-closed span: no extra E");
    r.assert_balanced(&[("t#0", &["t", "s2"])]);
    // Task ended twice, with its span closed by the first end.
    let v = r.end_v(t);
    assert_eq!(rules(&v), ["R10"]);
    let mark = r.events.len();
    assert!(r.end_v(t).is_empty(), "task ended twice");
    assert!(r.end_v(_s2.unwrap()).is_empty(), "span of an ended task");
    assert!(r.since(mark).is_empty(), "no event for a second task end");
    r.assert_balanced(&[]);
    let trace = r.trace();
    assert_eq!(
        slices_on(&trace, "t#0"),
        [
            ("s".to_string(), 1),
            ("s1".to_string(), 1),
            ("s2".to_string(), 1),
            ("t".to_string(), 0)
        ]
    );
}

#[test]
fn r8_span_without_task() {
    let mut r = Rig::new();
    let (s, v) = r.span_v(None, "lonely");
    assert_eq!(s, None);
    assert_eq!(
        v,
        vec![Violation::SpanWithoutTask {
            span: "lonely".into(),
            ended_task: None
        }]
    );
    assert_eq!(v[0].rule(), "R8");
    assert!(v[0].to_string().contains("\"lonely\""));
    assert!(r.events.is_empty(), "nothing is recorded");
    // A span in a task that has ended: also R8, also nothing recorded.
    let t = r.task(None, "t");
    r.end(t);
    let mark = r.events.len();
    let (s, v) = r.span_v(Some(t), "late");
    assert_eq!(s, None);
    assert_eq!(
        v,
        vec![Violation::SpanWithoutTask {
            span: "late".into(),
            ended_task: Some(r.desc(t)),
        }]
    );
    let msg = v[0].to_string();
    assert!(msg.contains("\"late\"") && msg.contains("\"t#0\""), "{msg}");
    assert!(r.since(mark).is_empty());
    r.assert_balanced(&[]);
}

#[test]
fn r9_second_live_child_span() {
    let mut r = Rig::new();
    let t = r.task(None, "t");
    let s1 = r.span(t, "s1");
    let s1a = r.span(s1, "s1a");
    let (t_desc, s1_desc) = (r.desc(t), r.desc(s1));
    let mark = r.events.len();
    let (s2, v) = r.span_v(Some(t), "s2");
    let s2 = s2.expect("the new span is recorded");
    assert_eq!(
        v,
        vec![Violation::SecondLiveChildSpan {
            parent: t_desc.clone(),
            live_child: s1_desc.clone(),
            new_span: "s2".into(),
        }]
    );
    let msg = v[0].to_string();
    assert!(msg.starts_with("actrace R9: "), "{msg}");
    assert!(msg.contains(&t_desc.to_string()) && msg.contains(&s1_desc.to_string()));
    assert!(msg.contains("\"s2\""), "{msg}");
    // Repair: s1a and s1 end (innermost first), then s2 begins.
    assert_eq!(ends(r.since(mark)), 2);
    assert!(matches!(r.since(mark).last(), Some(Event::SpanBegin { name, .. }) if &**name == "s2"));
    assert!(!r.tracer.is_live(s1) && !r.tracer.is_live(s1a));
    assert!(r.tracer.is_live(s2));
    r.assert_balanced(&[("t#0", &["t", "s2"])]);
    // Same below a span: s2 > x, then a second child of s2.
    let x = r.span(s2, "x");
    let (y, v) = r.span_v(Some(s2), "y");
    assert_eq!(rules(&v), ["R9"]);
    assert!(!r.tracer.is_live(x));
    r.assert_balanced(&[("t#0", &["t", "s2", "y"])]);
    // Starting from an ended span starts from its nearest live ancestor.
    let (z, v) = r.span_v(Some(x), "z");
    assert_eq!(rules(&v), ["R10", "R9"], "{v:?}");
    assert!(matches!(v[0], Violation::ParentSpanEnded { depth: 2, .. }));
    assert!(!r.tracer.is_live(y.unwrap()));
    assert_eq!(
        r.tracer.stack_string(z.unwrap(), StackKind::Names),
        "t$t.s2.z"
    );
    r.assert_balanced(&[("t#0", &["t", "s2", "z"])]);
}

#[test]
fn r10_end_span_with_live_child() {
    let mut r = Rig::new();
    let t = r.task(None, "t");
    let s1 = r.span(t, "s1");
    let s2 = r.span(s1, "s2");
    let s3 = r.span(s2, "s3");
    let (s1_desc, s2_desc) = (r.desc(s1), r.desc(s2));
    let mark = r.events.len();
    let v = r.end_v(s1);
    assert_eq!(
        v,
        vec![Violation::EndedWithLiveChildSpan {
            node: s1_desc.clone(),
            live_child: s2_desc.clone(),
        }]
    );
    let msg = v[0].to_string();
    assert!(msg.starts_with("actrace R10: "), "{msg}");
    assert!(msg.contains(&s1_desc.to_string()) && msg.contains(&s2_desc.to_string()));
    assert_eq!(ends(r.since(mark)), 3, "s3, s2 and s1 end");
    for s in [s1, s2, s3] {
        assert!(!r.tracer.is_live(s));
    }
    r.assert_balanced(&[("t#0", &["t"])]);
    let mark = r.events.len();
    assert!(r.end_v(s3).is_empty() && r.end_v(s2).is_empty());
    assert!(r.since(mark).is_empty(), "R7 after the repair");
    r.end(t);
    r.assert_balanced(&[]);
}

#[test]
fn r10_end_task_with_live_span() {
    let mut r = Rig::new();
    let t = r.task(None, "t");
    let s1 = r.span(t, "s1");
    let _s2 = r.span(s1, "s2");
    let (t_desc, s1_desc) = (r.desc(t), r.desc(s1));
    let mark = r.events.len();
    let v = r.end_v(t);
    assert_eq!(
        v,
        vec![Violation::EndedWithLiveChildSpan {
            node: t_desc.clone(),
            live_child: s1_desc.clone(),
        }]
    );
    assert!(v[0].to_string().contains(&t_desc.to_string()));
    assert!(v[0].to_string().contains(&s1_desc.to_string()));
    assert_eq!(ends(r.since(mark)), 3, "s2, s1, then the task");
    r.assert_balanced(&[]);
    // The name is free again.
    let again = r.task(None, "t");
    assert_eq!(r.tracer.tree().describe(again.task).1.as_ref(), "t#0");
    r.assert_balanced(&[("t#0", &["t"])]);
}

#[test]
fn r11_stream_balanced_after_every_violation() {
    let mut r = Rig::new();
    let (root, v) = r.task_v(None, "ro#ot");
    assert_eq!(rules(v.as_slice()), ["R4"]);
    r.assert_balanced(&[("ro_ot#0", &["ro_ot"])]);

    let (_, v) = r.span_v(None, "nowhere");
    assert_eq!(rules(&v), ["R8"]);
    r.assert_balanced(&[("ro_ot#0", &["ro_ot"])]);

    let w = r.task(Some(root), "w");
    let a = r.span(w, "a");
    let (b, v) = r.span_v(Some(w), "b");
    assert_eq!(rules(&v), ["R9"]);
    r.assert_balanced(&[("ro_ot#0", &["ro_ot"]), ("w#0", &["w", "b"])]);

    let c = r.span(b.unwrap(), "c");
    let v = r.end_v(b.unwrap());
    assert_eq!(rules(&v), ["R10"]);
    r.assert_balanced(&[("ro_ot#0", &["ro_ot"]), ("w#0", &["w"])]);

    let (d, v) = r.span_v(Some(c), "d");
    assert_eq!(rules(&v), ["R10"], "from an ended span: {v:?}");
    r.assert_balanced(&[("ro_ot#0", &["ro_ot"]), ("w#0", &["w", "d"])]);

    let v = r.end_v(root);
    assert_eq!(rules(&v), ["R6"]);
    r.assert_balanced(&[("w#0", &["w", "d"])]);

    let v = r.end_v(w);
    assert_eq!(rules(&v), ["R10"]);
    r.assert_balanced(&[]);

    let (_, v) = r.span_v(Some(d.unwrap()), "after");
    assert_eq!(rules(&v), ["R8"]);
    for n in [a, c, d.unwrap(), w, root] {
        assert!(r.end_v(n).is_empty(), "R7");
    }
    r.assert_balanced(&[]);
    let trace = read_trace(&r.bytes(true)).unwrap();
    assert!(trace.complete && trace.open_slices.is_empty());
    assert_eq!(trace.flows.len(), 1);
}

#[test]
fn r12_ids_configurable_bytes() {
    assert!(IdBytes::new(0).is_err(), "at least 1 byte");
    assert_eq!(IdBytes::default().get(), 3);
    for bytes in 1..=IdBytes::MAX {
        let mut r = Rig::with_ids(IdBytes::new(bytes).unwrap());
        let t = r.task(None, "t");
        let s = r.span(t, "s");
        let chars = (4 * bytes as usize).div_ceil(3);
        let ids = r.tracer.stack_string(s, StackKind::Ids);
        let parts: Vec<&str> = ids.split(['$', '.']).collect();
        assert_eq!(parts.len(), 3, "{ids}");
        for id in parts {
            assert_eq!(id.len(), chars, "{bytes} bytes: {id:?}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'),
                "standard base64, unpadded: {id:?}"
            );
        }
        // The task's id as written in the stream.
        let text = String::from_utf8(r.bytes(false)).unwrap();
        let at = text
            .find("\"args\":{\"id\":\"")
            .expect("task id in the stream")
            + 14;
        let id = &text[at..at + text[at..].find('"').unwrap()];
        assert_eq!(id, r.begin("t#0").id.to_string());
        assert_eq!(id.len(), chars);
    }
}

#[test]
fn r13_stack_strings_three_renderings() {
    let mut r = Rig::new();
    let a = r.task(None, "a");
    let b = r.task(Some(a), "b");
    let c = r.span(b, "c");
    let d = r.span(c, "d");
    let a_id = r.begin("a#0").id.to_string();
    let b_id = r.begin("b#0").id.to_string();
    let frames = r.tracer.stack(b.task).frames();
    let (c_id, d_id) = (frames[0].id().to_string(), frames[1].id().to_string());
    assert_eq!(r.tracer.stack_string(d, StackKind::Names), "a$b$b.c.d");
    assert_eq!(
        r.tracer.stack_string(d, StackKind::Ids),
        format!("{a_id}${b_id}${b_id}.{c_id}.{d_id}")
    );
    assert_eq!(
        r.tracer.stack_string(d, StackKind::Combined),
        format!("({a_id} \"a\")$({b_id} \"b\")$({b_id} \"b\").({c_id} \"c\").({d_id} \"d\")")
    );
    // Each node's own string stops at that node.
    assert_eq!(r.tracer.stack_string(c, StackKind::Names), "a$b$b.c");
    assert_eq!(r.tracer.stack_string(b, StackKind::Names), "a$b$b");
    assert_eq!(r.tracer.stack_string(a, StackKind::Names), "a$a");
    assert_eq!(
        r.tracer.stack_string(a, StackKind::Combined),
        format!("({a_id} \"a\")$({a_id} \"a\")")
    );
    // An ended span's string is its nearest live ancestor's.
    r.end(d);
    assert_eq!(r.tracer.stack_string(d, StackKind::Names), "a$b$b.c");
}

#[test]
fn c1_reused_name_reuses_lane() {
    let mut r = Rig::new();
    let first = r.task(None, "job");
    let other = r.task(None, "job");
    let lane0 = r.begin("job#0").lane;
    let lane1 = r.begin("job#1").lane;
    assert_ne!(lane0, lane1);
    r.end(first);
    let again = r.task(None, "job");
    assert_eq!(r.begin("job#0").lane, lane0, "job#0 again: same lane");
    let s = r.span(again, "step");
    r.end(s);
    r.end(again);
    r.end(other);
    let lane_names: Vec<&str> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::LaneName { name, .. } => Some(&**name),
            _ => None,
        })
        .collect();
    assert_eq!(lane_names, ["job#0", "job#1"], "each lane is named once");
    let trace = r.trace();
    assert_eq!(trace.lanes.len(), 2);
    assert!(trace.lanes.iter().all(|l| l.tid != 0), "tids are never 0");
    let l0 = (0..2).find(|&i| lane_name(&trace, i) == "job#0").unwrap();
    assert_eq!(trace.lanes[l0].slices, 3, "two tasks and a span");
    assert_eq!(trace.lanes[l0].tid, u64::from(lane0.get()));
    assert_eq!(
        slices_on(&trace, "job#0"),
        [
            ("job".to_string(), 0),
            ("step".to_string(), 1),
            ("job".to_string(), 0)
        ]
    );
}

#[test]
fn c3_flow_from_parent_lane_to_child() {
    let mut r = Rig::new();
    let p = r.task(None, "parent");
    let s = r.span(p, "spawning");
    let mark = r.events.len();
    let _c = r.task(Some(s), "child");
    // Order: the arrow starts on the parent's lane, the child's slice opens,
    // then the arrow ends bound to it.
    let kinds: Vec<&str> = r
        .since(mark)
        .iter()
        .map(|e| match e {
            Event::FlowStart { .. } => "s",
            Event::LaneName { .. } => "M",
            Event::TaskBegin(_) => "B",
            Event::FlowEnd { .. } => "f",
            _ => "?",
        })
        .collect();
    assert_eq!(kinds, ["s", "M", "B", "f"]);
    let trace = r.trace();
    assert_eq!(trace.flows.len(), 1);
    let flow = &trace.flows[0];
    assert_eq!(lane_name(&trace, flow.from.lane), "parent#0");
    assert_eq!(lane_name(&trace, flow.to.lane), "child#0");
    let child_open = trace
        .open_slices
        .iter()
        .find(|o| lane_name(&trace, o.lane) == "child#0")
        .unwrap();
    assert_eq!(
        flow.to.ts_us, child_open.start_us,
        "bound to the child slice"
    );
    assert_eq!(
        flow.from.ts_us, child_open.start_us,
        "at the moment it starts"
    );
    let text = String::from_utf8(r.bytes(false)).unwrap();
    assert!(
        text.contains("\"ph\":\"f\",\"bp\":\"e\""),
        "binds to the enclosing slice"
    );
}

#[test]
fn c3_flow_ids_unique() {
    let mut r = Rig::new();
    let root = r.task(None, "root");
    let mut children = Vec::new();
    for i in 0..40 {
        let from = children
            .last()
            .copied()
            .filter(|_| i % 3 == 0)
            .unwrap_or(root);
        children.push(r.task(Some(from), "child"));
        if i % 4 == 0 {
            let c = children.remove(0);
            let _ = r.end_v(c); // may re-parent its children (R6)
        }
    }
    // Orphans (R3) get arrows too, from their adoptive parent.
    let gone = r.task(Some(root), "gone");
    r.end(gone);
    r.task(Some(gone), "orphan");
    let mut ids = BTreeSet::new();
    for e in &r.events {
        if let Event::FlowStart { flow, .. } = e {
            assert!(ids.insert(flow.0), "flow id {} reused", flow.0);
        }
    }
    assert_eq!(ids.len(), 42);
    let trace = read_trace(&r.bytes(true)).expect("no duplicate or dangling flows");
    assert_eq!(trace.flows.len(), 42);
    let seen: BTreeSet<u64> = trace.flows.iter().map(|f| f.id).collect();
    assert_eq!(seen, ids);
}

#[test]
fn c5_ts_microseconds_three_decimals() {
    let enc = Encoder::new(Timestamp::from_nanos(ORIGIN));
    let lane = LaneId::new(1).unwrap();
    let cases: [(u64, &str); 5] = [
        (0, "0.000"),
        (5, "0.005"),
        (1_234_567, "1234.567"),
        (1_000_000_010, "1000000.010"),
        (3_600_000_000_999, "3600000000.999"),
    ];
    for (nanos, text) in cases {
        let mut out = Vec::new();
        enc.event(
            &Event::End {
                lane,
                ts: Timestamp::from_nanos(ORIGIN + nanos),
            },
            &mut out,
        );
        let line = String::from_utf8(out).unwrap();
        assert!(
            line.contains(&format!("\"ts\":{text}}}")),
            "{nanos} ns: {line}"
        );
    }
    // Read back through a whole stream: sub-microsecond precision is kept.
    let mut r = Rig::new();
    r.now = ORIGIN + 1_234_567 - 1_000;
    let t = r.task(None, "t");
    r.now = ORIGIN + 2_000_001 - 1_000;
    r.end(t);
    let text = String::from_utf8(r.bytes(false)).unwrap();
    assert!(text.contains(&format!("\"origin_unix_us\":{}", ORIGIN / 1000)));
    let trace = r.trace();
    let s = &trace.slices[0];
    assert!((s.start_us - 1234.567).abs() < 1e-9, "{}", s.start_us);
    assert!((s.end_us - 2000.001).abs() < 1e-9, "{}", s.end_us);
}
