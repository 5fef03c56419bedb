// Interaction: zoom, pan, keyboard, selection and the details panel (with
// the SPEC R13 span stacks), search, hover tooltip and keyboard help.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openViewer, waitLoaded, shot } from './lib.mjs';
import { generateTrace } from './gen-trace.mjs';
import { HANDMADE } from './fixtures.mjs';

let srv;
let browser;
let page;

before(async () => {
  srv = await startServer();
  browser = await launch();
  srv.routes.set('/t/handmade.json', HANDMADE);
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

const view = () => page.evaluate(() => window.actraceViewer.view());
const fit = async () => {
  await page.keyboard.press('0');
  await page.waitForFunction(() => {
    const v = window.actraceViewer.view();
    return Math.abs(v.t0 - -1) < 1e-6 && Math.abs(v.t1 - 101) < 1e-6;
  });
};
const position = (name) =>
  page.evaluate((n) => window.actraceViewer.slicePosition(window.actraceViewer.findSlices(n)[0]), name);

describe('the handmade trace', () => {
  before(async () => {
    page = await openViewer(browser, srv, '?url=/t/handmade.json');
    await waitLoaded(page);
  });
  after(() => page.context().close());

  it('fits the whole trace at first (1% margin each side)', async () => {
    const v = await view();
    assert.ok(Math.abs(v.t0 - -1) < 1e-6 && Math.abs(v.t1 - 101) < 1e-6, JSON.stringify(v));
  });

  it('wheel zooms in around the pointer, keeping the time under it', async () => {
    await fit();
    const before = await view();
    const box = await page.locator('canvas').boundingBox();
    const x = box.x + 210 + (box.width - 210) * 0.25;
    const tUnder = before.t0 + 0.25 * (before.t1 - before.t0);
    await page.mouse.move(x, box.y + 150);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction((w) => {
      const v = window.actraceViewer.view();
      return v.t1 - v.t0 < w * 0.8;
    }, before.t1 - before.t0);
    const after = await view();
    const tNow = after.t0 + 0.25 * (after.t1 - after.t0);
    // Mouse positions are whole pixels: allow one pixel's worth of time.
    const perPixel = (before.t1 - before.t0) / (box.width - 210);
    assert.ok(Math.abs(tNow - tUnder) < perPixel, `time under the pointer moved from ${tUnder} to ${tNow}`);
  });

  it('W and S zoom, A and D pan, 0 fits', async () => {
    await fit();
    await page.mouse.move(5, 5); // pointer off the timeline: keys zoom around the centre
    const w0 = 102;
    await page.keyboard.press('w');
    await page.waitForFunction((w) => {
      const v = window.actraceViewer.view();
      return Math.abs(v.t1 - v.t0 - w * 0.8) < 1e-6;
    }, w0);
    await page.keyboard.press('s');
    await page.keyboard.press('s');
    await page.waitForFunction((w) => {
      const v = window.actraceViewer.view();
      return Math.abs(v.t1 - v.t0 - w * 1.25) < 1e-6;
    }, w0);
    const before = await view();
    await page.keyboard.press('d');
    await page.waitForFunction((t0) => window.actraceViewer.view().t0 > t0, before.t0);
    const right = await view();
    assert.ok(Math.abs(right.t0 - before.t0 - (before.t1 - before.t0) * 0.15) < 1e-6, 'D pans by 15% of the window');
    await page.keyboard.press('a');
    await page.keyboard.press('a');
    await page.waitForFunction((t0) => window.actraceViewer.view().t0 < t0, before.t0);
    await fit();
  });

  it('dragging pans the timeline', async () => {
    await fit();
    const before = await view();
    const box = await page.locator('canvas').boundingBox();
    const y = box.y + box.height - 40; // empty space below the lanes
    await page.mouse.move(box.x + 700, y);
    await page.mouse.down();
    await page.mouse.move(box.x + 600, y, { steps: 5 });
    await page.mouse.move(box.x + 500, y, { steps: 5 });
    await page.mouse.up();
    const after = await view();
    const perPixel = (before.t1 - before.t0) / (box.width - 210);
    assert.ok(Math.abs(after.t0 - before.t0 - 200 * perPixel) < perPixel * 2, `dragged 200 px: ${before.t0} -> ${after.t0}`);
    assert.equal(await page.evaluate(() => window.actraceViewer.selected()), -1, 'a drag is not a click');
  });

  it('hovering a slice shows its name and duration', async () => {
    await fit();
    const p = await position('c');
    await page.mouse.move(p.x, p.y);
    await page.waitForFunction(() => !document.querySelector('[data-field=tooltip]').hidden);
    const text = await page.locator('[data-field=tooltip]').textContent();
    assert.match(text, /^c60\.0 µsb#0$/);
  });

  it('clicking a slice opens the details panel with the R13 span stack', async () => {
    await fit();
    const p = await position('d');
    await page.mouse.click(p.x, p.y);
    await page.waitForFunction(() => !document.querySelector('[data-field=details]').hidden);
    const field = (f) => page.locator(`[data-field=${f}]`).textContent();
    assert.equal(await field('name'), 'd');
    assert.equal(await field('lane'), 'b#0');
    assert.equal(await field('duration'), '40.0 µs');
    assert.equal(await field('self'), '30.0 µs');
    assert.match(await field('start'), /^30\.0 µs after trace start/);
    assert.equal(await field('stack-id'), 'AAAA$BBBB$BBBB.c.d');
    assert.equal(await field('stack-name'), 'a$b$b.c.d');
    assert.equal(await field('stack-combined'), '(AAAA "a")$(BBBB "b")$(BBBB "b").(c "c").(d "d")');
    assert.match(await field('stack-note'), /Spans carry no id.*name is shown in place of the id/);
    assert.deepEqual(await page.locator('[data-field=children] a').allTextContents(), ['needle e']);
    await shot(page, 'interact-details');
  });

  it('a task slice shows its id, its child tasks, and a child link selects it', async () => {
    await fit();
    const p = await position('a');
    await page.mouse.click(p.x, p.y);
    await page.waitForFunction(() => document.querySelector('[data-field=title]')?.textContent === 'a');
    assert.equal(await page.locator('[data-field=task-id]').textContent(), 'AAAA');
    assert.equal(await page.locator('[data-field=stack-id]').textContent(), 'AAAA$AAAA');
    assert.equal(await page.locator('[data-field=stack-note]').count(), 0, 'no note: every node has an id');
    assert.deepEqual(await page.locator('[data-field=child-tasks] a').allTextContents(), ['b']);
    await page.locator('[data-field=child-tasks] a').click();
    await page.waitForFunction(() => document.querySelector('[data-field=title]')?.textContent === 'b');
    assert.equal(await page.locator('[data-field=stack-combined]').textContent(), '(AAAA "a")$(BBBB "b")$(BBBB "b")');
  });

  it('clicking empty space clears the selection; Esc too', async () => {
    const box = await page.locator('canvas').boundingBox();
    await page.mouse.click(box.x + 600, box.y + box.height - 30);
    await page.waitForFunction(() => document.querySelector('[data-field=details]').hidden);
    const p = await position('c');
    await page.mouse.click(p.x, p.y);
    await page.waitForFunction(() => !document.querySelector('[data-field=details]').hidden);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('[data-field=details]').hidden);
  });

  it('search finds a span, selects it and shows the match count', async () => {
    await page.locator('.av-query').fill('NEEDLE');
    await page.locator('.av-query').press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-field=search-count]').textContent === '1 / 1');
    assert.equal(await page.locator('[data-field=name]').textContent(), 'needle e');
    assert.equal(await page.locator('[data-field=stack-name]').textContent(), 'a$b$b.c.d.needle e');
    await page.locator('.av-query').fill('zzz-nothing');
    await page.locator('.av-query').press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-field=search-count]').textContent === 'no matches');
    await page.locator('.av-query').fill('');
  });

  it('? opens the keyboard help and Esc closes it', async () => {
    await page.locator('canvas').click({ position: { x: 5, y: 600 } });
    await page.keyboard.press('?');
    await page.waitForFunction(() => !document.querySelector('[data-field=help]').hidden);
    const help = await page.locator('[data-field=help]').textContent();
    for (const key of ['W / S', 'A / D', 'Drag', '0', 'Esc']) assert.ok(help.includes(key), `help mentions ${key}`);
    await shot(page, 'interact-help');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.querySelector('[data-field=help]').hidden);
    await page.locator('.av-help-btn').click();
    await page.waitForFunction(() => !document.querySelector('[data-field=help]').hidden);
    await page.locator('.av-help-close').click();
    await page.waitForFunction(() => document.querySelector('[data-field=help]').hidden);
  });
});

describe('a generated trace', () => {
  it('search walks through many matches in time order with next and previous', async () => {
    const g = generateTrace({ events: 30000, seed: 21 });
    srv.routes.set('/t/search.json', g.text);
    page = await openViewer(browser, srv, '?url=/t/search.json');
    await waitLoaded(page);
    const expected = g.nodes.filter((n) => n.name.toLowerCase().includes('compress /srv')).length;
    assert.ok(expected > 5, 'the generator made some compress spans on files');
    await page.locator('.av-query').fill('compress /srv');
    await page.waitForFunction((n) => document.querySelector('[data-field=search-count]').textContent === `${n} matches`, expected);
    await page.locator('.av-next').click();
    await page.locator('.av-next').click();
    await page.waitForFunction((n) => document.querySelector('[data-field=search-count]').textContent === `2 / ${n}`, expected);
    const second = await page.evaluate(() => window.actraceViewer.selected());
    await page.locator('.av-prev').click();
    await page.waitForFunction((n) => document.querySelector('[data-field=search-count]').textContent === `1 / ${n}`, expected);
    const first = await page.evaluate(() => window.actraceViewer.selected());
    assert.notEqual(first, second);
    assert.match(await page.locator('[data-field=name]').textContent(), /^compress \/srv/);
    // The selected match is in view, and the view zoomed in on it.
    const pos = await page.evaluate((s) => window.actraceViewer.slicePosition(s), first);
    assert.ok(pos, 'selected match is on screen');
    await shot(page, 'interact-search');
    await page.context().close();
  });
});
