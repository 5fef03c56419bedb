// The example app (example/, with the packed actrace tarball installed by
// run.sh) in Debian Chromium: its lanes and spans reach the embedded viewer,
// a viewer tab of the same origin over BroadcastChannel, and a websocket
// server; the downloaded trace passes `actrace check`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, EXAMPLE, launch, startServer, watchErrors } from './lib.mjs';

const ACTRACE = process.env.ACTRACE_BIN;

let server;
let browser;
before(async () => {
  assert.ok(ACTRACE && existsSync(ACTRACE), 'ACTRACE_BIN names the actrace binary (run.sh sets it)');
  assert.ok(existsSync(join(EXAMPLE, 'node_modules/actrace/package.json')), 'run.sh installed the tarball');
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** What a trace's events say: slice names, completed slices, lanes. A
 * slice that began and ended within one batch is one complete (X) event. */
function summarize(events) {
  const open = new Map();
  const names = [];
  let slices = 0;
  for (const e of events) {
    if (e.ph === 'B') {
      open.set(e.tid, (open.get(e.tid) || 0) + 1);
      names.push(e.name);
    } else if (e.ph === 'E') {
      open.set(e.tid, open.get(e.tid) - 1);
      slices++;
    } else if (e.ph === 'X') {
      open.set(e.tid, open.get(e.tid) || 0);
      names.push(e.name);
      slices++;
    }
  }
  const stillOpen = [...open.values()].reduce((a, b) => a + b, 0);
  return { slices, lanes: open.size, names, stillOpen };
}

function check(file) {
  return execFileSync(ACTRACE, ['check', file], { encoding: 'utf8' });
}

test('the example traces itself into the embedded viewer, a second tab, a websocket and a download', async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 800 } });
  const errors = [];
  try {
    // The viewer tab first, so that it hears the whole run.
    const tab = await context.newPage();
    watchErrors(tab, errors);
    await tab.goto(`${server.base}/node_modules/actrace/viewer/index.html`);
    await tab.waitForFunction(() => window.actraceViewer !== undefined);

    const page = await context.newPage();
    watchErrors(page, errors);
    const ws = `ws://127.0.0.1:${server.port}/ingest`;
    await page.goto(`${server.base}/index.html?ws=${encodeURIComponent(ws)}`);
    await page.waitForFunction(() => ['done', 'failed'].includes(document.body.dataset.state));
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'done', errors.join('\n'));
    assert.equal(await page.locator('#items span').count(), 8, 'the app rendered its items');

    // What the app recorded: the reference for every consumer.
    const text = await page.evaluate(() => example.recording.text());
    const events = JSON.parse(text);
    const want = summarize(events);
    assert.equal(want.stillOpen, 0, 'every task and span ended');
    for (const name of ['round', 'load list', 'load item', 'render', 'build DOM', 'paint', 'GET /api/items?round=1']) {
      assert.ok(want.names.includes(name), `${name} in the trace`);
    }
    assert.equal(want.lanes, 4, 'round#0 and load item#0..#2');
    const lastStack = await page.evaluate(() => example.lastStack);
    assert.match(lastStack, /^\([A-Za-z0-9+/]{4} "round"\)\$\([A-Za-z0-9+/]{4} "round"\)$/);

    // The clock: ts 0 is the page's performance.timeOrigin.
    const timeOrigin = await page.evaluate(() => performance.timeOrigin);
    assert.ok(Math.abs(events[0].args.origin_unix_us / 1000 - timeOrigin) < 0.01, 'origin_unix_us is timeOrigin');

    // The embedded viewer has every lane and slice.
    const expectStats = (s) => s.lanes === want.lanes && s.slices === want.slices && s.openSlices === 0;
    await page.waitForFunction(
      ([lanes, slices]) => {
        const s = example.viewer.stats();
        return s.lanes === lanes && s.slices === slices && s.openSlices === 0;
      },
      [want.lanes, want.slices],
    );
    const inPage = await page.evaluate(() => example.viewer.stats());
    assert.ok(expectStats(inPage), JSON.stringify(inPage));
    assert.equal(inPage.warnings, 0, `viewer warnings: ${inPage.firstWarning}`);
    assert.equal(inPage.flows, events.filter((e) => e.ph === 's').length, 'a flow arrow per child task');

    // The second tab got the same over BroadcastChannel.
    await tab.waitForFunction(
      ([lanes, slices]) => {
        const s = window.actraceViewer.stats();
        return s.lanes === lanes && s.slices === slices && s.openSlices === 0;
      },
      [want.lanes, want.slices],
    );
    const inTab = await tab.evaluate(() => window.actraceViewer.stats());
    assert.equal(inTab.warnings, 0, `viewer tab warnings: ${inTab.firstWarning}`);
    await page.screenshot({ path: join(ARTIFACTS, 'example.png') });
    await tab.screenshot({ path: join(ARTIFACTS, 'viewer-tab.png') });

    // The download: the recording as a file, which actrace check accepts.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'actrace-example.json');
    const file = join(ARTIFACTS, 'example-download.json');
    await download.saveAs(file);
    assert.equal(readFileSync(file, 'utf8'), text, 'the file is the recorded stream, closed');
    const report = check(file);
    assert.match(report, /: ok\n/, report);

    // The websocket server got a well-formed stream too.
    await page.evaluate(() => example.tracer.flush());
    assert.equal(server.ingested.length, 1, 'one websocket connection');
    const streamed = Buffer.concat(server.ingested[0]);
    assert.ok(streamed.toString('utf8').startsWith('[\n{"ph":"M"'), 'the stream starts with its header');
    const wsFile = join(ARTIFACTS, 'example-websocket.json');
    writeFileSync(wsFile, streamed);
    assert.match(check(wsFile), /: ok\n/);
    assert.ok(streamed.toString('utf8').includes('"name":"paint"'));

    assert.deepEqual(errors, [], 'no page errors or warnings');
  } finally {
    await context.close();
  }
});

test('a run after the viewer tab joined late still gives it whole slices', async () => {
  // The app runs first; the tab opened afterwards sees only what comes next,
  // which must still be well-formed (tasks begin and end after it joined).
  const context = await browser.newContext();
  const errors = [];
  try {
    const page = await context.newPage();
    watchErrors(page, errors);
    await page.goto(`${server.base}/index.html`);
    await page.waitForFunction(() => document.body.dataset.state === 'done');
    const tab = await context.newPage();
    watchErrors(tab, errors);
    await tab.goto(`${server.base}/node_modules/actrace/viewer/index.html`);
    await tab.waitForFunction(() => window.actraceViewer !== undefined);
    await page.click('#run');
    await page.waitForFunction(() => example.rounds === 3 && document.body.dataset.state === 'done');
    await tab.waitForFunction(() => {
      const s = window.actraceViewer.stats();
      return s.lanes === 4 && s.openSlices === 0 && s.slices > 0;
    });
    const s = await tab.evaluate(() => window.actraceViewer.stats());
    assert.equal(s.warnings, 0, `warnings: ${s.firstWarning}`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a fresh Node project imports the installed package without a build step', () => {
  const script = `
    import init, { Tracer, StackKind, recordTrace, decodeEvents } from 'actrace';
    await init();
    const t = new Tracer({ processName: 'node', policy: 'report', onViolation: (m, r) => console.log('violation', r) });
    const rec = recordTrace(t);
    const a = t.task('a');
    const s = a.span('s');
    console.log(s.stack(StackKind.Names));
    s.end(); a.end();
    console.log(decodeEvents(rec.bytes().subarray(0, rec.bytes().length - 3)).length);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: EXAMPLE, encoding: 'utf8' });
  // Header, lane name, and task and span as one complete (X) line each.
  assert.equal(out, 'a$a.s\n4\n');
  const pkg = JSON.parse(readFileSync(join(EXAMPLE, 'node_modules/actrace/package.json'), 'utf8'));
  for (const entry of ['.', './viewer']) assert.ok(pkg.exports[entry].types, `${entry} has types`);
  for (const f of ['index.d.ts', 'viewer.d.ts', 'actrace_wasm.d.ts', 'actrace_wasm_bg.wasm', 'viewer/viewer.js']) {
    assert.ok(existsSync(join(EXAMPLE, 'node_modules/actrace', f)), `${f} is in the package`);
  }
});
