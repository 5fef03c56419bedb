#!/usr/bin/env node
// Generates actrace-format traces (docs/trace-format.md) from a simulated
// program, and keeps the books the browser tests compare the viewer against.
//
//   node gen-trace.mjs N out.json [--seed S] [--open] [--cut]
//
// writes about N events (plus the closing events unless --open/--cut) and
// prints the expected counts as JSON. --open leaves the stream running (no
// closing events, no "]"); --cut also stops in the middle of the next line.
//
// The simulation follows SPEC R1-R10: tasks form a tree and are only ended
// when their children have ended; spans nest inside their task; unique task
// names NAME#N reuse the smallest free N, and each unique name is one lane
// (tid) for the whole trace (C1). Time only moves forward.

import { createWriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';

const TASKS = ['serve', 'conn', 'copy-dir', 'replicate', 'snapshot', 'prune', 'upload', 'gc'];
const SPANS = ['read', 'write', 'hash', 'stat', 'fsync', 'encode', 'decode', 'lookup', 'send', 'recv', 'compress'];
const OPENED = { openSlices: 1 };
const CLOSED = { openSlices: -1, slices: 1 };
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class TraceGenerator {
  constructor({ seed = 1, maxLive = 48, maxDepth = 6 } = {}) {
    this.rand = mulberry32(seed);
    this.maxLive = maxLive;
    this.maxDepth = maxDepth;
    this.now = 0;
    this.lanes = new Map(); // unique name -> tid
    this.held = new Map(); // base name -> Set of N in use
    this.ids = new Set();
    this.live = []; // live tasks
    this.flowId = 0;
    this.queue = [];
    this.counts = { lanes: 0, slices: 0, openSlices: 0, flows: 0, events: 0 };
    this.started = false;
    /** Every task and span ever opened, for tests that look things up. */
    this.nodes = [];
  }

  pick(list) {
    return list[Math.floor(this.rand() * list.length)];
  }

  tick() {
    // Mostly short steps, sometimes a long pause, like a real program.
    const r = this.rand();
    this.now += r < 0.9 ? r * 20 : r * 400;
    return this.now.toFixed(3);
  }

  newId() {
    for (;;) {
      let id = '';
      for (let i = 0; i < 4; i++) id += B64[Math.floor(this.rand() * 64)];
      if (!this.ids.has(id)) {
        this.ids.add(id);
        return id;
      }
    }
  }

  /** Queue a line; `delta` updates the counts when the line is handed out. */
  emit(line, delta = null) {
    this.queue.push({ line, delta });
  }

  startTask(base, parent) {
    const held = this.held.get(base) || this.held.set(base, new Set()).get(base);
    let n = 0;
    while (held.has(n)) n++;
    held.add(n);
    const unique = `${base}#${n}`;
    let tid = this.lanes.get(unique);
    const ts = this.tick();
    let flow = 0;
    if (parent) {
      flow = ++this.flowId;
      this.emit(`{"ph":"s","pid":1,"tid":${parent.tid},"ts":${ts},"id":${flow},"cat":"actrace","name":"spawn"}`);
    }
    if (tid === undefined) {
      tid = this.lanes.size + 1;
      this.lanes.set(unique, tid);
      this.emit(`{"ph":"M","pid":1,"tid":${tid},"name":"thread_name","args":{"name":"${unique}"}}`, { lanes: 1 });
    }
    const id = this.newId();
    const task = { base, n, unique, tid, id, parent, children: 0, spans: [], start: Number(ts) };
    const parentArg = parent ? `,"parent":"${parent.id}"` : '';
    this.emit(`{"ph":"B","pid":1,"tid":${tid},"ts":${ts},"name":"${base}","args":{"id":"${id}","task":"${unique}"${parentArg}}}`, OPENED);
    if (parent) {
      parent.children++;
      this.emit(`{"ph":"f","bp":"e","pid":1,"tid":${tid},"ts":${ts},"id":${flow},"cat":"actrace","name":"spawn"}`, { flows: 1 });
    }
    this.nodes.push({ kind: 'task', name: base, unique, id, tid, start: Number(ts), parent: parent ? parent.id : null });
    this.live.push(task);
    return task;
  }

  endTask(task) {
    this.emit(`{"ph":"E","pid":1,"tid":${task.tid},"ts":${this.tick()}}`, CLOSED);
    this.held.get(task.base).delete(task.n);
    if (task.parent) task.parent.children--;
    this.live.splice(this.live.indexOf(task), 1);
  }

  openSpan(task, name) {
    const ts = this.tick();
    task.spans.push(name);
    this.emit(`{"ph":"B","pid":1,"tid":${task.tid},"ts":${ts},"name":"${name}"}`, OPENED);
    this.nodes.push({ kind: 'span', name, tid: task.tid, task: task.id, start: Number(ts), depth: task.spans.length });
  }

  closeSpan(task) {
    task.spans.pop();
    this.emit(`{"ph":"E","pid":1,"tid":${task.tid},"ts":${this.tick()}}`, CLOSED);
  }

  spanName() {
    const base = this.pick(SPANS);
    const r = this.rand();
    if (r < 0.35) return `${base} /srv/pool/dataset-${Math.floor(this.rand() * 64)}/f${Math.floor(this.rand() * 100000)}.bin`;
    if (r < 0.5) return `${base} block ${Math.floor(this.rand() * 4096)}`;
    return base;
  }

  /** One simulation step: queues one or more lines. */
  step() {
    if (!this.started) {
      this.started = true;
      this.emit('{"ph":"M","pid":1,"name":"process_name","args":{"name":"demo","origin_unix_us":1764140000000000}}');
      this.root = this.startTask('main', null);
      return;
    }
    const task = this.pick(this.live);
    const r = this.rand();
    if (r < 0.04 && this.live.length < this.maxLive) {
      this.startTask(this.pick(TASKS), task);
    } else if (r < 0.08 && task !== this.root && task.children === 0 && task.spans.length === 0) {
      this.endTask(task);
    } else if (r < 0.55 && task.spans.length < this.maxDepth) {
      this.openSpan(task, this.spanName());
    } else if (task.spans.length > 0) {
      this.closeSpan(task);
    } else if (task.children === 0 && task !== this.root) {
      this.endTask(task);
    } else {
      this.openSpan(task, this.spanName());
    }
  }

  /** The next line (without framing); `counts` then include it. */
  next() {
    while (this.queue.length === 0) this.step();
    const { line, delta } = this.queue.shift();
    this.counts.events++;
    if (delta) for (const k in delta) this.counts[k] += delta[k];
    return line;
  }

  /** The first half of the next line, as a stream cut mid-line shows it. */
  partial() {
    while (this.queue.length === 0) this.step();
    const { line } = this.queue[0];
    return line.slice(0, Math.floor(line.length / 2));
  }

  /** Lines that end every open span and task, children before parents. */
  closeAll() {
    const lines = [];
    const flush = () => {
      while (this.queue.length) lines.push(this.next());
    };
    flush();
    for (const task of [...this.live].reverse()) {
      while (task.spans.length) this.closeSpan(task);
      this.endTask(task);
      flush();
    }
    return lines;
  }
}

/**
 * A whole trace as text. `mode` is 'closed' (all slices ended, valid JSON),
 * 'open' (still running, no closing bracket) or 'cut' (stops inside the next
 * line). `counts` is the generator's bookkeeping for what a viewer must
 * report; `lines` are the complete event lines in the text.
 */
export function generateTrace({ events, seed = 1, mode = 'closed', ...opts }) {
  const gen = new TraceGenerator({ seed, ...opts });
  const lines = [];
  while (lines.length < events) lines.push(gen.next());
  let text = '[\n' + lines.join(',\n');
  if (mode === 'closed') {
    const tail = gen.closeAll();
    lines.push(...tail);
    if (tail.length) text += ',\n' + tail.join(',\n');
    text += '\n]\n';
  } else if (mode === 'cut') {
    text += ',\n' + gen.partial();
  }
  return { text, lines, counts: { ...gen.counts }, nodes: gen.nodes, gen };
}

/**
 * Counts computed from the lines themselves, independently of the
 * simulation's bookkeeping; generateTrace returns both so tests can check
 * that they agree.
 */
export function countsOf(lines) {
  const open = new Map();
  const pending = new Set();
  const lanes = new Set();
  let slices = 0;
  let flows = 0;
  for (const line of lines) {
    const e = JSON.parse(line);
    if (e.ph === 'M') {
      if (e.name === 'thread_name') lanes.add(e.tid);
      continue;
    }
    lanes.add(e.tid);
    if (e.ph === 'B') open.set(e.tid, (open.get(e.tid) || 0) + 1);
    else if (e.ph === 'E') {
      open.set(e.tid, open.get(e.tid) - 1);
      slices++;
    } else if (e.ph === 'X') slices++;
    else if (e.ph === 's') pending.add(`${e.cat}/${e.id}`);
    else if (e.ph === 'f' && pending.delete(`${e.cat}/${e.id}`)) flows++;
  }
  let openSlices = 0;
  for (const n of open.values()) openSlices += n;
  return { lanes: lanes.size, slices, openSlices, flows, events: lines.length };
}

async function main(argv) {
  const args = argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    args.splice(i, 1);
    return true;
  };
  const option = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const seed = Number(option('--seed') ?? 1);
  const open = flag('--open');
  const cut = flag('--cut');
  const [nText, out] = args;
  const total = Number(nText);
  if (!(total > 0) || !out) {
    console.error('usage: node gen-trace.mjs N out.json [--seed S] [--open] [--cut]');
    process.exit(2);
  }
  // Streamed to disk in large writes so millions of events fit in memory.
  const file = createWriteStream(out);
  const write = (s) => (file.write(s) ? Promise.resolve() : new Promise((r) => file.once('drain', r)));
  const gen = new TraceGenerator({ seed });
  let buf = '[\n';
  let first = true;
  let written = 0;
  const put = async (line) => {
    buf += first ? line : ',\n' + line;
    first = false;
    written++;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  };
  while (written < total) await put(gen.next());
  if (cut) buf += ',\n' + gen.partial();
  else if (!open) {
    for (const line of gen.closeAll()) await put(line);
    buf += '\n]\n';
  }
  const counts = gen.counts;
  await write(buf);
  await new Promise((r) => file.end(r));
  console.log(JSON.stringify(counts));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
