// Canvas drawing of a TraceStore: overview strip, time ruler, lanes with
// nested slices, instants and flow arrows. One canvas, no DOM per slice.
//
// Speed comes from three things: only rows that are on screen are visited;
// each row finds its first visible slice by binary search; and slices
// narrower than a pixel are merged, jumping over everything else that starts
// inside the same pixel with another binary search (level of detail), so a
// frame costs about O(pixels x log slices) however large the trace is.

import { OPEN, GAP, firstEndingAfter, firstStartingAtOrAfter } from './store.js';
import { formatDuration, formatTime } from './format.js';

export const OVERVIEW_H = 38;
export const RULER_H = 22;
export const TRACKS_TOP = OVERVIEW_H + RULER_H;
export const ROW_H = 18;
export const LANE_PAD = 5;
export const GUTTER = 210;
const MAX_FLOWS = 400; // more arrows than this on screen are not drawn

const LIGHT_HUES = [210, 150, 30, 280, 0, 190, 95, 330, 50, 250, 170, 15];

export function readTheme(element) {
  const css = getComputedStyle(element);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const palette = LIGHT_HUES.map((h) => (dark ? `hsl(${h} 45% 38%)` : `hsl(${h} 62% 78%)`));
  return {
    dark,
    bg: v('--bg', dark ? '#16181c' : '#ffffff'),
    fg: v('--fg', dark ? '#e6e6e6' : '#1d1f23'),
    muted: v('--muted', dark ? '#9aa0a6' : '#5f6368'),
    grid: v('--grid', dark ? '#2c3036' : '#e3e5e8'),
    laneAlt: v('--lane-alt', dark ? '#1c1f24' : '#f6f7f9'),
    sel: v('--sel', dark ? '#ffd54a' : '#1a56db'),
    match: v('--match', dark ? '#ff9800' : '#e8590c'),
    flow: v('--flow', dark ? 'rgba(170,180,255,0.55)' : 'rgba(50,60,150,0.5)'),
    overview: v('--overview', dark ? '#4a78c2' : '#6b93d6'),
    window: v('--window', dark ? 'rgba(255,255,255,0.14)' : 'rgba(26,86,219,0.14)'),
    sliceText: dark ? '#f2f2f2' : '#15171a',
    merged: dark ? 'hsl(220 10% 45%)' : 'hsl(220 10% 62%)',
    palette,
    font: '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    labelFont: '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  };
}

/** Vertical placement of lanes, in CSS pixels relative to the tracks' top. */
export function laneGeometry(store) {
  const { order, indent } = store.laneOrder();
  const ys = new Float64Array(order.length + 1);
  let y = 0;
  for (let k = 0; k < order.length; k++) {
    ys[k] = y;
    const rows = Math.max(1, store.lanes[order[k]].rows.length);
    y += rows * ROW_H + LANE_PAD * 2;
  }
  ys[order.length] = y;
  return { order, indent, ys, height: y };
}

export class Renderer {
  /** @param {HTMLCanvasElement} canvas @param {import('./store.js').TraceStore} store */
  constructor(canvas, store) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { alpha: false });
    this.store = store;
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
    this.nameColour = new Int8Array(0);
    this.nameWidth = new Float32Array(0);
    this.histogram = null;
    this.histogramVersion = -1;
    this.histogramTime = 0;
    // Per colour, rectangles collected during a frame and drawn in one go.
    this.batches = [];
    this.geometry = null;
    this.lastFrameMs = 0;
  }

  setTheme(theme) {
    this.theme = theme;
    this.batches = theme.palette.map(() => ({ r: new Float32Array(4096), n: 0 }));
    this.mergedBatch = { r: new Float32Array(4096), n: 0 };
    this.stripes = makeStripes(this.ctx, theme.dark);
    this.ctx.font = theme.font;
    this.charWidth = this.ctx.measureText('abcdefghijklmnopqrstuvwxyz0123456789').width / 36;
  }

  resize(width, height, dpr) {
    this.width = width;
    this.height = height;
    this.dpr = dpr;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = width + 'px';
    this.canvas.style.height = height + 'px';
  }

  colourOf(name) {
    if (name >= this.nameColour.length) {
      const size = Math.max(this.store.strings.size, name + 1) * 2;
      const next = new Int8Array(size).fill(-1);
      next.set(this.nameColour);
      this.nameColour = next;
    }
    let c = this.nameColour[name];
    if (c < 0) {
      // Colour by the first word, so "read a" and "read b" look alike.
      const text = this.store.strings.get(name) || '';
      const word = text.split(' ', 1)[0];
      let h = 0;
      for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + word.charCodeAt(i)) | 0;
      c = this.nameColour[name] = (h >>> 0) % this.theme.palette.length;
    }
    return c;
  }

  /**
   * Draw one frame. `view` = {t0, t1, scrollY}; `ui` = {selected, hover,
   * matches (Uint8Array over name ids or null), liveEnd}.
   */
  draw(view, ui) {
    const t0Frame = performance.now();
    const store = this.store;
    store.layout();
    const ctx = this.ctx;
    const th = this.theme;
    const W = this.width;
    const H = this.height;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = th.bg;
    ctx.fillRect(0, 0, W, H);
    const geo = (this.geometry = laneGeometry(store));
    if (!(view.t1 > view.t0)) return;
    const X0 = GUTTER;
    const span = W - X0;
    const k = span / (view.t1 - view.t0);

    // Lanes visible vertically.
    const top = TRACKS_TOP - view.scrollY;
    let first = upperBound(geo.ys, view.scrollY) - 1;
    if (first < 0) first = 0;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, TRACKS_TOP, W, H - TRACKS_TOP);
    ctx.clip();
    // Backgrounds and grid.
    for (let o = first; o < geo.order.length && top + geo.ys[o] < H; o++) {
      if (o % 2 === 1) {
        ctx.fillStyle = th.laneAlt;
        ctx.fillRect(0, top + geo.ys[o], W, geo.ys[o + 1] - geo.ys[o]);
      }
    }
    this.drawGrid(view, k, TRACKS_TOP, H);

    for (const b of this.batches) b.n = 0;
    this.mergedBatch.n = 0;
    const labels = [];
    const marks = []; // outlines: [x, y, w, kind]
    const opens = [];
    const start = store.sStart;
    const end = store.sEnd;
    const names = store.sName;
    const flags = store.sFlags;
    const tEnd = ui.liveEnd !== undefined ? Math.max(ui.liveEnd, store.tMax) : store.tMax;
    const t0 = view.t0;
    const t1 = view.t1;
    const matches = ui.matches;
    let drawn = 0;
    for (let o = first; o < geo.order.length; o++) {
      const laneTop = top + geo.ys[o];
      if (laneTop >= H) break;
      const lane = store.lanes[geo.order[o]];
      for (let d = 0; d < lane.rows.length; d++) {
        const y = laneTop + LANE_PAD + d * ROW_H;
        if (y + ROW_H < TRACKS_TOP || y >= H) continue;
        const row = lane.rows[d];
        const a = row.a;
        let i = firstEndingAfter(store, row, t0);
        while (i < row.n) {
          const s = a[i];
          const st = start[s];
          if (st >= t1) break;
          let en = end[s];
          if (en === Infinity) en = tEnd > st ? tEnd : st;
          let xs = X0 + (st - t0) * k;
          let xe = X0 + (en - t0) * k;
          if (xe - xs < 1) {
            // Sub-pixel: one mark for everything that starts in this pixel.
            const px = Math.floor(xs);
            let j = firstStartingAtOrAfter(store, row, t0 + (px + 1 - X0) / k, i + 1);
            const lastEnd = end[a[j - 1]];
            if (j - 1 > i && X0 + (lastEnd - t0) * k > px + 2) j--; // a wide one: drawn on its own
            const xEnd = Math.max(px + 1, X0 + (Math.min(end[a[j - 1]], tEnd) - t0) * k);
            // Sub-pixel slices are drawn in one neutral colour so that
            // neighbours merge into runs (see push); colour returns as soon
            // as a slice is a pixel wide.
            push(this.mergedBatch, px, y, xEnd - px, ROW_H - 1);
            drawn += j - i;
            i = j;
            continue;
          }
          if (xs < X0 - 2) xs = X0 - 2;
          if (xe > W + 2) xe = W + 2;
          const w = xe - xs;
          push(this.batches[this.colourOf(names[s])], xs, y, w > 2 ? w - 0.5 : w, ROW_H - 1);
          if (flags[s] & (OPEN | GAP)) opens.push(xs, y, w, flags[s]);
          if (w > 22) labels.push(s, xs, y, w);
          if (matches !== null && matches[names[s]]) marks.push(xs, y, w, 1);
          drawn++;
          i++;
        }
      }
      // Instants of this lane: small triangles on its first row.
      if (lane.instants.n) this.drawInstants(lane, laneTop + LANE_PAD, view, k);
    }
    let rects = this.mergedBatch.n / 4;
    for (const b of this.batches) rects += b.n / 4;
    this.lastRects = rects;
    for (let c = 0; c < this.batches.length; c++) {
      const b = this.batches[c];
      if (b.n === 0) continue;
      ctx.fillStyle = th.palette[c];
      fillBatch(ctx, b);
    }
    if (this.mergedBatch.n) {
      ctx.fillStyle = th.merged;
      fillBatch(ctx, this.mergedBatch);
    }
    // Unfinished slices: diagonal stripes, and a ragged right edge marker.
    for (let q = 0; q < opens.length; q += 4) {
      ctx.fillStyle = this.stripes;
      ctx.fillRect(opens[q], opens[q + 1], opens[q + 2], ROW_H - 1);
      const xr = opens[q] + opens[q + 2];
      if (xr <= W) {
        ctx.fillStyle = th.fg;
        ctx.beginPath();
        ctx.moveTo(xr - 6, opens[q + 1] + 2);
        ctx.lineTo(xr, opens[q + 1] + (ROW_H - 1) / 2);
        ctx.lineTo(xr - 6, opens[q + 1] + ROW_H - 3);
        ctx.fill();
      }
    }
    this.drawLabels(labels);
    ctx.lineWidth = 2;
    ctx.strokeStyle = th.match;
    for (let q = 0; q < marks.length; q += 4) ctx.strokeRect(marks[q] + 1, marks[q + 1] + 1, Math.max(marks[q + 2] - 2, 1), ROW_H - 3);
    this.outline(ui.hover, view, k, top, geo, th.muted, 1);
    this.outline(ui.selected, view, k, top, geo, th.sel, 2.5);
    this.drawFlows(view, k, top, geo);
    this.drawGlobalInstants(view, k);
    ctx.restore();

    this.drawGutter(geo, top, ui);
    this.drawRuler(view, k);
    this.drawOverview(view);
    this.lastDrawn = drawn;
    this.lastFrameMs = performance.now() - t0Frame;
  }

  drawGrid(view, k, y0, y1) {
    const ctx = this.ctx;
    const step = tickStep(80 / k);
    ctx.strokeStyle = this.theme.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    const base = this.store.tMin;
    for (let t = Math.ceil((view.t0 - base) / step) * step + base; t < view.t1; t += step) {
      const x = Math.round(GUTTER + (t - view.t0) * k) + 0.5;
      ctx.moveTo(x, y0);
      ctx.lineTo(x, y1);
    }
    ctx.stroke();
  }

  drawLabels(labels) {
    const ctx = this.ctx;
    const store = this.store;
    ctx.font = this.theme.font;
    ctx.fillStyle = this.theme.sliceText;
    ctx.textBaseline = 'middle';
    const cw = this.charWidth;
    for (let q = 0; q < labels.length; q += 4) {
      const s = labels[q];
      let x = labels[q + 1];
      const y = labels[q + 2];
      let w = labels[q + 3];
      // Keep the name readable when the slice starts left of the screen.
      if (x < GUTTER) {
        w -= GUTTER - x;
        x = GUTTER;
      }
      if (w > this.width - x) w = this.width - x;
      const fit = Math.floor((w - 8) / cw);
      if (fit < 2) continue;
      const text = store.strings.get(store.sName[s]) || '';
      const shown = text.length <= fit ? text : text.slice(0, fit - 1) + '…';
      ctx.fillText(shown, x + 4, y + ROW_H / 2);
    }
  }

  /** Outline of one slice (selection, hover). */
  outline(s, view, k, top, geo, colour, width) {
    if (s === undefined || s < 0 || s >= this.store.count) return;
    const store = this.store;
    const o = geo.order.indexOf(store.sLane[s]);
    if (o < 0) return;
    const y = top + geo.ys[o] + LANE_PAD + store.sDepth[s] * ROW_H;
    const xs = GUTTER + (store.sStart[s] - view.t0) * k;
    const xe = GUTTER + (store.endOf(s) - view.t0) * k;
    const a = Math.max(xs, GUTTER - 4);
    const b = Math.min(Math.max(xe, xs + 2), this.width + 4);
    if (b < GUTTER || a > this.width) return;
    const ctx = this.ctx;
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    ctx.strokeRect(a, y - 0.5, Math.max(b - a, 2), ROW_H);
  }

  drawInstants(lane, y, view, k) {
    const store = this.store;
    const ctx = this.ctx;
    const list = lane.instants;
    const ts = store.iTs.a;
    let lo = 0;
    let hi = list.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[list.a[mid]] >= view.t0) hi = mid;
      else lo = mid + 1;
    }
    ctx.fillStyle = this.theme.fg;
    ctx.beginPath();
    let lastX = -1;
    for (let i = lo; i < list.n; i++) {
      const t = ts[list.a[i]];
      if (t > view.t1) break;
      const x = GUTTER + (t - view.t0) * k;
      if (x - lastX < 2) continue; // one mark per couple of pixels is plenty
      lastX = x;
      ctx.moveTo(x - 4, y);
      ctx.lineTo(x + 4, y);
      ctx.lineTo(x, y + 7);
      ctx.closePath();
    }
    ctx.fill();
  }

  drawGlobalInstants(view, k) {
    const store = this.store;
    const g = store.globalInstants;
    if (!g.n) return;
    const ctx = this.ctx;
    ctx.strokeStyle = this.theme.match;
    ctx.setLineDash([3, 3]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i < g.n; i++) {
      const t = store.iTs.a[g.a[i]];
      if (t < view.t0 || t > view.t1) continue;
      const x = Math.round(GUTTER + (t - view.t0) * k) + 0.5;
      ctx.moveTo(x, TRACKS_TOP);
      ctx.lineTo(x, this.height);
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }

  /** Flow arrows from the parent's lane to the child's task slice. */
  drawFlows(view, k, top, geo) {
    const store = this.store;
    const n = store.fFromTs.n;
    if (!n) return;
    const rowOf = new Int32Array(store.lanes.length).fill(-1);
    for (let o = 0; o < geo.order.length; o++) rowOf[geo.order[o]] = o;
    const fromTs = store.fFromTs.a;
    const toTs = store.fToTs.a;
    const fromLane = store.fFromLane.a;
    const toLane = store.fToLane.a;
    const ctx = this.ctx;
    const W = this.width;
    const heads = [];
    ctx.strokeStyle = this.theme.flow;
    ctx.lineWidth = 1;
    ctx.beginPath();
    let count = 0;
    const seen = new Set();
    for (let f = 0; f < n; f++) {
      const ta = fromTs[f];
      const tb = toTs[f];
      if ((ta < view.t0 && tb < view.t0) || (ta > view.t1 && tb > view.t1)) continue;
      const oa = rowOf[fromLane[f]];
      const ob = rowOf[toLane[f]];
      if (oa < 0 || ob < 0) continue;
      const xa = GUTTER + (ta - view.t0) * k;
      const xb = GUTTER + (tb - view.t0) * k;
      const ya = top + geo.ys[oa] + LANE_PAD + ROW_H / 2;
      const yb = top + geo.ys[ob] + LANE_PAD + ROW_H / 2;
      if ((ya < TRACKS_TOP && yb < TRACKS_TOP) || (ya > this.height && yb > this.height)) continue;
      // Level of detail: arrows between the same two lanes that start and end
      // in the same pixel columns look like one.
      const key = ((Math.round(xa) * 8192 + Math.round(xb)) * 4096 + oa) * 4096 + ob;
      if (seen.has(key)) continue;
      seen.add(key);
      const bend = Math.min(40, Math.abs(yb - ya) / 2 + 6);
      ctx.moveTo(xa, ya);
      ctx.bezierCurveTo(xa + bend, ya, xb - bend, yb, xb, yb);
      if (xb >= GUTTER && xb <= W) heads.push(xb, yb);
      count++;
      if (count > MAX_FLOWS) break;
    }
    if (count > MAX_FLOWS) {
      // Thousands of arrows only hide the slices: zoom in to see them.
      ctx.beginPath();
      this.hiddenFlows = count;
      ctx.font = this.theme.font;
      ctx.fillStyle = this.theme.muted;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'top';
      ctx.fillText('flow arrows hidden at this zoom — zoom in to see them', W - 8, TRACKS_TOP + 4);
      ctx.textAlign = 'left';
      return;
    }
    this.hiddenFlows = 0;
    ctx.stroke();
    ctx.fillStyle = this.theme.flow;
    ctx.beginPath();
    for (let q = 0; q < heads.length; q += 2) {
      const x = heads[q];
      const y = heads[q + 1];
      ctx.moveTo(x, y);
      ctx.lineTo(x - 7, y - 4);
      ctx.lineTo(x - 7, y + 4);
      ctx.closePath();
    }
    ctx.fill();
  }

  drawGutter(geo, top, ui) {
    const ctx = this.ctx;
    const th = this.theme;
    const store = this.store;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, TRACKS_TOP, GUTTER, this.height - TRACKS_TOP);
    ctx.clip();
    ctx.fillStyle = th.bg;
    ctx.fillRect(0, TRACKS_TOP, GUTTER, this.height - TRACKS_TOP);
    ctx.font = th.labelFont;
    ctx.textBaseline = 'middle';
    const selLane = ui.selected >= 0 && ui.selected < store.count ? store.sLane[ui.selected] : -1;
    for (let o = 0; o < geo.order.length; o++) {
      const y = top + geo.ys[o];
      const h = geo.ys[o + 1] - geo.ys[o];
      if (y + h < TRACKS_TOP) continue;
      if (y > this.height) break;
      const lane = store.lanes[geo.order[o]];
      if (o % 2 === 1) {
        ctx.fillStyle = th.laneAlt;
        ctx.fillRect(0, y, GUTTER, h);
      }
      const indent = Math.min(geo.indent[o], 8) * 12;
      if (geo.indent[o] > 0) {
        // A small elbow shows the lane hangs under the one above it.
        ctx.strokeStyle = th.muted;
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(indent - 6.5, y + 2);
        ctx.lineTo(indent - 6.5, y + LANE_PAD + ROW_H / 2);
        ctx.lineTo(indent - 1, y + LANE_PAD + ROW_H / 2);
        ctx.stroke();
      }
      ctx.fillStyle = lane.index === selLane ? th.sel : th.fg;
      const label = lane.label;
      const room = Math.floor((GUTTER - indent - 12) / (this.charWidth * 1.1));
      ctx.fillText(label.length > room ? label.slice(0, room - 1) + '…' : label, indent + 4, y + LANE_PAD + ROW_H / 2);
    }
    ctx.restore();
    ctx.strokeStyle = th.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(GUTTER - 0.5, TRACKS_TOP);
    ctx.lineTo(GUTTER - 0.5, this.height);
    ctx.stroke();
  }

  drawRuler(view, k) {
    const ctx = this.ctx;
    const th = this.theme;
    const y0 = OVERVIEW_H;
    ctx.fillStyle = th.bg;
    ctx.fillRect(0, y0, this.width, RULER_H);
    ctx.strokeStyle = th.grid;
    ctx.beginPath();
    ctx.moveTo(0, y0 + RULER_H - 0.5);
    ctx.lineTo(this.width, y0 + RULER_H - 0.5);
    ctx.stroke();
    const step = tickStep(80 / k);
    const base = this.store.tMin;
    ctx.font = this.theme.font;
    ctx.fillStyle = th.muted;
    ctx.textBaseline = 'middle';
    ctx.strokeStyle = th.muted;
    ctx.beginPath();
    for (let t = Math.ceil((view.t0 - base) / step) * step + base; t < view.t1; t += step) {
      const x = Math.round(GUTTER + (t - view.t0) * k) + 0.5;
      ctx.moveTo(x, y0 + RULER_H - 7);
      ctx.lineTo(x, y0 + RULER_H);
      ctx.fillText(formatTime(t - base, step), x + 3, y0 + RULER_H / 2 - 1);
    }
    ctx.stroke();
    // What the ruler measures from, and how wide the window is.
    ctx.fillStyle = th.bg;
    ctx.fillRect(0, y0, GUTTER, RULER_H);
    ctx.fillStyle = th.muted;
    ctx.fillText('window ' + formatDuration(view.t1 - view.t0), 6, y0 + RULER_H / 2 - 1);
  }

  /** Whole-trace density with the visible window marked. */
  drawOverview(view) {
    const ctx = this.ctx;
    const th = this.theme;
    const store = this.store;
    const W = this.width - GUTTER;
    ctx.fillStyle = th.laneAlt;
    ctx.fillRect(0, 0, this.width, OVERVIEW_H);
    ctx.fillStyle = th.muted;
    ctx.font = th.font;
    ctx.textBaseline = 'middle';
    ctx.fillText('overview', 6, OVERVIEW_H / 2 - 6);
    if (store.tMax > store.tMin) ctx.fillText('trace ' + formatDuration(store.tMax - store.tMin), 6, OVERVIEW_H / 2 + 7);
    if (W <= 0 || !(store.tMax > store.tMin)) return;
    const hist = this.overviewHistogram(W);
    let max = 1;
    for (let i = 0; i < hist.length; i++) if (hist[i] > max) max = hist[i];
    ctx.fillStyle = th.overview;
    const hAvail = OVERVIEW_H - 6;
    for (let i = 0; i < hist.length; i++) {
      if (!hist[i]) continue;
      const h = Math.max(1, Math.sqrt(hist[i] / max) * hAvail);
      ctx.fillRect(GUTTER + i, OVERVIEW_H - 3 - h, 1, h);
    }
    const scale = W / (store.tMax - store.tMin);
    const xa = GUTTER + (view.t0 - store.tMin) * scale;
    const xb = GUTTER + (view.t1 - store.tMin) * scale;
    const a = Math.max(GUTTER, Math.min(xa, this.width));
    const b = Math.max(a + 2, Math.min(xb, this.width));
    ctx.fillStyle = th.window;
    ctx.fillRect(a, 0, b - a, OVERVIEW_H);
    ctx.strokeStyle = th.sel;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(a + 0.75, 0.75, b - a - 1.5, OVERVIEW_H - 1.5);
  }

  overviewHistogram(bins) {
    const store = this.store;
    const now = performance.now();
    const h = this.histogram;
    // Rebuilt when the trace changed, but at most a few times a second while
    // live data streams in (it walks every slice).
    if (h && h.length === bins && (this.histogramVersion === store.version || now - this.histogramTime < 400)) return h;
    const hist = h && h.length === bins ? h.fill(0) : new Float64Array(bins);
    const start = store.sStart;
    const t0 = store.tMin;
    const scale = bins / (store.tMax - store.tMin || 1);
    for (let s = 0; s < store.count; s++) {
      let b = Math.floor((start[s] - t0) * scale);
      if (b >= bins) b = bins - 1;
      hist[b]++;
    }
    this.histogram = hist;
    this.histogramVersion = store.version;
    this.histogramTime = now;
    return hist;
  }

  /**
   * The slice under a point (CSS pixels), or -1; lane is reported too.
   * A few pixels of slack make tiny slices clickable.
   */
  hit(x, y, view) {
    const store = this.store;
    const geo = this.geometry || laneGeometry(store);
    const res = { slice: -1, lane: -1 };
    if (y < TRACKS_TOP || x < GUTTER) return res;
    const yy = y - TRACKS_TOP + view.scrollY;
    const o = upperBound(geo.ys, yy) - 1;
    if (o < 0 || o >= geo.order.length) return res;
    const lane = store.lanes[geo.order[o]];
    res.lane = lane.index;
    const d = Math.floor((yy - geo.ys[o] - LANE_PAD) / ROW_H);
    if (d < 0 || d >= lane.rows.length) return res;
    const k = (this.width - GUTTER) / (view.t1 - view.t0);
    const t = view.t0 + (x - GUTTER) / k;
    const slack = 3 / k;
    const row = lane.rows[d];
    let best = -1;
    let bestDist = Infinity;
    for (let i = firstEndingAfter(store, row, t - slack); i < row.n; i++) {
      const s = row.a[i];
      const st = store.sStart[s];
      if (st > t + slack) break;
      const en = store.endOf(s);
      const dist = t < st ? st - t : t > en ? t - en : 0;
      if (dist < bestDist) {
        best = s;
        bestDist = dist;
      }
      if (dist === 0) break;
    }
    res.slice = best;
    return res;
  }
}

function push(batch, x, y, w, h) {
  const n0 = batch.n;
  if (n0 > 0) {
    // Touching the previous rectangle of this colour on the same row: grow
    // it instead. Dense zoomed-out rows become a few long runs, not one
    // fillRect per pixel.
    const r = batch.r;
    const end = r[n0 - 4] + r[n0 - 2];
    if (r[n0 - 3] === y && x <= end + 0.01 && x >= r[n0 - 4]) {
      if (x + w > end) r[n0 - 2] = x + w - r[n0 - 4];
      return;
    }
  }
  if (batch.n + 4 > batch.r.length) {
    const next = new Float32Array(batch.r.length * 2);
    next.set(batch.r);
    batch.r = next;
  }
  const r = batch.r;
  const n = batch.n;
  r[n] = x;
  r[n + 1] = y;
  r[n + 2] = w;
  r[n + 3] = h;
  batch.n = n + 4;
}

function fillBatch(ctx, batch) {
  const r = batch.r;
  for (let q = 0; q < batch.n; q += 4) ctx.fillRect(r[q], r[q + 1], r[q + 2], r[q + 3]);
}

/** Index of the first element of sorted `a` greater than v. */
function upperBound(a, v) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] > v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A 1-2-5 step of at least `min` microseconds. */
export function tickStep(min) {
  const p = Math.pow(10, Math.floor(Math.log10(min)));
  for (const m of [1, 2, 5, 10]) if (m * p >= min) return m * p;
  return 10 * p;
}

function makeStripes(ctx, dark) {
  const c = document.createElement('canvas');
  c.width = c.height = 8;
  const g = c.getContext('2d');
  g.strokeStyle = dark ? 'rgba(255,255,255,0.35)' : 'rgba(0,0,0,0.22)';
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(-2, 10);
  g.lineTo(10, -2);
  g.moveTo(6, 10);
  g.lineTo(10, 6);
  g.moveTo(-2, 2);
  g.lineTo(2, -2);
  g.stroke();
  return ctx.createPattern(c, 'repeat');
}
