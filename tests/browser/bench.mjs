#!/usr/bin/env node
// Benchmarks of the web viewer in headless Chromium (figures go to
// www/BENCHMARKS.md). Not a test: nothing here fails on a slow machine.
//
//   node bench.mjs [--runs N] [--only load1m,load4m,frames,live]
//
// load1m / load4m: a generated 1,000,000 / 4,000,000-event trace from ?url=
//   to first full render (stats().loadMs), median of N runs.
// frames: pan and zoom frames on the 1M trace, each drawn and rasterised
//   (getImageData forces the canvas to finish), median and 95th percentile.
// live: a websocket server streams 200,000 events/s for 5 s; how far the
//   viewer falls behind, how many frames it draws, and how long it takes to
//   catch up after the last message.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { startServer, launch, openViewer, waitStats, HERE } from './lib.mjs';
import { TraceGenerator } from './gen-trace.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(opt('--runs', 5));
const ONLY = new Set(opt('--only', 'load1m,load4m,frames,live').split(','));
const DIR = opt('--dir', '/tmp/actrace-bench');

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))];
const fmt = (v) => v.toFixed(1);

function trace(events) {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `trace-${events}.json`);
  if (!existsSync(file)) {
    console.error(`generating ${file}`);
    execFileSync(process.execPath, [join(HERE, 'gen-trace.mjs'), String(events), file], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return file;
}

async function benchLoad(browser, srv, events, runs) {
  const file = trace(events);
  const route = `/t/${events}.json`;
  srv.routes.set(route, { file });
  const load = [];
  const fromNav = [];
  let stats;
  for (let r = 0; r < runs; r++) {
    const page = await openViewer(browser, srv, `?url=${route}`);
    stats = await waitStats(page, (s) => s.loadMs !== null && !s.loading, undefined, 120000);
    load.push(stats.loadMs);
    fromNav.push(stats.loadStartMs + stats.loadMs);
    await page.context().close();
  }
  const mb = statSync(file).size / 1e6;
  return { events: stats.events, mb, load, fromNav, slices: stats.slices, lanes: stats.lanes };
}

async function benchFrames(browser, srv) {
  const file = trace(1_000_000);
  srv.routes.set('/t/frames.json', { file });
  const page = await openViewer(browser, srv, '?url=/t/frames.json');
  await waitStats(page, (s) => s.loadMs !== null && !s.loading, undefined, 120000);
  const result = await page.evaluate(() => {
    const v = window.actraceViewer;
    const ctx = document.querySelector('canvas').getContext('2d');
    const { tMin, tMax } = v.view();
    const W = tMax - tMin;
    const out = {};
    // A user session: from the whole trace, zoom in by steps to 1/10,000 of
    // it while panning, at three places, then zoom out again.
    for (const [label, lo, hi] of [['whole trace', 1, 1], ['1/10 .. 1/100', 10, 100], ['1/1,000 .. 1/10,000', 1000, 10000]]) {
      const times = [];
      for (let i = 0; i < 60; i++) {
        const zoom = lo * Math.pow(hi / lo, (i % 20) / 19);
        const w = W / zoom;
        const centre = tMin + W * (0.2 + 0.3 * Math.floor(i / 20)) + (i % 20) * w * 0.05;
        const t = performance.now();
        v.setView(centre - w / 2, centre + w / 2); // draws
        ctx.getImageData(0, 0, 1, 1); // and rasterises
        times.push(performance.now() - t);
      }
      out[label] = times;
    }
    return out;
  });
  await page.context().close();
  return result;
}

async function benchLive(browser, srv, rate = 200_000, seconds = 5) {
  const total = rate * seconds;
  console.error(`generating ${total} live lines`);
  const gen = new TraceGenerator({ seed: 99 });
  const lines = new Array(total);
  for (let i = 0; i < total; i++) lines[i] = gen.next();
  const wss = new WebSocketServer({ noServer: true });
  srv.server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws)));
  let done;
  const finished = new Promise((r) => (done = r));
  let startedAt = 0;
  wss.on('connection', (ws) => {
    let sent = 0;
    startedAt = performance.now();
    // Every 10 ms, send what the rate allows so far, in messages of <= 1,000 lines.
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * rate));
      while (sent < due) {
        const n = Math.min(1000, due - sent);
        ws.send((sent === 0 ? '[\n' : ',\n') + lines.slice(sent, sent + n).join(',\n'));
        sent += n;
      }
      if (sent < total) setTimeout(tick, 10);
      else done(performance.now());
    };
    tick();
  });
  const page = await openViewer(browser, srv, `?ws=ws://127.0.0.1:${srv.port}/stream`);
  const samples = [];
  const sampler = setInterval(async () => {
    try {
      const s = await page.evaluate(() => window.actraceViewer.stats());
      const elapsed = (performance.now() - startedAt) / 1000;
      samples.push({ t: elapsed, events: s.events, frames: s.frames, sent: Math.min(total, Math.floor(elapsed * rate)) });
    } catch {}
  }, 250);
  const endSend = await finished;
  await waitStats(page, (s, n) => s.events >= n, total, 60000);
  const caughtUp = performance.now() - endSend;
  clearInterval(sampler);
  const final = await page.evaluate(() => window.actraceViewer.stats());
  await page.context().close();
  for (const c of wss.clients) c.terminate();
  wss.close();
  const during = samples.filter((s) => s.t <= seconds);
  const maxLag = Math.max(0, ...during.map((s) => s.sent - s.events));
  const first = during[0];
  const last = during[during.length - 1];
  const fps = last && first && last.t > first.t ? (last.frames - first.frames) / (last.t - first.t) : 0;
  return { total, caughtUp, maxLag, fps, final, samples: during.length };
}

const srv = await startServer();
const browser = await launch();
const chromium = browser.version();
const out = [];
try {
  if (ONLY.has('load1m')) {
    const r = await benchLoad(browser, srv, 1_000_000, RUNS);
    out.push(`| load 1M events (${fmt(r.mb)} MB, ${r.slices.toLocaleString('en')} slices, ${r.lanes} lanes) to first full render | ${fmt(median(r.load))} ms | runs: ${r.load.map(fmt).join(', ')}; from navigation: ${fmt(median(r.fromNav))} ms |`);
    console.error(out[out.length - 1]);
  }
  if (ONLY.has('load4m')) {
    const r = await benchLoad(browser, srv, 4_000_000, Math.min(RUNS, 3));
    out.push(`| load 4M events (${fmt(r.mb)} MB, ${r.slices.toLocaleString('en')} slices, ${r.lanes} lanes) to first full render | ${fmt(median(r.load))} ms | runs: ${r.load.map(fmt).join(', ')}; from navigation: ${fmt(median(r.fromNav))} ms |`);
    console.error(out[out.length - 1]);
  }
  if (ONLY.has('frames')) {
    const r = await benchFrames(browser, srv);
    for (const [label, times] of Object.entries(r)) {
      out.push(`| pan/zoom frame at 1M events, ${label} (draw + raster) | ${fmt(median(times))} ms | p95 ${fmt(pct(times, 0.95))} ms, max ${fmt(Math.max(...times))} ms, ${times.length} frames |`);
      console.error(out[out.length - 1]);
    }
  }
  if (ONLY.has('live')) {
    const r = await benchLive(browser, srv);
    out.push(`| live: 200,000 events/s for 5 s (${r.total.toLocaleString('en')} events) | caught up ${fmt(r.caughtUp)} ms after the last message | largest backlog while streaming ${r.maxLag.toLocaleString('en')} events (${fmt((r.maxLag / 200000) * 1000)} ms of stream); ${fmt(r.fps)} frames/s drawn; final events ${r.final.events.toLocaleString('en')} |`);
    console.error(out[out.length - 1]);
  }
} finally {
  await browser.close();
  await srv.close();
}
console.log(`Chromium ${chromium}, node ${process.version}, ${RUNS} runs\n`);
console.log('| what | median | details |\n|---|---|---|');
console.log(out.join('\n'));
