// Where events come from: files, URLs, a live websocket, pushed objects and
// other tabs. Every source ends in the same store; the viewer is told after
// each batch so it can redraw once per frame, not once per event.

import { TraceParser } from './parse.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The clock origin of an actrace stream, in its process_name metadata. */
const ORIGIN = /"origin_unix_us":\s*(\d+)/;
const TWO_POW_40 = 1099511627776;

/** Yield to the event loop so the page can paint progress between big slices. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Parse a byte stream (a ReadableStream reader, or one big buffer) into the
 * store. `progress(bytes)` is called between slices. Returns the parser's
 * finish() summary; throws TraceSyntaxError on bad input (the events before
 * the error stay in the store).
 */
export async function readStream(store, reader, progress) {
  const parser = new TraceParser(store);
  // Network chunks are small; gathering them into bigger slices keeps the
  // per-feed overhead (and the copy of an unfinished event) negligible.
  const pending = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes === 0) return;
    let buf;
    if (pending.length === 1) buf = pending[0];
    else {
      buf = new Uint8Array(pendingBytes);
      let o = 0;
      for (const c of pending) {
        buf.set(c, o);
        o += c.length;
      }
    }
    pending.length = 0;
    pendingBytes = 0;
    parser.feed(buf);
    store.version++;
  };
  let lastPaint = performance.now();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending.push(value);
    pendingBytes += value.length;
    if (pendingBytes >= 4 << 20) {
      flush();
      if (performance.now() - lastPaint > 250) {
        progress(parser.bytes);
        await pause();
        lastPaint = performance.now();
      }
    }
  }
  flush();
  return parser.finish();
}

/** A reader over one ArrayBuffer, in slices, so big files still show progress. */
export function bufferReader(buffer) {
  const bytes = new Uint8Array(buffer);
  const SLICE = 8 << 20;
  let offset = 0;
  return {
    async read() {
      if (offset >= bytes.length) return { done: true, value: undefined };
      const value = bytes.subarray(offset, Math.min(offset + SLICE, bytes.length));
      offset += value.length;
      return { done: false, value };
    },
  };
}

export async function fetchReader(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url}: HTTP ${response.status} ${response.statusText}`);
  if (response.body && response.body.getReader) return response.body.getReader();
  return bufferReader(await response.arrayBuffer());
}

/**
 * Events pushed as JS objects (window.actraceViewer.push, BroadcastChannel).
 * Returns how many were accepted; bad ones are reported as warnings naming
 * their index.
 */
export function pushObjects(store, events, where = 'pushed event') {
  if (!Array.isArray(events)) throw new TypeError('push() takes an array of trace event objects');
  const strings = store.strings;
  const str = (v) => (v === undefined || v === null ? -1 : strings.intern(typeof v === 'string' ? v : String(v)));
  const num = (v) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
  const idNum = (v) => (typeof v === 'string' ? -1 - strings.intern(v) : typeof v === 'number' ? v : 0);
  let accepted = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const at = `${where} #${i}`;
    if (e === null || typeof e !== 'object') {
      store.warn(`${at} is not an object`);
      continue;
    }
    if (e.actrace === 'dropped') {
      store.noteDropped(Number(e.count) || 0);
      continue;
    }
    if (typeof e.ph !== 'string' || e.ph.length !== 1) {
      store.warn(`${at} has no one-letter "ph"`);
      continue;
    }
    const args = e.args && typeof e.args === 'object' ? e.args : {};
    let flowId = NaN;
    if (typeof e.id === 'number') flowId = e.id;
    else if (typeof e.id === 'string') flowId = TWO_POW_40 + strings.intern(e.id);
    const ok = store.event(
      e.ph.charCodeAt(0), idNum(e.pid), idNum(e.tid), num(e.ts), num(e.dur),
      str(e.name), str(e.cat), flowId,
      str(args.id), str(args.parent), str(args.task), str(args.name), num(args.sort_index),
      typeof e.s === 'string' ? e.s : null, at,
    );
    if (ok) accepted++;
  }
  store.version++;
  return accepted;
}

/**
 * A live websocket stream (SPEC K2): each message holds whole lines of the
 * C4 stream, the first starting with "[". Reconnects with exponential
 * backoff; a new connection replays what is open (C6), which the store
 * matches against what it already holds.
 */
export class LiveSource {
  constructor(store, url, { onData, onState, onError, quietFirstFailure = false }) {
    this.store = store;
    this.url = url;
    this.onData = onData;
    this.onState = onState;
    this.onError = onError;
    this.quiet = quietFirstFailure; // auto-detection: a page without /stream is not an error
    this.attempt = 0;
    this.connections = 0;
    this.everOpened = false;
    this.closed = false;
    this.timer = 0;
    this.state = 'connecting';
    this.origin = undefined; // origin_unix_us of the first connection's stream
    this.restarts = 0; // reconnections that reached a restarted program
    this.connect();
  }

  setState(state, detail = '') {
    this.state = state;
    this.detail = detail;
    this.onState(state, detail);
  }

  connect() {
    if (this.closed) return;
    this.setState('connecting', this.url);
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.onError(new Error(`bad websocket URL ${this.url}: ${e.message}`));
      this.setState('failed', e.message);
      return;
    }
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    let parser = null;
    let first = true;
    ws.onopen = () => {
      this.everOpened = true;
      this.connections++;
      this.setState('live', this.url);
      // Everything from a second connection on starts with a replay of what is open.
      if (this.connections > 1) this.store.beginResync();
      parser = new TraceParser(this.store);
    };
    ws.onmessage = (m) => {
      if (!parser) return;
      this.attempt = 0; // data flows: the next drop starts the backoff afresh
      const bytes = typeof m.data === 'string' ? encoder.encode(m.data) : new Uint8Array(m.data);
      if (first) {
        first = false;
        this.alignClock(typeof m.data === 'string' ? m.data.slice(0, 4096) : decoder.decode(bytes.subarray(0, 4096)));
      }
      try {
        parser.feed(bytes);
      } catch (e) {
        this.onError(e);
        parser = null;
        ws.close();
        return;
      }
      this.store.version++;
      this.onData();
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (!this.everOpened && this.quiet) {
        this.setState('none', '');
        return;
      }
      // 0.5 s, 1 s, 2 s ... up to 10 s between attempts.
      const delay = Math.min(10000, 500 * 2 ** this.attempt);
      this.attempt++;
      this.setState('reconnecting', `in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempt})`);
      this.timer = setTimeout(() => this.connect(), delay);
    };
    ws.onerror = () => {}; // onclose follows and handles it
  }

  /**
   * An actrace stream starts with its process_name, whose origin_unix_us is
   * the wall-clock time of its ts 0. Reconnecting may reach another run of
   * the program (restarted on the same address), whose times start again
   * near 0: they are shifted onto the first stream's clock, so the new run is
   * drawn after the old one rather than over it. Streams without an origin
   * are taken as they are.
   */
  alignClock(text) {
    const m = ORIGIN.exec(text);
    if (!m) return;
    const origin = Number(m[1]);
    if (this.origin === undefined) this.origin = origin;
    else if (origin !== this.origin && origin - this.origin !== this.store.tsOffset) this.restarts++;
    this.store.tsOffset = origin - this.origin;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
    this.ws = null;
    this.setState('closed', '');
  }
}

/** Events from other tabs (SPEC K4): messages {events: [...]} on channel "actrace". */
export function listenBroadcast(name, onEvents) {
  if (typeof BroadcastChannel === 'undefined') return () => {};
  const channel = new BroadcastChannel(name);
  channel.onmessage = (m) => {
    const data = m.data;
    if (data && Array.isArray(data.events)) onEvents(data.events);
  };
  return () => channel.close();
}
