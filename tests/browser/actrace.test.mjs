// The viewer on real actrace output, with the real binary: a demo trace and
// its open-ended and cut variants counted like `actrace check` counts them,
// `actrace view FILE`, and a live `actrace demo --listen` that is killed and
// started again on the same port.
//
// How `actrace check FILE`'s summary maps to window.actraceViewer.stats():
//   check "lanes: N"             -> stats().lanes      (lanes named by thread_name, one row each)
//   check "slices: N ended, ..." -> stats().slices     (B/E pairs plus complete X events)
//   check "..., M still open"    -> stats().openSlices (B events without their E: drawn unfinished)
//   check "flows: N"             -> stats().flows      (s/f pairs, parent lane to child task)
//   check "events: N"            -> stats().events     (every complete event of the stream, M included;
//                                                      a partial last line of a cut file is in neither)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startServer, launch, openViewer, openPage, waitLoaded, waitStats, shot, pick,
  runActrace, checkCounts, startActrace, killAll,
} from './lib.mjs';

let srv;
let browser;
let dir;
/** name -> {file, check} for the demo trace and its variants. */
const traces = {};

/** What check reports, in the shape of stats(). */
const expected = (c) => ({ lanes: c.lanes, slices: c.ended, openSlices: c.open, flows: c.flows, events: c.events });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actrace-browser-'));
  srv = await startServer();
  browser = await launch();

  // A real trace: the demo's workload (copying directories with worker
  // threads, a task group, async tasks), closed by the writer.
  const complete = join(dir, 'demo.json');
  const demo = runActrace(['demo', '--out', complete], { cwd: dir });
  assert.equal(demo.status, 0, demo.stderr);
  const text = readFileSync(complete, 'utf8');
  // The writer frames events as "[\n{…}" then ",\n{…}": a file still being
  // written ends right after a complete event. Cut in the middle of the run,
  // where the root task and others are still open.
  const lines = text.split('\n');
  const k = Math.floor(lines.length / 2);
  const upTo = lines.slice(0, k + 1).join('\n').replace(/,$/, '');
  assert.ok(upTo.endsWith('}'));
  const openEnded = join(dir, 'demo-open.json');
  writeFileSync(openEnded, upTo);
  // And one cut mid-line, as by a crash while writing: half of the next event.
  const next = lines[k + 1];
  assert.ok(next.length > 20, next);
  const cut = join(dir, 'demo-cut.json');
  writeFileSync(cut, `${upTo},\n${next.slice(0, Math.floor(next.length / 2))}`);

  for (const [name, file] of [['complete', complete], ['open-ended', openEnded], ['cut', cut]]) {
    traces[name] = { file, check: checkCounts(file) };
    srv.routes.set(`/t/${name}.json`, { file });
  }
});

after(async () => {
  await killAll();
  await browser?.close();
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('demo traces, counted like actrace check', () => {
  it('the variants really are complete, open-ended and cut, with slices left open', () => {
    const { complete, 'open-ended': open, cut } = traces;
    assert.equal(complete.check.stream, 'complete');
    assert.equal(complete.check.open, 0);
    assert.ok(complete.check.lanes > 1 && complete.check.ended > 100 && complete.check.flows > 0, complete.check.output);
    assert.equal(open.check.stream, 'open-ended');
    assert.ok(open.check.open > 0, open.check.output);
    assert.ok(open.check.events < complete.check.events);
    assert.equal(cut.check.stream, 'cut');
    // The partial event is not counted: the cut file holds what the open-ended one does.
    assert.deepEqual(expected(cut.check), expected(open.check));
  });

  for (const name of ['complete', 'open-ended', 'cut']) {
    it(`${name === 'open-ended' ? 'an' : 'a'} ${name} demo trace loads with the counts actrace check reports`, async () => {
      const { check } = traces[name];
      const page = await openViewer(browser, srv, `?url=/t/${name}.json`);
      const stats = await waitLoaded(page);
      assert.deepEqual(pick(stats), expected(check), `viewer vs actrace check:\n${check.output}`);
      assert.equal(stats.warnings, 0, stats.firstWarning);
      assert.equal(await page.locator('[data-field=error]').isHidden(), true);
      const notice = page.locator('[data-field=notice]');
      if (name === 'complete') assert.equal(await notice.isHidden(), true);
      if (name === 'open-ended') assert.match(await notice.textContent(), /is not closed/);
      if (name === 'cut') assert.match(await notice.textContent(), /ends in the middle of an event/);
      if (check.open) assert.match(await page.locator('[data-field=status]').textContent(), new RegExp(`${check.open} unfinished`));
      await shot(page, `actrace-demo-${name}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
    });
  }
});

describe('actrace view FILE', () => {
  const READY = /^actrace view: .* at (http:\/\/127\.0\.0\.1:(\d+)\/\?url=\/trace\.json); Ctrl-C to stop$/m;

  for (const name of ['complete', 'cut']) {
    it(`serves the viewer with a ${name} file loaded, prints the URL and stops on Ctrl-C`, async () => {
      const { file, check } = traces[name];
      const view = await startActrace(['view', file], READY);
      const url = view.match[1];
      assert.notEqual(view.match[2], '0', 'the real port is printed');
      const page = await openPage(browser, url);
      const stats = await waitLoaded(page);
      assert.deepEqual(pick(stats), expected(check), `viewer vs actrace check:\n${check.output}`);
      assert.equal(stats.connection, null, 'a file, not a live stream');
      assert.equal(await page.locator('[data-field=error]').isHidden(), true);
      if (name === 'cut') assert.match(await page.locator('[data-field=notice]').textContent(), /ends in the middle of an event/);
      await shot(page, `actrace-view-${name}`);
      assert.deepEqual(page.errors, []);
      await page.context().close();
      const { code, signal } = await view.stop('SIGINT');
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, view.output().stderr);
    });
  }

  it('listens where --listen says', async () => {
    const { file } = traces.complete;
    // Port 0 again, but given as HOST:PORT: the printed port is the real one.
    const view = await startActrace(['view', file, '--listen', '127.0.0.1:0'], READY);
    const res = await fetch(`http://127.0.0.1:${view.match[2]}/trace.json`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), readFileSync(file, 'utf8'));
    await view.stop();
  });

  it('says clearly why it cannot run: missing file, a directory, a bad address (exit 2)', () => {
    const cases = [
      [['view', join(dir, 'missing.json')], /^actrace view: cannot read .*missing\.json: No such file or directory/],
      [['view', dir], /^actrace view: cannot read .*: not a file/],
      [['view', traces.complete.file, '--listen', 'nowhere'], /^actrace view: bad listen address "nowhere"/],
      [['view', traces.complete.file, '--listen', '127.0.0.1:99999'], /^actrace view: bad listen address/],
    ];
    for (const [args, message] of cases) {
      const r = runActrace(args, { timeout: 20000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /panicked/);
      assert.equal(r.stdout, '');
    }
  });
});

describe('live: actrace demo --listen', () => {
  const READY = /live trace at (http:\/\/127\.0\.0\.1:(\d+)\/) \(stream: ws:\/\/127\.0\.0\.1:\d+\/stream\)/;
  // Chromium logs each failed websocket attempt while the demo is down.
  const realErrors = (page) => page.errors.filter((e) => !/WebSocket connection to .* failed/.test(e.message));

  it('shows lanes appear and grow, the disconnect, and reconnects to a new demo on the same port', async () => {
    const first = await startActrace(['demo', '--listen', '127.0.0.1:0', '--duration', '30'], READY);
    const [, url, port] = first.match;
    // The page the demo itself serves at /: it finds /stream by itself.
    const page = await openPage(browser, url);
    let s = await waitStats(page, (s) => s.connection === 'live' && s.lanes > 0 && s.slices > 0);
    assert.equal(s.connections, 1);
    // Rounds of the workload keep coming: the counts grow while we watch.
    s = await waitStats(page, (s, p) => s.slices > p.slices && s.events > p.events, s);
    assert.equal(await page.locator('[data-field=connection]').textContent(), 'live');
    await shot(page, 'actrace-live-demo');

    // The program goes away.
    await first.stop('SIGKILL');
    await page.waitForFunction(() => window.actraceViewer.stats().connection === 'reconnecting');
    assert.match(await page.locator('[data-field=connection]').textContent(), /^disconnected, retrying in /);
    const down = await page.evaluate(() => window.actraceViewer.stats());
    assert.ok(down.lanes > 0, 'what was received stays on screen');
    const old = await page.evaluate(() => ({ roots: window.actraceViewer.findSlices('copy-dirs'), tMax: window.actraceViewer.view().tMax }));
    assert.ok(old.roots.length > 0);
    await shot(page, 'actrace-live-disconnected');

    // A new run on the same port: the viewer reconnects and counts grow again.
    const second = await startActrace(['demo', '--listen', `127.0.0.1:${port}`, '--duration', '30'], READY);
    assert.equal(second.match[2], port);
    s = await waitStats(
      page,
      (s, d) => s.connection === 'live' && s.connections === 2 && s.slices > d.slices && s.events > d.events,
      down,
      30000,
    );
    s = await waitStats(page, (s, p) => s.slices > p.slices && s.events > p.events, s);
    assert.equal(await page.locator('[data-field=connection]').textContent(), 'live');
    // The new program's clock starts again near 0; the viewer places its run
    // after the old one (by the streams' origin_unix_us), not over it.
    assert.equal(s.restarts, 1);
    const roots = await page.waitForFunction((n) => {
      const v = window.actraceViewer;
      const r = v.findSlices('copy-dirs');
      return r.length > n && r.slice(n).map((i) => v.sliceStart(i));
    }, old.roots.length).then((h) => h.jsonValue());
    for (const start of roots) assert.ok(start > old.tMax, `a root task of the new run starts at ${start} µs, before the old run's end ${old.tMax} µs`);
    await shot(page, 'actrace-live-reconnected');
    assert.deepEqual(realErrors(page), []);
    await page.context().close();

    // Ctrl-C ends the demo cleanly.
    const { code, signal } = await second.stop('SIGINT');
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, second.output().stderr);
  });
});
