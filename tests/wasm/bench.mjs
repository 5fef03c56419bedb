// Benchmark (not a test): one span pair — ctx.span(name) then end() — called
// from JavaScript in Debian Chromium, with a recording sink (events encoded
// and batched to JS), without any sink, and with a sink while 1,000 other
// tasks are live. Prints the median of 5 runs of 200,000 pairs each.
// run.sh bench installs the package first.

import { launch, startServer } from './lib.mjs';

const N = 200_000;
const RUNS = 5;

const server = await startServer();
const browser = await launch();
try {
  const page = await browser.newPage();
  await page.goto(`${server.base}/bench.html`);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await page.evaluate((n) => window.bench(n), N));
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const withSink = median(runs.map((r) => r.withSink.nsPerPair));
  const noSink = median(runs.map((r) => r.noSink.nsPerPair));
  const manyTasks = median(runs.map((r) => r.manyTasks.nsPerPair));
  const bytesPerPair = runs[0].withSink.bytes / (N + 20000);
  console.log(`span pair from JavaScript in Chromium (${RUNS} runs of ${N.toLocaleString('en')} pairs, median):`);
  console.log(`  with a recording sink:  ${withSink.toFixed(0)} ns per pair (${bytesPerPair.toFixed(0)} bytes of JSON per pair)`);
  console.log(`  without a sink:         ${noSink.toFixed(0)} ns per pair`);
  console.log(`  sink, 1,000 live tasks: ${manyTasks.toFixed(0)} ns per pair`);
  console.log(`  machine load average:   ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  await browser.close();
  await server.close();
}
