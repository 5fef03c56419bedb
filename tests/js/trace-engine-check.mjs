#!/usr/bin/env node
// Load an actrace trace with the Chrome DevTools Performance panel's trace
// engine (npm @paulirish/trace_engine, the same code DevTools runs) and print
// the counts it built as one JSON line:
//   {"importer":"devtools-trace-engine","lanes":N,"slices":N,"flows":N}
//
// Where the engine keeps things (v0.0.65):
//   lanes  = threads under parsedTrace.data.Renderer.processes that hold at
//            least one entry. The engine creates a "renderer" process/thread
//            for every pid/tid that has B/E/X/I events, so a reused lane
//            `NAME#N` (same tid) is one thread here too.
//   slices = those threads' entries: the engine turns every B into a synthetic
//            complete (X) event and sets its dur when the matching E arrives.
//            Only entries that got a positive dur are counted as completed.
//   flows  = parsedTrace.data.Flows.flows: one array of bound events per flow
//            (the engine drops flows with fewer than two bound events).
//
// The engine signals problems either by throwing or with console.error (e.g.
// "Begin/End events mismatch"); both are collected, printed in "errors", and
// make this script exit 1 so a test cannot mistake a broken import for a pass.
import process from 'node:process';
import { readEvents } from './lib/trace-file.mjs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node trace-engine-check.mjs TRACE.json\n');
  process.exit(2);
}

let Trace, polyfillDOMRect;
try {
  Trace = await import('@paulirish/trace_engine');
  ({ polyfillDOMRect } = await import('@paulirish/trace_engine/analyze-trace.mjs'));
} catch (e) {
  process.stderr.write(`error: @paulirish/trace_engine is not installed (run scripts/install.sh): ${e.message}\n`);
  process.exit(2);
}
// The engine was written for a browser and measures layout with DOMRect.
polyfillDOMRect();

const { events, repairedFraming } = readEvents(file);

const errors = [];
const consoleError = console.error;
console.error = (...args) => errors.push(args.map(String).join(' '));
let parsed;
try {
  const model = Trace.TraceModel.Model.createWithAllHandlers();
  await model.parse(events);
  parsed = model.parsedTrace();
  if (!parsed) errors.push('engine produced no parsed trace');
} catch (e) {
  errors.push(`engine threw: ${e && e.stack ? e.stack.split('\n').slice(0, 2).join(' | ') : e}`);
} finally {
  console.error = consoleError;
}

const result = { importer: 'devtools-trace-engine', lanes: 0, slices: 0, flows: 0 };
if (parsed) {
  const data = parsed.data;
  for (const proc of data.Renderer.processes.values()) {
    for (const thread of proc.threads.values()) {
      if (thread.entries.length === 0) continue;
      result.lanes += 1;
      result.slices += thread.entries.filter((e) => e.ph === 'X' && e.dur > 0).length;
    }
  }
  result.flows = data.Flows.flows.length;
}
if (repairedFraming) result.repaired_framing = true;
if (errors.length) result.errors = errors;
process.stdout.write(JSON.stringify(result) + '\n');
if (errors.length) {
  process.stderr.write(`error: the DevTools trace engine reported ${errors.length} problem(s) loading ${file}:\n  ${errors.join('\n  ')}\n`);
  process.exit(1);
}
