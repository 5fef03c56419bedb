// Loading traces from ?url=, the Open button and drag and drop: complete,
// open-ended and cut streams (SPEC C4), foreign Chrome traces, bad input.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openViewer, waitLoaded, waitStats, shot, pick } from './lib.mjs';
import { generateTrace, countsOf } from './gen-trace.mjs';
import { FOREIGN, FOREIGN_COUNTS, HANDMADE, HANDMADE_COUNTS } from './fixtures.mjs';

let srv;
let browser;

before(async () => {
  srv = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

async function loadUrl(name, text, opts) {
  srv.routes.set(`/t/${name}`, text);
  const page = await openViewer(browser, srv, `?url=/t/${name}`, opts);
  const stats = await waitLoaded(page);
  return { page, stats };
}

describe('C4 stream framing', () => {
  it('a complete trace shows every event, lane, slice and flow', async () => {
    const g = generateTrace({ events: 20000, seed: 11, mode: 'closed' });
    assert.deepEqual(g.counts, countsOf(g.lines), 'generator bookkeeping agrees with its own lines');
    assert.equal(g.counts.openSlices, 0);
    const { page, stats } = await loadUrl('complete.json', g.text);
    assert.deepEqual(pick(stats), g.counts);
    assert.equal(stats.warnings, 0, stats.firstWarning);
    assert.ok(stats.loadMs > 0);
    assert.equal(await page.locator('[data-field=error]').isHidden(), true);
    assert.equal(await page.locator('[data-field=notice]').isHidden(), true);
    await shot(page, 'load-complete');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('an open-ended stream keeps its unfinished slices', async () => {
    const g = generateTrace({ events: 5000, seed: 12, mode: 'open' });
    assert.ok(g.counts.openSlices > 0, 'the generated stream has open slices');
    const { page, stats } = await loadUrl('open.json', g.text);
    assert.deepEqual(pick(stats), g.counts);
    assert.match(await page.locator('[data-field=notice]').textContent(), /not closed/);
    assert.match(await page.locator('[data-field=status]').textContent(), new RegExp(`${g.counts.openSlices} unfinished`));
    await shot(page, 'load-open-ended');
    await page.context().close();
  });

  it('a stream cut mid-line shows everything up to the last complete event', async () => {
    const g = generateTrace({ events: 5000, seed: 13, mode: 'cut' });
    const { page, stats } = await loadUrl('cut.json', g.text);
    assert.deepEqual(pick(stats), g.counts);
    assert.ok(stats.openSlices > 0);
    assert.equal(stats.warnings, 0, stats.firstWarning);
    assert.match(await page.locator('[data-field=notice]').textContent(), /ends in the middle of an event \(line 5002\)/);
    assert.equal(await page.locator('[data-field=error]').isHidden(), true);
    await shot(page, 'load-cut');
    await page.context().close();
  });

  it('a stream cut at every byte of a small trace never errors and never loses complete events', async () => {
    const lines = HANDMADE.split('\n');
    const page = await openViewer(browser, srv);
    const results = await page.evaluate(async (text) => {
      const out = [];
      for (let cut = 1; cut < text.length; cut += 7) {
        window.actraceViewer.clear();
        const stats = await window.actraceViewer.loadText(text.slice(0, cut), 'cut');
        out.push({ cut, events: stats.events, error: !document.querySelector('[data-field=error]').hidden });
      }
      return out;
    }, HANDMADE);
    for (const r of results) {
      // Complete lines before the cut (line 0 is "[").
      const complete = HANDMADE.slice(0, r.cut).split('\n').slice(1).filter((l) => l.endsWith('}') || l.endsWith('},')).length;
      assert.equal(r.error, false, `no error when cut at byte ${r.cut}`);
      assert.ok(r.events <= complete && r.events >= complete - 1, `cut at ${r.cut}: ${r.events} events, ${complete} complete lines`);
    }
    assert.ok(lines.length > 10);
    await page.context().close();
  });
});

describe('other Chrome traces', () => {
  it('reads the {"traceEvents": ...} form with X, i, s/t/f, M and ignores what it cannot draw', async () => {
    const { page, stats } = await loadUrl('foreign.json', FOREIGN);
    assert.deepEqual(pick(stats), FOREIGN_COUNTS);
    assert.equal(stats.instants, 2);
    // Out-of-order X events are nested by time: Layout and Paint sit inside Frame.
    const depths = await page.evaluate(() => {
      const v = window.actraceViewer;
      return ['Frame', 'Layout', 'Paint'].map((n) => v.findSlices(n).length);
    });
    assert.deepEqual(depths, [1, 1, 1]);
    const pos = await page.evaluate(() => window.actraceViewer.slicePosition(window.actraceViewer.findSlices('Layout')[0]));
    const frame = await page.evaluate(() => window.actraceViewer.slicePosition(window.actraceViewer.findSlices('Frame')[0]));
    assert.ok(pos.y > frame.y, 'Layout is drawn one row below Frame');
    assert.match(await page.locator('[data-field=ignored]').textContent(), /1 "C" events not shown/);
    // Escaped lane names are decoded.
    await page.mouse.click(pos.x, pos.y);
    await page.waitForFunction(() => !document.querySelector('[data-field=details]').hidden);
    assert.equal(await page.locator('[data-field=lane]').textContent(), 'Renderer');
    assert.equal(await page.locator('[data-field=stack-name]').textContent(), 'Frame$Frame.Layout');
    await shot(page, 'load-foreign');
    await page.context().close();
  });
});

describe('bad input', () => {
  it('names what was wrong and where, and keeps what came before', async () => {
    const badLine = '{"ph":"B","pid":1,"tid":2,"ts":30.0.0,"name":"d"}';
    const bad = HANDMADE.replace('{"ph":"B","pid":1,"tid":2,"ts":30.000,"name":"d"}', badLine);
    const line = bad.split('\n').indexOf(badLine + ',') + 1;
    const column = badLine.indexOf('30.0.0') + 5; // the second "."
    assert.equal(line, 10);
    const { page, stats } = await loadUrl('bad.json', bad);
    const error = await page.locator('[data-field=error]').textContent();
    assert.match(error, /bad\.json is not a valid trace/);
    assert.ok(error.includes(`line ${line}, column ${column}`), error);
    assert.match(error, /expected "," or "}"/);
    assert.equal(stats.events, 8, 'the events before the bad line are shown');
    await shot(page, 'load-bad');
    await page.context().close();
  });

  it('rejects something that is not a trace at all', async () => {
    const { page, stats } = await loadUrl('notes.json', 'hello, world\n');
    assert.match(await page.locator('[data-field=error]').textContent(), /must start with "\[" or "\{", found "h" at line 1, column 1/);
    assert.equal(stats.events, 0);
    assert.equal(await page.locator('[data-field=empty]').isVisible(), true, 'the start screen stays, not a blank page');
    await page.context().close();
  });

  it('reports events that are JSON but not usable, with their position', async () => {
    const text = '[\n{"ph":"B","pid":1,"tid":1,"ts":1,"name":"ok"},\n{"ph":"B","pid":1,"tid":1,"ts":"soon","name":"x"},\n{"ph":"E","pid":1,"tid":1,"ts":3}\n]';
    const { page, stats } = await loadUrl('unusable.json', text);
    assert.equal(stats.warnings, 1);
    assert.match(stats.firstWarning, /B event without a numeric "ts" \(line 3, column 1\)/);
    assert.equal(stats.slices, 1);
    assert.match(await page.locator('[data-field=warnings]').textContent(), /1 events skipped/);
    await page.context().close();
  });

  it('says so when a URL cannot be fetched', async () => {
    const page = await openViewer(browser, srv, '?url=/t/missing.json');
    page.errors = [];
    await waitLoaded(page);
    assert.match(await page.locator('[data-field=error]').textContent(), /HTTP 404/);
    await page.context().close();
  });
});

describe('opening files', () => {
  it('opens a file with the Open button', async () => {
    const page = await openViewer(browser, srv);
    await page.locator('.av-file').setInputFiles({ name: 'picked.json', mimeType: 'application/json', buffer: Buffer.from(HANDMADE) });
    const stats = await waitStats(page, (s) => s.events > 0 && s.loadMs !== null && !s.loading);
    assert.deepEqual(pick(stats), HANDMADE_COUNTS);
    await page.context().close();
  });

  it('opens a file dropped on the page', async () => {
    const page = await openViewer(browser, srv);
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'dropped.json', { type: 'application/json' }));
      const target = document.querySelector('.av-canvas-wrap');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }
    }, HANDMADE);
    const stats = await waitStats(page, (s) => s.events > 0 && s.loadMs !== null && !s.loading);
    assert.deepEqual(pick(stats), HANDMADE_COUNTS);
    assert.equal(await page.locator('.av-drop').isHidden(), true);
    await page.context().close();
  });

  it('with no source on a static server, shows the start screen (no /stream found)', async () => {
    const page = await openViewer(browser, srv);
    await page.waitForFunction(() => document.querySelector('[data-field=connection]').hidden && window.actraceViewer.stats().connection === null);
    assert.equal(await page.locator('[data-field=empty]').isVisible(), true);
    assert.equal(await page.locator('[data-field=error]').isHidden(), true);
    await shot(page, 'start-screen');
    await page.context().close();
  });

  it('is readable in the dark colour scheme', async () => {
    const g = generateTrace({ events: 3000, seed: 14, mode: 'open' });
    const { page, stats } = await loadUrl('dark.json', g.text, { colorScheme: 'dark' });
    assert.deepEqual(pick(stats), g.counts);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(22, 24, 28)');
    // The canvas really is dark too: sample a pixel of the empty timeline corner.
    const pixel = await page.evaluate(() => {
      const c = document.querySelector('canvas');
      return [...c.getContext('2d').getImageData(5, c.height - 3, 1, 1).data];
    });
    assert.ok(pixel[0] < 60 && pixel[1] < 60 && pixel[2] < 60, `dark canvas background, got ${pixel}`);
    await shot(page, 'load-dark');
    await page.context().close();
  });
});
