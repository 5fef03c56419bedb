// In-page sources (SPEC K4): window.actraceViewer.push, mountViewer embedded
// in another page, and BroadcastChannel "actrace" fed from a second tab.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openViewer, waitStats, shot, pick } from './lib.mjs';
import { generateTrace } from './gen-trace.mjs';
import { HANDMADE_LINES, HANDMADE_COUNTS } from './fixtures.mjs';

let srv;
let browser;

const EMBED = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="/www/style.css"></head>
<body style="height:auto">
<h1 style="font-size:16px;margin:8px">A page that embeds the viewer</h1>
<div id="v" style="height:520px;border:1px solid #888"></div>
<script type="module">
  import { mountViewer } from '/www/viewer.js';
  window.embedded = mountViewer(document.getElementById('v'), { broadcast: false, globalKeys: false });
</script></body></html>`;

before(async () => {
  srv = await startServer();
  browser = await launch();
  srv.routes.set('/t/embed.html', EMBED);
  srv.routes.set('/t/blank.html', '<!doctype html><title>sender</title>');
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

const objects = (lines) => lines.map((l) => JSON.parse(l));

describe('push API', () => {
  it('window.actraceViewer.push takes event objects, in batches', async () => {
    const page = await openViewer(browser, srv);
    const events = objects(HANDMADE_LINES);
    const accepted = await page.evaluate((ev) => {
      const v = window.actraceViewer;
      return v.push(ev.slice(0, 9)) + v.push(ev.slice(9));
    }, events);
    assert.equal(accepted, 15);
    const stats = await waitStats(page, (s) => s.events === 15 && s.loadMs !== null);
    assert.deepEqual(pick(stats), HANDMADE_COUNTS);
    // Drawn: the slice d is on screen.
    const pos = await page.evaluate(() => window.actraceViewer.slicePosition(window.actraceViewer.findSlices('d')[0]));
    assert.ok(pos && pos.x > 210);
    await page.context().close();
  });

  it('open slices pushed so far are unfinished until their end is pushed', async () => {
    const page = await openViewer(browser, srv);
    await page.evaluate(() => window.actraceViewer.push([
      { ph: 'B', pid: 1, tid: 5, ts: 0, name: 'long', args: { id: 'Q', task: 'long#0' } },
      { ph: 'B', pid: 1, tid: 5, ts: 2, name: 'inner' },
    ]));
    let stats = await waitStats(page, (s) => s.events === 2);
    assert.equal(stats.openSlices, 2);
    assert.equal(stats.slices, 0);
    assert.equal(stats.lanes, 1);
    await page.evaluate(() => window.actraceViewer.push([{ ph: 'E', pid: 1, tid: 5, ts: 7 }]));
    stats = await waitStats(page, (s) => s.events === 3);
    assert.equal(stats.openSlices, 1);
    assert.equal(stats.slices, 1);
    await page.context().close();
  });

  it('bad pushed events are reported with their index, good ones kept', async () => {
    const page = await openViewer(browser, srv);
    const n = await page.evaluate(() => window.actraceViewer.push([
      { ph: 'B', pid: 1, tid: 1, ts: 1, name: 'fine' },
      { pid: 1, tid: 1, ts: 2 },
      'not an event',
    ]));
    assert.equal(n, 1);
    const stats = await waitStats(page, (s) => s.warnings === 2);
    assert.match(stats.firstWarning, /pushed event #1 has no one-letter "ph"/);
    await page.evaluate(() => window.actraceViewer.push('nope'));
    await page.waitForFunction(() => /push\(\) failed: push\(\) takes an array/.test(document.querySelector('[data-field=error]').textContent));
    page.errors = [];
    await page.context().close();
  });
});

describe('mountViewer', () => {
  it('mounts into any element and returns push() and stats()', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${srv.base}/t/embed.html`);
    await page.waitForFunction(() => window.embedded && typeof window.embedded.push === 'function');
    const g = generateTrace({ events: 4000, seed: 31, mode: 'open' });
    const events = objects(g.lines);
    // Many small pushes, as a program emitting events as it runs would.
    await page.evaluate((ev) => {
      for (let i = 0; i < ev.length; i += 97) window.embedded.push(ev.slice(i, i + 97));
    }, events);
    await page.waitForFunction((n) => window.embedded.stats().events === n, g.counts.events);
    const stats = await page.evaluate(() => window.embedded.stats());
    assert.deepEqual(pick(stats), g.counts);
    assert.equal(await page.evaluate(() => window.actraceViewer), undefined, 'no global when embedded');
    await shot(page, 'api-embedded');
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('BroadcastChannel', () => {
  it('a viewer listens on channel "actrace" for {events} from another tab', async () => {
    const viewer = await openViewer(browser, srv);
    const sender = await viewer.context().newPage();
    await sender.goto(`${srv.base}/t/blank.html`);
    const g = generateTrace({ events: 3000, seed: 41, mode: 'closed' });
    const events = objects(g.lines);
    await sender.evaluate((ev) => {
      const ch = new BroadcastChannel('actrace');
      for (let i = 0; i < ev.length; i += 500) ch.postMessage({ events: ev.slice(i, i + 500) });
      ch.postMessage({ something: 'else' }); // ignored: not {events}
      ch.close();
    }, events);
    const stats = await waitStats(viewer, (s, n) => s.events === n, g.counts.events);
    assert.deepEqual(pick(stats), g.counts);
    await shot(viewer, 'api-broadcast');
    await viewer.context().close();
  });
});
