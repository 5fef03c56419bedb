// The example app: fetches items from its server, renders them, and traces
// both with the actrace package it installed (no build step: plain ES
// modules from node_modules). The embedded viewer shows the trace live;
// other tabs of this origin get it over BroadcastChannel; ?ws=URL streams it
// to a websocket server too; "Download trace" saves it as JSON.

import init, { Tracer, StackKind, recordTrace, broadcastTrace, streamToWebSocket } from './node_modules/actrace/index.js';
import { mountTraceViewer } from './node_modules/actrace/viewer.js';

const $ = (id) => document.getElementById(id);

await init();
const tracer = new Tracer({ processName: 'actrace example' });
const recording = recordTrace(tracer);
const viewer = mountTraceViewer(tracer, $('viewer'));
const broadcast = broadcastTrace(tracer);
const wsUrl = new URLSearchParams(location.search).get('ws');
const socket = wsUrl ? streamToWebSocket(tracer, wsUrl) : null;

async function getJson(ctx, path) {
  const span = ctx.span(`GET ${path}`);
  try {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return await response.json();
  } finally {
    span.end();
  }
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(resolve));
}

// One round: a root task that loads the list, then the first items' details
// in concurrent child tasks, then renders.
async function round(n) {
  return tracer.runTask('round', async (ctx) => {
    const items = await ctx.runSpan('load list', (span) => getJson(span, `/api/items?round=${n}`));
    const details = await Promise.all(
      items.slice(0, 3).map((item) => ctx.runTask('load item', (task) => getJson(task, `/api/items/${item.id}`))),
    );
    await ctx.runSpan('render', async (span) => {
      span.runSpan('build DOM', () => {
        $('items').replaceChildren(
          ...items.map((item, i) => {
            const el = document.createElement('span');
            el.textContent = details[i] ? `${item.name}: ${details[i].size} B` : item.name;
            return el;
          }),
        );
      });
      await span.runSpan('paint', () => nextFrame());
    });
    example.lastStack = ctx.stack(StackKind.Combined);
    return items.length;
  });
}

const example = {
  tracer,
  viewer,
  recording,
  broadcast,
  socket,
  rounds: 0,
  lastStack: '',
  download: () => recording.download('actrace-example.json'),
};
window.example = example;

async function runRounds(count) {
  document.body.dataset.state = 'running';
  $('run').disabled = true;
  for (let i = 0; i < count; i++) {
    await round(example.rounds);
    example.rounds++;
  }
  $('status').textContent = `${example.rounds} rounds traced`;
  $('run').disabled = false;
  $('download').disabled = false;
  document.body.dataset.state = 'done';
}

$('run').addEventListener('click', () => runRounds(1));
$('download').addEventListener('click', () => example.download());

runRounds(2).catch((e) => {
  $('status').textContent = `failed: ${e.message}`;
  document.body.dataset.state = 'failed';
});
