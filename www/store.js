// The trace model: lanes, slices, instants and flows in flat typed arrays.
//
// Events come in through one door, `event(...)`, called with plain numbers
// and interned string ids (from the byte parser or from pushed objects), so a
// million events leave a few dozen arrays behind, not a million objects.
//
// Layout invariants the renderer relies on: every lane keeps one row per
// nesting depth; a row holds slice indices sorted by start, and slices in a
// row never overlap, so their ends are sorted too and the visible part of a
// row is found by binary search.

import { StringTable } from './strings.js';

/** Slice flags. */
export const OPEN = 1; // B without E (yet)
export const COMPLETE = 2; // came from an X event
export const GAP = 4; // closed because the live connection lost its end

/** Event phases, as char codes of `ph`. */
export const PH = {
  B: 66, E: 69, X: 88, i: 105, I: 73, M: 77, s: 115, t: 116, f: 102,
};

/** A growable Int32 or Float64 array. */
export class Vec {
  constructor(Type = Int32Array, cap = 16) {
    this.a = new Type(cap);
    this.n = 0;
  }
  push(v) {
    if (this.n === this.a.length) {
      const b = new this.a.constructor(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  last() {
    return this.a[this.n - 1];
  }
}

class Lane {
  constructor(index, pid, tid, key) {
    this.index = index;
    this.key = key;
    this.pid = pid;
    this.tid = tid;
    this.name = null; // thread_name
    this.taskName = null; // args.task of the first task seen, as a fallback
    this.parent = -1; // parent lane in the task tree
    this.firstTs = Infinity;
    this.sortIndex = 0;
    /** @type {Vec[]} slice indices per depth */
    this.rows = [];
    /** @type {number[]} open B slices, outermost first */
    this.open = [];
    this.instants = new Vec();
    this.dirty = false; // rows need a sort-based relayout (X events, ts going back)
    this.resyncDepth = 0;
    this.events = 0;
  }
  get label() {
    if (this.name !== null) return this.name;
    if (this.taskName !== null) return this.taskName;
    return `pid ${this.pid} tid ${this.tid}`;
  }
}

export class TraceStore {
  constructor() {
    this.strings = new StringTable();
    this.known = {
      thread_name: this.strings.intern('thread_name'),
      process_name: this.strings.intern('process_name'),
      thread_sort_index: this.strings.intern('thread_sort_index'),
      process_sort_index: this.strings.intern('process_sort_index'),
    };
    // Slice columns.
    this.cap = 0;
    this.count = 0;
    this.growSlices(1 << 12);
    /** @type {Lane[]} */
    this.lanes = [];
    this.laneByKey = new Map();
    this.lastLaneKey = NaN;
    this.lastLane = null;
    this.laneTreeVersion = 0; // bumps when lanes or their parents change
    // Instants.
    this.iTs = new Vec(Float64Array);
    this.iLane = new Vec();
    this.iName = new Vec();
    this.globalInstants = new Vec();
    // Flow segments (s->t, t->f, s->f), drawn as arrows.
    this.fFromLane = new Vec();
    this.fFromTs = new Vec(Float64Array);
    this.fToLane = new Vec();
    this.fToTs = new Vec(Float64Array);
    this.flowPairs = 0;
    this.pendingFlows = new Map(); // cat id -> Map(flow id -> {lane, ts})
    // Task ids (args.id) -> slice index of the latest task with that id.
    this.taskById = new Map();
    this.processNames = new Map();
    this.events = 0;
    this.openSlices = 0;
    this.completed = 0;
    this.gapClosed = 0;
    this.tMin = Infinity;
    this.tMax = -Infinity;
    this.ignored = new Map(); // ph -> count of events of types we do not draw
    this.warnings = 0;
    this.firstWarning = '';
    this.dropped = 0; // events the live server said it could not send us
    this.resync = false;
    // Added to every timestamp: a live stream from a restarted program is
    // moved onto the clock of the first one (see LiveSource).
    this.tsOffset = 0;
    this.version = 0; // bumps on every accepted event batch (cheap change detection)
  }

  growSlices(cap) {
    const grow = (a, Type) => {
      const b = new Type(cap);
      if (a) b.set(a.subarray(0, this.count));
      return b;
    };
    this.sStart = grow(this.sStart, Float64Array);
    this.sEnd = grow(this.sEnd, Float64Array);
    this.sLane = grow(this.sLane, Int32Array);
    this.sDepth = grow(this.sDepth, Int32Array);
    this.sName = grow(this.sName, Int32Array);
    this.sParent = grow(this.sParent, Int32Array);
    this.sTaskId = grow(this.sTaskId, Int32Array);
    this.sParentTask = grow(this.sParentTask, Int32Array);
    this.sUnique = grow(this.sUnique, Int32Array);
    this.sFlags = grow(this.sFlags, Uint8Array);
    this.cap = cap;
  }

  lane(pid, tid) {
    const key = pid * 4294967296 + (tid >>> 0);
    if (key === this.lastLaneKey) return this.lastLane;
    let lane = this.laneByKey.get(key);
    if (lane === undefined) {
      lane = new Lane(this.lanes.length, pid, tid, key);
      this.lanes.push(lane);
      this.laneByKey.set(key, lane);
      this.laneTreeVersion++;
    }
    this.lastLaneKey = key;
    this.lastLane = lane;
    return lane;
  }

  warn(message) {
    if (this.warnings++ === 0) this.firstWarning = message;
  }

  /**
   * Accept one trace event. Strings are ids from `this.strings` (-1 when
   * absent); numbers are NaN when absent. Returns false if the event was not
   * accepted (unsupported phase or missing fields), true otherwise.
   */
  event(ph, pid, tid, ts, dur, name, cat, flowId, argId, argParent, argTask, argName, argSort, scope, where) {
    if (this.resync && ph !== PH.M && ph !== PH.B) this.endResync();
    if (this.tsOffset !== 0) ts += this.tsOffset;
    switch (ph) {
      case PH.B: {
        if (ts !== ts) return this.bad('B event without a numeric "ts"', where);
        const lane = this.lane(pid, tid);
        if (this.resync && this.isReplay(lane, ts, name)) return true;
        this.touch(lane, ts);
        this.openSlice(lane, ts, name, argId, argParent, argTask);
        return true;
      }
      case PH.E: {
        if (ts !== ts) return this.bad('E event without a numeric "ts"', where);
        const lane = this.lane(pid, tid);
        if (lane.open.length === 0) return this.bad(`E event on lane "${lane.label}" with no open slice`, where);
        this.touch(lane, ts);
        this.closeSlice(lane, ts, 0);
        return true;
      }
      case PH.X: {
        if (ts !== ts) return this.bad('X event without a numeric "ts"', where);
        if (!(dur >= 0)) dur = 0;
        const lane = this.lane(pid, tid);
        this.touch(lane, ts);
        if (ts + dur > this.tMax) this.tMax = ts + dur;
        const s = this.newSlice(lane, ts, ts + dur, name, COMPLETE, argId, argParent, argTask);
        // X events may come in any order (often children before parents), so
        // their depth is found by a sort when the lane is next laid out.
        lane.dirty = true;
        if (lane.rows.length === 0) lane.rows.push(new Vec());
        lane.rows[0].push(s);
        this.completed++;
        this.linkTask(lane, s, argId, argParent, argTask);
        return true;
      }
      case PH.i:
      case PH.I: {
        if (ts !== ts) return this.bad('instant event without a numeric "ts"', where);
        const k = this.iTs.n;
        this.iTs.push(ts);
        this.iName.push(name);
        if (scope === 'g' || scope === 'p') {
          this.iLane.push(-1);
          this.globalInstants.push(k);
          this.touchTime(ts);
          this.events++;
        } else {
          const lane = this.lane(pid, tid);
          this.touch(lane, ts);
          this.iLane.push(lane.index);
          if (lane.instants.n && this.iTs.a[lane.instants.last()] > ts) lane.dirty = true;
          lane.instants.push(k);
        }
        return true;
      }
      case PH.M:
        return this.meta(pid, tid, name, argName, argSort, where);
      case PH.s:
      case PH.t:
      case PH.f:
        return this.flow(ph, pid, tid, ts, cat, flowId, where);
      default:
        this.ignored.set(ph, (this.ignored.get(ph) || 0) + 1);
        return false;
    }
  }

  bad(message, where) {
    // `where` is the parser (asked lazily, since most events never need it) or a string.
    const loc = where && typeof where === 'object' ? where.location() : where;
    this.warn(loc ? `${message} (${loc})` : message);
    return false;
  }

  touchTime(ts) {
    if (ts < this.tMin) this.tMin = ts;
    if (ts > this.tMax) this.tMax = ts;
  }

  touch(lane, ts) {
    if (ts < this.tMin) this.tMin = ts;
    if (ts > this.tMax) this.tMax = ts;
    if (lane.events++ === 0) {
      lane.firstTs = ts;
      this.laneTreeVersion++;
    }
    this.events++;
  }

  newSlice(lane, start, end, name, flags, argId, argParent, argTask) {
    if (this.count === this.cap) this.growSlices(this.cap * 2);
    const s = this.count++;
    this.sStart[s] = start;
    this.sEnd[s] = end;
    this.sLane[s] = lane.index;
    this.sDepth[s] = 0;
    this.sName[s] = name;
    this.sParent[s] = -1;
    this.sTaskId[s] = argId;
    this.sParentTask[s] = argParent;
    this.sUnique[s] = argTask;
    this.sFlags[s] = flags;
    return s;
  }

  openSlice(lane, ts, name, argId, argParent, argTask) {
    const s = this.newSlice(lane, ts, Infinity, name, OPEN, argId, argParent, argTask);
    const depth = lane.open.length;
    this.sDepth[s] = depth;
    this.sParent[s] = depth > 0 ? lane.open[depth - 1] : -1;
    lane.open.push(s);
    if (depth === lane.rows.length) lane.rows.push(new Vec());
    const row = lane.rows[depth];
    if (row.n > 0 && this.sStart[row.last()] > ts) lane.dirty = true; // ts went backwards
    row.push(s);
    this.openSlices++;
    this.linkTask(lane, s, argId, argParent, argTask);
  }

  closeSlice(lane, ts, extraFlags) {
    const s = lane.open.pop();
    this.sEnd[s] = ts < this.sStart[s] ? this.sStart[s] : ts;
    this.sFlags[s] = (this.sFlags[s] & ~OPEN) | extraFlags;
    this.openSlices--;
    this.completed++;
  }

  /** Record a task's id and hang its lane under its parent task's lane. */
  linkTask(lane, s, argId, argParent, argTask) {
    if (argId >= 0) this.taskById.set(argId, s);
    if (argTask >= 0 && lane.taskName === null) lane.taskName = this.strings.get(argTask);
    if (argParent >= 0 && lane.parent < 0) {
      const p = this.taskById.get(argParent);
      if (p !== undefined) this.setLaneParent(lane, this.lanes[this.sLane[p]]);
    }
  }

  setLaneParent(lane, parent) {
    if (lane.parent >= 0 || parent === lane) return;
    // A reused lane may see its tasks under different parents; the first
    // link wins, and one that would make a cycle is ignored.
    for (let p = parent; p; p = p.parent >= 0 ? this.lanes[p.parent] : null) {
      if (p === lane) return;
    }
    lane.parent = parent.index;
    this.laneTreeVersion++;
  }

  meta(pid, tid, name, argName, argSort, where) {
    const k = this.known;
    if (name === k.thread_name) {
      if (argName < 0) return this.bad('thread_name metadata without args.name', where);
      const lane = this.lane(pid, tid);
      const text = this.strings.get(argName);
      if (this.resync && lane.name === text) return true; // replayed on reconnect
      lane.name = text;
      this.laneTreeVersion++;
    } else if (name === k.process_name) {
      if (argName < 0) return this.bad('process_name metadata without args.name', where);
      const text = this.strings.get(argName);
      if (this.resync && this.processNames.get(pid) === text) return true;
      this.processNames.set(pid, text);
    } else if (name === k.thread_sort_index) {
      const lane = this.lane(pid, tid);
      if (argSort === argSort) lane.sortIndex = argSort;
      this.laneTreeVersion++;
    }
    this.events++;
    return true;
  }

  flow(ph, pid, tid, ts, cat, flowId, where) {
    if (ts !== ts) return this.bad('flow event without a numeric "ts"', where);
    if (flowId !== flowId) return this.bad('flow event without an "id"', where);
    const lane = this.lane(pid, tid);
    this.touch(lane, ts);
    let byId = this.pendingFlows.get(cat);
    if (byId === undefined) this.pendingFlows.set(cat, (byId = new Map()));
    if (ph === PH.s) {
      byId.set(flowId, { lane: lane.index, ts });
      return true;
    }
    const from = byId.get(flowId);
    if (from === undefined) return true; // its start was cut off or dropped
    this.fFromLane.push(from.lane);
    this.fFromTs.push(from.ts);
    this.fToLane.push(lane.index);
    this.fToTs.push(ts);
    if (ph === PH.f) {
      byId.delete(flowId);
      this.flowPairs++;
      this.setLaneParent(lane, this.lanes[from.lane]);
    } else {
      from.lane = lane.index;
      from.ts = ts;
    }
    return true;
  }

  // --- Reconnecting to a live stream -------------------------------------
  // A new connection starts with the lane names and the begin events of
  // everything still open (SPEC C6). Those replay slices we already hold, so
  // they are matched instead of drawn twice; slices we hold open that the new
  // stream does not replay ended while we were away.

  beginResync() {
    this.resync = true;
    for (const lane of this.lanes) lane.resyncDepth = 0;
  }

  isReplay(lane, ts, name) {
    const d = lane.resyncDepth;
    if (d < lane.open.length) {
      const s = lane.open[d];
      if (this.sStart[s] === ts && this.sName[s] === name) {
        lane.resyncDepth++;
        return true;
      }
    }
    this.endResync();
    return false;
  }

  endResync() {
    this.resync = false;
    const gapTs = this.tMax;
    for (const lane of this.lanes) {
      while (lane.open.length > lane.resyncDepth) {
        this.closeSlice(lane, gapTs, GAP);
        this.gapClosed++;
      }
    }
  }

  noteDropped(n) {
    this.dropped += n;
  }

  // --- Layout ---------------------------------------------------------------

  /** Rebuild the rows of lanes whose events did not arrive in nesting order. */
  layout() {
    for (const lane of this.lanes) if (lane.dirty) this.relayout(lane);
  }

  relayout(lane) {
    lane.dirty = false;
    const ids = [];
    for (const row of lane.rows) for (let i = 0; i < row.n; i++) ids.push(row.a[i]);
    const start = this.sStart;
    const end = this.sEnd;
    ids.sort((a, b) => start[a] - start[b] || end[b] - end[a] || a - b);
    const rows = [];
    const stack = [];
    for (const s of ids) {
      // Siblings end before the next one starts; a slice that only partly
      // overlaps its predecessor goes one row deeper, so rows never overlap.
      while (stack.length && end[stack[stack.length - 1]] <= start[s]) stack.pop();
      const depth = stack.length;
      this.sDepth[s] = depth;
      this.sParent[s] = depth ? stack[depth - 1] : -1;
      if (depth === rows.length) rows.push(new Vec());
      rows[depth].push(s);
      stack.push(s);
    }
    lane.rows = rows;
    const inst = lane.instants;
    if (inst.n > 1) {
      const sorted = Array.from(inst.a.subarray(0, inst.n)).sort((a, b) => this.iTs.a[a] - this.iTs.a[b]);
      inst.a.set(sorted);
    }
  }

  /** Lanes in display order (task tree, depth-first) with their indent. */
  laneOrder() {
    if (this.orderCache && this.orderCache.version === this.laneTreeVersion) return this.orderCache;
    const children = new Map();
    const roots = [];
    for (const lane of this.lanes) {
      if (lane.events === 0 && lane.name === null) continue; // never shown
      const list = lane.parent >= 0 ? children.get(lane.parent) || children.set(lane.parent, []).get(lane.parent) : roots;
      list.push(lane);
    }
    const cmp = (a, b) => a.pid - b.pid || a.sortIndex - b.sortIndex || a.firstTs - b.firstTs || a.index - b.index;
    const order = [];
    const indent = [];
    const visit = (lane, depth) => {
      order.push(lane.index);
      indent.push(depth);
      const kids = children.get(lane.index);
      if (kids) for (const k of kids.sort(cmp)) visit(k, depth + 1);
    };
    for (const r of roots.sort(cmp)) visit(r, 0);
    this.orderCache = { version: this.laneTreeVersion, order, indent };
    return this.orderCache;
  }

  /** Lanes that count for stats(): any event, or a thread_name. */
  laneCount() {
    let n = 0;
    for (const lane of this.lanes) if (lane.events > 0 || lane.name !== null) n++;
    return n;
  }

  /** Where an open slice is drawn to: the newest time seen. */
  endOf(s) {
    const e = this.sEnd[s];
    return e === Infinity ? Math.max(this.tMax, this.sStart[s]) : e;
  }
}

/** First index i in row with end(row[i]) > t (rows are sorted by end too). */
export function firstEndingAfter(store, row, t) {
  const a = row.a;
  const end = store.sEnd;
  let lo = 0;
  let hi = row.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (end[a[mid]] > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** First index i in row with start(row[i]) >= t. */
export function firstStartingAtOrAfter(store, row, t, lo = 0) {
  const a = row.a;
  const start = store.sStart;
  let hi = row.n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (start[a[mid]] >= t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
