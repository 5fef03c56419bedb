// The viewer: page structure, sources, interaction and the public API.
//
//   import { mountViewer } from './viewer.js';
//   const v = mountViewer(document.getElementById('app'), { url: 'trace.json' });
//   v.push([{ ph: 'B', pid: 1, tid: 1, ts: 0, name: 'work' }]);
//   v.stats(); // {lanes, slices, openSlices, flows, events, loadMs, ...}
//
// Options: url (load a trace), ws (connect to a live stream), autoStream
// (try ws(s)://<host>/stream when no other source is given), broadcast
// (listen on BroadcastChannel "actrace"), globalKeys (keyboard shortcuts on
// the whole document rather than only when the viewer has focus).

import { TraceStore, OPEN } from './store.js';
import { Renderer, readTheme, laneGeometry, GUTTER, TRACKS_TOP, OVERVIEW_H, ROW_H, LANE_PAD } from './render.js';
import { readStream, bufferReader, fetchReader, pushObjects, LiveSource, listenBroadcast } from './sources.js';
import { renderDetails } from './details.js';
import { formatDuration } from './format.js';

const HELP = [
  ['Wheel, pinch', 'zoom around the pointer'],
  ['Shift + wheel, ↑ ↓', 'scroll the lanes'],
  ['Drag', 'pan (sideways and up/down)'],
  ['W / S', 'zoom in / out'],
  ['A / D, ← →', 'pan left / right'],
  ['0', 'fit the whole trace'],
  ['Click', 'select a slice and show its details'],
  ['Double-click', 'zoom to a slice'],
  ['/', 'search slice names'],
  ['Enter, N / Shift+Enter, Shift+N', 'next / previous match'],
  ['F', 'follow live: keep the newest events in view'],
  ['Esc', 'close this help, clear the selection'],
  ['?', 'show or hide this help'],
];

const TEMPLATE = `
<div class="av-toolbar">
  <button class="av-open" type="button" title="Open a trace file (JSON)">Open…</button>
  <input class="av-file" type="file" accept=".json,.trace,application/json" hidden>
  <div class="av-search" role="search">
    <input class="av-query" type="search" placeholder="Search slices  /" aria-label="Search slices by name" spellcheck="false">
    <button class="av-prev" type="button" title="Previous match (Shift+Enter)" aria-label="Previous match">‹</button>
    <button class="av-next" type="button" title="Next match (Enter)" aria-label="Next match">›</button>
    <span class="av-count" data-field="search-count"></span>
  </div>
  <button class="av-follow" type="button" aria-pressed="false" title="Keep the newest events in view (F)" hidden>Follow live</button>
  <span class="av-conn" data-field="connection" hidden></span>
  <span class="av-spacer"></span>
  <button class="av-help-btn" type="button" title="Keyboard help (?)" aria-label="Keyboard help">?</button>
</div>
<div class="av-error" role="alert" data-field="error" hidden></div>
<div class="av-notice" role="status" data-field="notice" hidden></div>
<div class="av-main">
  <div class="av-canvas-wrap" tabindex="0" aria-label="Trace timeline">
    <canvas class="av-canvas"></canvas>
    <div class="av-empty" data-field="empty">
      <p class="av-empty-title">actrace viewer</p>
      <p>Open a Chrome JSON trace with <b>Open…</b>, drop a file here,<br>
      or load one with <code>?url=trace.json</code>; watch a running program with <code>?ws=ws://host/stream</code>.</p>
      <p class="av-hint">Press <kbd>?</kbd> for keyboard help.</p>
    </div>
    <div class="av-progress" data-field="progress" hidden></div>
    <div class="av-tooltip" data-field="tooltip" hidden></div>
  </div>
  <aside class="av-details" data-field="details" hidden>
    <button class="av-close" type="button" aria-label="Close details" title="Close (Esc)">×</button>
    <div class="av-details-body"></div>
  </aside>
</div>
<div class="av-footer"><span class="av-status" data-field="status"></span><span class="av-warnings" data-field="warnings-bar"></span></div>
<div class="av-drop" hidden><div>Drop a trace file to open it</div></div>
<div class="av-help" role="dialog" aria-modal="true" aria-label="Keyboard help" data-field="help" hidden>
  <div class="av-help-box">
    <h2>Keyboard and mouse</h2>
    <table></table>
    <p class="av-hint">Unfinished slices are striped. Arrows link a task to the tasks it started.</p>
    <button class="av-help-close" type="button">Close</button>
  </div>
</div>`;

export function mountViewer(element, options = {}) {
  return new Viewer(element, options).api;
}

class Viewer {
  constructor(root, options) {
    this.root = root;
    this.options = options;
    root.classList.add('actrace-viewer');
    root.innerHTML = TEMPLATE;
    const q = (sel) => root.querySelector(sel);
    this.el = {
      wrap: q('.av-canvas-wrap'),
      canvas: q('.av-canvas'),
      file: q('.av-file'),
      query: q('.av-query'),
      count: q('.av-count'),
      follow: q('.av-follow'),
      conn: q('.av-conn'),
      status: q('.av-status'),
      warnings: q('.av-warnings'),
      error: q('.av-error'),
      notice: q('.av-notice'),
      empty: q('.av-empty'),
      progress: q('.av-progress'),
      tooltip: q('.av-tooltip'),
      details: q('.av-details'),
      detailsBody: q('.av-details-body'),
      drop: q('.av-drop'),
      help: q('.av-help'),
    };
    const table = q('.av-help table');
    for (const [keys, what] of HELP) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.textContent = keys;
      const td = document.createElement('td');
      td.textContent = what;
      tr.append(th, td);
      table.append(tr);
    }

    this.store = new TraceStore();
    this.renderer = new Renderer(this.el.canvas, this.store);
    this.renderer.setTheme(readTheme(root));
    this.view = { t0: 0, t1: 1, scrollY: 0 };
    this.userMoved = false; // until the user zooms or pans, the view fits the trace
    this.follow = false;
    this.selected = -1;
    this.hover = -1;
    this.search = { query: '', matches: null, list: [], index: -1, version: -1, time: 0 };
    this.pointer = null; // last pointer position over the canvas
    this.loadStart = 0;
    this.loadMs = null;
    this.loading = false;
    this.live = null;
    this.frame = 0;
    this.frames = 0; // frames drawn, for benchmarks
    this.statusTime = 0;
    this.statusTimer = 0;
    this.detailsVersion = -1;
    this.detailsTime = 0;
    this.sourceName = '';
    this.cleanups = [];

    this.bindUi();
    this.api = this.makeApi();
    this.resize();

    if (options.broadcast !== false) {
      this.cleanups.push(listenBroadcast(options.channel || 'actrace', (events) => this.push(events, 'event from another tab')));
    }
    if (options.url) this.loadUrl(options.url);
    else if (options.ws) this.connect(options.ws, false);
    else if (options.autoStream && location.protocol !== 'file:') {
      // Served by a traced program? Its /stream is on the same origin.
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.connect(`${proto}//${location.host}/stream`, true);
    }
  }

  makeApi() {
    const v = this;
    return {
      push: (events) => v.push(events),
      stats: () => v.stats(),
      loadUrl: (url) => v.loadUrl(url),
      loadFile: (file) => v.loadFile(file),
      loadText: (text, name) => v.loadBuffer(new TextEncoder().encode(text), name || 'text'),
      connect: (url) => v.connect(url, false),
      clear: () => v.reset(),
      destroy: () => v.destroy(),
      // Hooks for tests and debugging.
      view: () => ({ ...v.view, follow: v.follow, tMin: v.store.tMin, tMax: v.store.tMax }),
      setView: (t0, t1) => {
        v.view.t0 = t0;
        v.view.t1 = t1;
        v.userMoved = true;
        v.drawNow();
      },
      selected: () => v.selected,
      select: (s) => v.select(s),
      findSlices: (name) => {
        const out = [];
        const store = v.store;
        for (let s = 0; s < store.count; s++) if (store.strings.get(store.sName[s]) === name) out.push(s);
        return out;
      },
      /** Start time (µs) of slice `s`, on the viewer's clock. */
      sliceStart: (s) => v.store.sStart[s],
      /** Centre of a slice on screen (client coordinates), or null if off screen. */
      slicePosition: (s) => v.slicePosition(s),
      frameTimes: (n, step) => v.frameTimes(n, step),
      drawNow: () => v.drawNow(),
    };
  }

  // --- Sources ---------------------------------------------------------------

  reset() {
    if (this.live) this.live.close();
    this.live = null;
    this.store = new TraceStore();
    this.lowerNames = null;
    this.renderer.store = this.store;
    this.renderer.nameColour = new Int8Array(0);
    this.renderer.histogram = null;
    this.view = { t0: 0, t1: 1, scrollY: 0 };
    this.userMoved = false;
    this.follow = false;
    this.selected = -1;
    this.hover = -1;
    this.loadMs = null;
    this.loadStart = 0;
    this.el.details.hidden = true;
    this.el.error.hidden = true;
    this.el.notice.hidden = true;
    this.el.conn.hidden = true;
    this.el.follow.hidden = true;
    this.search.version = -1;
    this.runSearch();
    this.requestDraw();
  }

  async loadUrl(url) {
    return this.load(url, () => fetchReader(url));
  }

  async loadFile(file) {
    return this.load(file.name, async () => bufferReader(await file.arrayBuffer()));
  }

  async loadBuffer(bytes, name) {
    return this.load(name, async () => bufferReader(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
  }

  async load(name, getReader) {
    this.reset();
    this.sourceName = name;
    this.loadStart = performance.now();
    this.loading = true;
    this.showProgress(`Loading ${name}…`);
    let summary = null;
    try {
      const reader = await getReader();
      summary = await readStream(this.store, reader, (bytes) => this.showProgress(`Loading ${name}: ${(bytes / 1e6).toFixed(0)} MB read…`));
    } catch (e) {
      this.showError(e, name);
    }
    this.loading = false;
    this.el.progress.hidden = true;
    if (summary) {
      if (summary.cut) {
        this.showNotice(`${name} ends in the middle of an event (line ${summary.cutLine}): showing everything up to the last complete event.`);
      } else if (!summary.closed && this.store.events > 0) {
        this.showNotice(`${name} is not closed (no final "]"): it was probably still being written. Unfinished slices are striped.`);
      }
      if (this.store.events === 0 && this.el.error.hidden) this.showNotice(`${name} contains no events this viewer can show.`);
    }
    // First full render, then the load time that stats() reports.
    this.drawNow();
    this.loadMs = performance.now() - this.loadStart;
    this.updateStatus(true);
    return this.stats();
  }

  connect(url, quiet) {
    this.reset();
    this.sourceName = url;
    this.loadStart = performance.now();
    this.follow = true;
    this.live = new LiveSource(this.store, url, {
      quietFirstFailure: quiet,
      onData: () => this.requestDraw(),
      onState: (state, detail) => this.connectionState(state, detail),
      onError: (e) => this.showError(e, url),
    });
  }

  connectionState(state, detail) {
    const conn = this.el.conn;
    conn.dataset.state = state;
    if (state === 'none') {
      // Auto-detection found no stream: this is a plain static page.
      conn.hidden = true;
      this.follow = false;
      this.live = null;
      this.drawNow();
      return;
    }
    conn.hidden = false;
    this.el.follow.hidden = false;
    const text = {
      connecting: 'connecting…',
      live: 'live',
      reconnecting: `disconnected, retrying ${detail}`,
      failed: `cannot connect: ${detail}`,
      closed: 'closed',
    }[state];
    conn.textContent = text || state;
    conn.title = this.live ? this.live.url : '';
    this.updateFollowButton();
  }

  push(events, where = 'pushed event') {
    if (this.store.events === 0 && this.loadMs === null && !this.loadStart) this.loadStart = performance.now();
    let n = 0;
    try {
      n = pushObjects(this.store, events, where);
    } catch (e) {
      this.showError(e, 'push()');
    }
    this.requestDraw();
    return n;
  }

  destroy() {
    if (this.live) this.live.close();
    for (const c of this.cleanups) c();
    cancelAnimationFrame(this.frame);
    this.root.replaceChildren();
  }

  stats() {
    const s = this.store;
    return {
      lanes: s.laneCount(),
      slices: s.completed,
      openSlices: s.openSlices,
      flows: s.flowPairs,
      events: s.events,
      loadMs: this.loadMs,
      loadStartMs: this.loadStart,
      instants: s.iTs.n,
      dropped: s.dropped,
      warnings: s.warnings,
      firstWarning: s.firstWarning,
      gapClosed: s.gapClosed,
      connection: this.live ? this.live.state : null,
      connections: this.live ? this.live.connections : 0,
      restarts: this.live ? this.live.restarts : 0,
      frameMs: this.renderer.lastFrameMs,
      frames: this.frames,
      rects: this.renderer.lastRects,
      drawn: this.renderer.lastDrawn,
      loading: this.loading,
    };
  }

  // --- Messages --------------------------------------------------------------

  showError(e, name) {
    const el = this.el.error;
    const what = e && e.name === 'TraceSyntaxError' ? `is not a valid trace: ${e.message}` : `failed: ${e && e.message ? e.message : e}`;
    const kept = this.store.events ? ` Showing the ${this.store.events.toLocaleString('en')} events read before the problem.` : '';
    el.textContent = `${name} ${what}.${kept}`;
    el.hidden = false;
    this.el.progress.hidden = true;
    this.requestDraw();
  }

  showNotice(text) {
    this.el.notice.textContent = text;
    this.el.notice.hidden = false;
  }

  showProgress(text) {
    this.el.progress.textContent = text;
    this.el.progress.hidden = false;
  }

  updateStatus(force) {
    const now = performance.now();
    if (!force && now - this.statusTime < 250) {
      // Throttled while data streams in; a trailing update shows the final numbers.
      if (!this.statusTimer) {
        this.statusTimer = setTimeout(() => {
          this.statusTimer = 0;
          this.updateStatus(true);
        }, 260);
      }
      return;
    }
    this.statusTime = now;
    const s = this.store;
    const parts = [];
    if (s.events) {
      parts.push(`${s.events.toLocaleString('en')} events`, `${s.laneCount()} lanes`, `${s.completed.toLocaleString('en')} slices`);
      if (s.openSlices) parts.push(`${s.openSlices} unfinished`);
      if (s.flowPairs) parts.push(`${s.flowPairs.toLocaleString('en')} flows`);
      if (this.loadMs !== null && !this.live) parts.push(`loaded in ${Math.round(this.loadMs)} ms`);
    }
    this.el.status.textContent = parts.join(' · ');
    const bar = this.el.warnings;
    bar.replaceChildren();
    const add = (field, text) => {
      const w = document.createElement('span');
      w.className = 'av-warn';
      w.dataset.field = field;
      w.textContent = text;
      bar.append(w);
    };
    if (s.dropped) add('dropped', `⚠ ${s.dropped.toLocaleString('en')} events dropped by the server`);
    if (s.gapClosed) add('gap', `⚠ ${s.gapClosed} slices ended while disconnected`);
    if (s.warnings) add('warnings', `⚠ ${s.warnings} events skipped (first: ${s.firstWarning})`);
    const ignored = [...s.ignored].map(([ph, n]) => `${n} "${String.fromCharCode(ph)}"`).join(', ');
    if (ignored) add('ignored', `${ignored} events not shown (unsupported type)`);
  }

  // --- View --------------------------------------------------------------------

  span() {
    return Math.max(1, this.renderer.width - GUTTER);
  }

  fit() {
    const s = this.store;
    if (!(s.tMax >= s.tMin)) return;
    const w = Math.max(s.tMax - s.tMin, 1e-3);
    this.view.t0 = s.tMin - w * 0.01;
    this.view.t1 = s.tMax + w * 0.01;
  }

  /** Keep the view sensible as data arrives: fitted, or following the newest events. */
  updateView() {
    const s = this.store;
    if (!(s.tMax >= s.tMin)) return;
    if (!this.userMoved) this.fit();
    else if (this.follow && this.live) {
      const w = this.view.t1 - this.view.t0;
      this.view.t1 = s.tMax + w * 0.02;
      this.view.t0 = this.view.t1 - w;
    }
    const geo = laneGeometry(s);
    const max = Math.max(0, geo.height - (this.renderer.height - TRACKS_TOP) + 20);
    this.view.scrollY = Math.min(Math.max(0, this.view.scrollY), max);
  }

  zoomAt(x, factor) {
    const v = this.view;
    const w = v.t1 - v.t0;
    const s = this.store;
    const maxW = Math.max((s.tMax - s.tMin) * 4, 1);
    const nw = Math.min(Math.max(w * factor, 1e-3), maxW);
    if (this.follow && this.live) {
      v.t0 = v.t1 - nw; // following: the newest edge stays put
    } else {
      const f = Math.min(Math.max((x - GUTTER) / this.span(), 0), 1);
      const t = v.t0 + f * w;
      v.t0 = t - f * nw;
      v.t1 = v.t0 + nw;
    }
    this.userMoved = true;
    this.requestDraw();
  }

  panPixels(dx, dy) {
    const v = this.view;
    const dt = (dx * (v.t1 - v.t0)) / this.span();
    v.t0 += dt;
    v.t1 += dt;
    v.scrollY += dy;
    this.userMoved = true;
    if (dx !== 0 && this.follow) {
      this.follow = false; // the user looks elsewhere
      this.updateFollowButton();
    }
    this.requestDraw();
  }

  setFollow(on) {
    this.follow = on;
    if (on) this.userMoved = true;
    this.updateFollowButton();
    this.requestDraw();
  }

  updateFollowButton() {
    this.el.follow.setAttribute('aria-pressed', String(this.follow));
    this.el.follow.classList.toggle('on', this.follow);
  }

  /** Bring slice s into view, zooming if it is too wide or too thin to see. */
  reveal(s) {
    const st = this.store;
    const a = st.sStart[s];
    const b = st.endOf(s);
    const v = this.view;
    let w = v.t1 - v.t0;
    const d = b - a;
    if (d > w * 0.9) w = d * 1.25;
    else if (d > 0 && d < (w / this.span()) * 4) w = Math.max(d * 8, 1e-3);
    if (a < v.t0 || b > v.t1 || w !== v.t1 - v.t0) {
      v.t0 = (a + b) / 2 - w / 2;
      v.t1 = v.t0 + w;
    }
    const geo = laneGeometry(st);
    const o = geo.order.indexOf(st.sLane[s]);
    if (o >= 0) {
      const y = geo.ys[o] + LANE_PAD + st.sDepth[s] * ROW_H;
      const visible = this.renderer.height - TRACKS_TOP;
      if (y < v.scrollY || y + ROW_H > v.scrollY + visible) v.scrollY = Math.max(0, y - visible / 3);
    }
    this.userMoved = true;
    if (this.follow) this.setFollow(false);
    this.requestDraw();
  }

  slicePosition(s) {
    this.drawNow();
    const st = this.store;
    const geo = this.renderer.geometry;
    const o = geo.order.indexOf(st.sLane[s]);
    if (o < 0) return null;
    const v = this.view;
    const k = this.span() / (v.t1 - v.t0);
    const xa = Math.max(GUTTER, GUTTER + (st.sStart[s] - v.t0) * k);
    const xb = Math.min(this.renderer.width, GUTTER + (st.endOf(s) - v.t0) * k);
    const y = TRACKS_TOP - v.scrollY + geo.ys[o] + LANE_PAD + st.sDepth[s] * ROW_H + ROW_H / 2;
    if (xb < xa || y < TRACKS_TOP || y > this.renderer.height) return null;
    const r = this.el.canvas.getBoundingClientRect();
    return { x: r.left + (xa + xb) / 2, y: r.top + y };
  }

  // --- Selection, details, search ------------------------------------------------

  select(s) {
    this.selected = s;
    const panel = this.el.details;
    if (s < 0 || s >= this.store.count) {
      this.selected = -1;
      panel.hidden = true;
    } else {
      renderDetails(this.el.detailsBody, this.store, s, (c) => {
        this.select(c);
        this.reveal(c);
      });
      this.detailsVersion = this.store.version;
      panel.hidden = false;
    }
    this.requestDraw();
  }

  runSearch() {
    const query = this.el.query.value.trim().toLowerCase();
    const st = this.store;
    const search = this.search;
    const keep = search.list[search.index];
    search.query = query;
    search.version = st.version;
    search.time = performance.now();
    if (!query) {
      search.matches = null;
      search.list = [];
      search.index = -1;
      this.el.count.textContent = '';
      this.requestDraw();
      return;
    }
    // Match each name used by a slice once, then pick slices by name id.
    const n = st.strings.size;
    const used = new Uint8Array(n + 1);
    for (let s = 0; s < st.count; s++) used[st.sName[s] + 1] = 1;
    const matches = new Uint8Array(n + 1);
    const lower = this.lowerNames || (this.lowerNames = []);
    for (let i = 0; i < n; i++) {
      if (!used[i + 1]) continue;
      let text = lower[i];
      if (text === undefined) text = lower[i] = st.strings.get(i).toLowerCase();
      if (text.includes(query)) matches[i] = 1;
    }
    const list = [];
    for (let s = 0; s < st.count; s++) if (matches[st.sName[s]]) list.push(s);
    list.sort((a, b) => st.sStart[a] - st.sStart[b] || a - b);
    search.matches = matches;
    search.list = list;
    search.index = keep !== undefined ? list.indexOf(keep) : -1;
    this.showSearchCount();
    this.requestDraw();
  }

  showSearchCount() {
    const { list, index } = this.search;
    this.el.count.textContent = list.length === 0 ? 'no matches' : index >= 0 ? `${index + 1} / ${list.length}` : `${list.length} matches`;
    this.el.count.classList.toggle('none', list.length === 0);
  }

  nextMatch(dir) {
    if (this.search.query !== this.el.query.value.trim().toLowerCase()) this.runSearch();
    const { list } = this.search;
    if (!list.length) return;
    const n = list.length;
    this.search.index = this.search.index < 0 ? (dir > 0 ? 0 : n - 1) : (this.search.index + dir + n) % n;
    const s = list[this.search.index];
    this.select(s);
    this.reveal(s);
    this.showSearchCount();
  }

  // --- Drawing -------------------------------------------------------------------

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawNow();
    });
  }

  drawNow() {
    this.frames++;
    const st = this.store;
    this.updateView();
    const hasData = st.events > 0;
    this.el.empty.hidden = hasData || this.loading || !!this.live;
    this.renderer.draw(this.view, {
      selected: this.selected,
      hover: this.hover,
      matches: this.search.matches,
      liveEnd: undefined,
    });
    if (hasData && this.loadMs === null && !this.loading && this.loadStart) this.loadMs = performance.now() - this.loadStart;
    this.updateStatus(false);
    // Live data: keep search results and an unfinished selection current.
    const now = performance.now();
    if (this.search.query && this.search.version !== st.version && now - this.search.time > 500) this.runSearch();
    if (this.selected >= 0 && this.detailsVersion !== st.version && now - this.detailsTime > 500) {
      this.detailsTime = now;
      if (st.sFlags[this.selected] & OPEN) this.select(this.selected);
    }
  }

  resize() {
    const r = this.el.wrap.getBoundingClientRect();
    this.renderer.resize(Math.max(200, Math.floor(r.width)), Math.max(120, Math.floor(r.height)), window.devicePixelRatio || 1);
    this.drawNow();
  }

  /** Benchmark hook: time n synchronous frames, each panning by `step` of the window. */
  frameTimes(n = 60, step = 0.02) {
    const times = [];
    for (let i = 0; i < n; i++) {
      if (i % 2) this.panPixels(step * this.span() * (i % 4 === 1 ? 1 : -1), 0);
      else this.zoomAt(GUTTER + this.span() / 2, i % 4 === 0 ? 0.9 : 1 / 0.9);
      const t = performance.now();
      this.drawNow();
      times.push(performance.now() - t);
    }
    return times;
  }

  // --- Input ----------------------------------------------------------------------

  bindUi() {
    const el = this.el;
    const on = (target, type, fn, opts) => {
      target.addEventListener(type, fn, opts);
      this.cleanups.push(() => target.removeEventListener(type, fn, opts));
    };
    on(this.root.querySelector('.av-open'), 'click', () => el.file.click());
    on(el.file, 'change', () => {
      if (el.file.files[0]) this.loadFile(el.file.files[0]);
      el.file.value = '';
    });
    on(this.root.querySelector('.av-help-btn'), 'click', () => this.toggleHelp());
    on(this.root.querySelector('.av-help-close'), 'click', () => this.toggleHelp(false));
    on(el.help, 'click', (e) => {
      if (e.target === el.help) this.toggleHelp(false);
    });
    on(this.root.querySelector('.av-close'), 'click', () => this.select(-1));
    on(el.follow, 'click', () => this.setFollow(!this.follow));
    on(this.root.querySelector('.av-prev'), 'click', () => this.nextMatch(-1));
    on(this.root.querySelector('.av-next'), 'click', () => this.nextMatch(1));
    let searchTimer = 0;
    on(el.query, 'input', () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => this.runSearch(), 120);
    });
    on(el.query, 'keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        clearTimeout(searchTimer);
        this.nextMatch(e.shiftKey ? -1 : 1);
      } else if (e.key === 'Escape') {
        el.query.blur();
        el.wrap.focus();
      }
    });

    // Drag and drop anywhere on the page (or on the viewer when embedded).
    const dropTarget = this.options.globalKeys === false ? this.root : document;
    let dragDepth = 0;
    on(dropTarget, 'dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      dragDepth++;
      el.drop.hidden = false;
    });
    on(dropTarget, 'dragover', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    on(dropTarget, 'dragleave', () => {
      if (--dragDepth <= 0) {
        dragDepth = 0;
        el.drop.hidden = true;
      }
    });
    on(dropTarget, 'drop', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      dragDepth = 0;
      el.drop.hidden = true;
      const file = e.dataTransfer.files[0];
      if (file) this.loadFile(file);
    });

    // Pointer: drag to pan, click to select, two fingers to pinch.
    const wrap = el.wrap;
    const pointers = new Map();
    let drag = null;
    let pinch = 0;
    on(wrap, 'pointerdown', (e) => {
      if (e.button !== 0) return;
      wrap.focus({ preventScroll: true });
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      wrap.setPointerCapture(e.pointerId);
      const p = this.local(e);
      if (pointers.size === 2) {
        pinch = pinchDistance(pointers);
        drag = null;
        return;
      }
      drag = { x: p.x, y: p.y, lastX: p.x, lastY: p.y, moved: false, overview: p.y < OVERVIEW_H && p.x >= GUTTER };
      if (drag.overview) this.overviewJump(p.x);
    });
    on(wrap, 'pointermove', (e) => {
      const p = this.local(e);
      this.pointer = p;
      if (pointers.has(e.pointerId)) pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pointers.size === 2 && pinch) {
        const d = pinchDistance(pointers);
        const mid = [...pointers.values()].reduce((a, b) => a + b.x, 0) / 2 - wrap.getBoundingClientRect().left;
        this.zoomAt(mid, pinch / d);
        pinch = d;
        return;
      }
      if (drag) {
        if (Math.abs(p.x - drag.x) + Math.abs(p.y - drag.y) > 3) drag.moved = true;
        if (drag.overview) this.overviewJump(p.x);
        else if (drag.moved) this.panPixels(drag.lastX - p.x, drag.lastY - p.y);
        drag.lastX = p.x;
        drag.lastY = p.y;
        this.hideTooltip();
        return;
      }
      this.hoverAt(p, e);
    });
    const up = (e) => {
      pointers.delete(e.pointerId);
      if (pointers.size < 2) pinch = 0;
      if (drag && !drag.moved && !drag.overview && e.type === 'pointerup') {
        const p = this.local(e);
        const hit = this.renderer.hit(p.x, p.y, this.view);
        this.select(hit.slice);
      }
      drag = null;
    };
    on(wrap, 'pointerup', up);
    on(wrap, 'pointercancel', up);
    on(wrap, 'pointerleave', () => {
      this.pointer = null;
      this.hideTooltip();
      if (this.hover >= 0) {
        this.hover = -1;
        this.requestDraw();
      }
    });
    on(wrap, 'dblclick', (e) => {
      const p = this.local(e);
      const hit = this.renderer.hit(p.x, p.y, this.view);
      if (hit.slice < 0) return;
      const a = this.store.sStart[hit.slice];
      const b = this.store.endOf(hit.slice);
      const pad = Math.max((b - a) * 0.1, 1e-3);
      this.view.t0 = a - pad;
      this.view.t1 = b + pad;
      this.userMoved = true;
      if (this.follow) this.setFollow(false);
      this.requestDraw();
    });
    on(wrap, 'wheel', (e) => {
      e.preventDefault();
      const p = this.local(e);
      const scale = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      const dx = e.deltaX * scale;
      const dy = e.deltaY * scale;
      if (e.shiftKey && !e.ctrlKey) {
        this.panPixels(0, dy || dx);
        return;
      }
      // Trackpad pinches arrive as ctrl+wheel with small deltas.
      if (dy) this.zoomAt(p.x, Math.exp(dy * (e.ctrlKey ? 0.01 : 0.0018)));
      if (dx && !e.ctrlKey) this.panPixels(dx, 0);
    }, { passive: false });

    const keyTarget = this.options.globalKeys === false ? this.root : document;
    on(keyTarget, 'keydown', (e) => this.onKey(e));

    const ro = new ResizeObserver(() => this.resize());
    ro.observe(el.wrap);
    this.cleanups.push(() => ro.disconnect());
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const themeChanged = () => {
      this.renderer.setTheme(readTheme(this.root));
      this.requestDraw();
    };
    on(mq, 'change', themeChanged);
  }

  local(e) {
    const r = this.el.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  overviewJump(x) {
    const st = this.store;
    if (!(st.tMax > st.tMin)) return;
    const t = st.tMin + ((x - GUTTER) / this.span()) * (st.tMax - st.tMin);
    const w = this.view.t1 - this.view.t0;
    this.view.t0 = t - w / 2;
    this.view.t1 = t + w / 2;
    this.userMoved = true;
    if (this.follow) this.setFollow(false);
    this.requestDraw();
  }

  hoverAt(p, e) {
    const hit = this.renderer.hit(p.x, p.y, this.view);
    if (hit.slice !== this.hover) {
      this.hover = hit.slice;
      this.requestDraw();
    }
    const tip = this.el.tooltip;
    if (hit.slice < 0) {
      this.hideTooltip();
      return;
    }
    const st = this.store;
    const s = hit.slice;
    const name = st.strings.get(st.sName[s]) || '(unnamed)';
    const dur = st.endOf(s) - st.sStart[s];
    const open = st.sFlags[s] & OPEN;
    tip.replaceChildren();
    const b = document.createElement('b');
    b.textContent = name;
    const d = document.createElement('div');
    d.textContent = open ? `unfinished, ≥ ${formatDuration(dur)} so far` : formatDuration(dur);
    const l = document.createElement('div');
    l.className = 'av-tip-lane';
    l.textContent = st.lanes[st.sLane[s]].label;
    tip.append(b, d, l);
    tip.hidden = false;
    const wrapRect = this.el.wrap.getBoundingClientRect();
    const x = e.clientX - wrapRect.left;
    const y = e.clientY - wrapRect.top;
    const tw = tip.offsetWidth;
    tip.style.left = `${Math.min(x + 14, wrapRect.width - tw - 4)}px`;
    tip.style.top = `${y + 16}px`;
  }

  hideTooltip() {
    this.el.tooltip.hidden = true;
  }

  toggleHelp(show = this.el.help.hidden) {
    this.el.help.hidden = !show;
    if (show) this.root.querySelector('.av-help-close').focus();
    else this.el.wrap.focus({ preventScroll: true });
  }

  onKey(e) {
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const x = this.pointer ? this.pointer.x : GUTTER + this.span() / 2;
    const span = this.span();
    switch (e.key) {
      case '?':
        this.toggleHelp();
        break;
      case 'Escape':
        if (!this.el.help.hidden) this.toggleHelp(false);
        else this.select(-1);
        break;
      case 'w':
      case 'W':
        this.zoomAt(x, 0.8);
        break;
      case 's':
      case 'S':
        this.zoomAt(x, 1.25);
        break;
      case 'a':
      case 'A':
      case 'ArrowLeft':
        this.panPixels(-span * 0.15, 0);
        break;
      case 'd':
      case 'D':
      case 'ArrowRight':
        this.panPixels(span * 0.15, 0);
        break;
      case 'ArrowUp':
        this.panPixels(0, -ROW_H * 3);
        break;
      case 'ArrowDown':
        this.panPixels(0, ROW_H * 3);
        break;
      case 'PageUp':
        this.panPixels(0, -(this.renderer.height - TRACKS_TOP) * 0.9);
        break;
      case 'PageDown':
        this.panPixels(0, (this.renderer.height - TRACKS_TOP) * 0.9);
        break;
      case '0':
        this.userMoved = false;
        if (this.follow) this.setFollow(false);
        this.requestDraw();
        break;
      case 'f':
      case 'F':
        if (this.live) this.setFollow(!this.follow);
        break;
      case 'n':
        this.nextMatch(1);
        break;
      case 'N':
        this.nextMatch(-1);
        break;
      case '/':
        this.el.query.focus();
        this.el.query.select();
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}

function hasFiles(e) {
  return e.dataTransfer && [...e.dataTransfer.types].includes('Files');
}

function pinchDistance(pointers) {
  const [a, b] = [...pointers.values()];
  return Math.hypot(a.x - b.x, a.y - b.y) || 1;
}
