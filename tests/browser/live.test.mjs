// Live mode (SPEC K2, C4, C6, K3): a websocket test server streams generated
// lines, reports dropped events, closes; the viewer shows the connection
// state, reconnects with backoff and merges the late-joiner replay.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { startServer, launch, openViewer, waitStats, shot, pick } from './lib.mjs';
import { generateTrace } from './gen-trace.mjs';

let srv;
let browser;
let wss;
let onConnection = () => {};

before(async () => {
  srv = await startServer();
  browser = await launch();
  // The stream lives on the same origin as the page, like a traced program
  // serving its viewer, so auto-detection can find it.
  wss = new WebSocketServer({ noServer: true });
  srv.server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url, 'http://x').pathname !== '/stream') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });
});
after(async () => {
  for (const c of wss?.clients ?? []) c.terminate();
  wss?.close();
  await browser?.close();
  await srv?.close();
});

/** Split lines into websocket messages of whole lines, framed as in C4. */
function messages(lines, first, seed = 1) {
  const out = [];
  let i = 0;
  let r = seed;
  while (i < lines.length) {
    r = (r * 1103515245 + 12345) % 2147483648;
    const n = 1 + (r % 40);
    const chunk = lines.slice(i, i + n);
    out.push((first && i === 0 ? '[\n' : ',\n') + chunk.join(',\n'));
    i += n;
  }
  return out;
}

/**
 * What a server sends a client that joins after `lines` were written (C6):
 * the process and lane names, then the begin events of everything open.
 */
function lateJoinerPrefix(lines) {
  const meta = [];
  const open = new Map();
  for (const line of lines) {
    const e = JSON.parse(line);
    if (e.ph === 'M') meta.push(line);
    else if (e.ph === 'B') (open.get(e.tid) || open.set(e.tid, []).get(e.tid)).push(line);
    else if (e.ph === 'E') open.get(e.tid).pop();
  }
  return [...meta, ...[...open.values()].flat()];
}

const DROPPED = '{"actrace":"dropped","count":17}';

describe('live websocket stream', () => {
  it('streams, shows dropped events, reconnects after a close and merges the replay', async () => {
    const g = generateTrace({ events: 6000, seed: 51, mode: 'open' });
    const half = 3000;
    const firstPart = g.lines.slice(0, half);
    const prefix = lateJoinerPrefix(firstPart);
    assert.ok(prefix.some((l) => l.includes('"ph":"B"')), 'something is open at the cut');
    let connections = 0;
    let closeFirst;
    const firstClosed = new Promise((r) => (closeFirst = r));
    onConnection = async (ws) => {
      connections++;
      if (connections === 1) {
        const msgs = messages(firstPart, true, 7);
        msgs.splice(3, 0, ',\n' + DROPPED); // the server fell behind once
        for (const m of msgs) ws.send(m);
        await firstClosed;
        ws.close();
      } else {
        for (const m of messages([...prefix, ...g.lines.slice(half)], true, 9)) ws.send(m);
      }
    };
    const page = await openViewer(browser, srv, `?ws=ws://127.0.0.1:${srv.port}/stream`);
    let stats = await waitStats(page, (s, n) => s.connection === 'live' && s.events === n, half);
    assert.equal(stats.dropped, 17);
    assert.equal(await page.locator('[data-field=connection]').textContent(), 'live');
    assert.match(await page.locator('[data-field=dropped]').textContent(), /17 events dropped by the server/);
    await shot(page, 'live-streaming');

    closeFirst();
    await page.waitForFunction(() => window.actraceViewer.stats().connection === 'reconnecting');
    assert.match(await page.locator('[data-field=connection]').textContent(), /disconnected, retrying in 0\.5 s \(attempt 1\)/);
    await shot(page, 'live-reconnecting');

    stats = await waitStats(page, (s, n) => s.connections === 2 && s.events === n, g.counts.events);
    assert.deepEqual(pick(stats), g.counts, 'the replayed begin events are not counted or drawn twice');
    assert.equal(stats.gapClosed, 0);
    assert.equal(stats.warnings, 0, stats.firstWarning);
    assert.equal(connections, 2);
    await shot(page, 'live-reconnected');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  it('a page served next to /stream connects by itself; follow-live holds until the user pans', async () => {
    const g = generateTrace({ events: 8000, seed: 52, mode: 'open' });
    const msgs = messages(g.lines, true, 3);
    let sendNext = () => {};
    onConnection = (ws) => {
      let i = 0;
      // Sends `n` more messages when the test asks for them.
      sendNext = (n) => {
        for (const end = Math.min(i + n, msgs.length); i < end; i++) ws.send(msgs[i]);
        return i;
      };
      sendNext(50);
    };
    const page = await openViewer(browser, srv); // no ?ws=: auto-detected
    await waitStats(page, (s) => s.connection === 'live' && s.events > 0);
    assert.equal(await page.locator('.av-follow').getAttribute('aria-pressed'), 'true');
    const newest = () => page.evaluate(() => window.actraceViewer.view());
    await page.keyboard.press('w'); // zooming keeps following
    let sent = sendNext(50);
    const expectEvents = (k) => g.lines.slice(0, msgs.slice(0, k).reduce((n, m) => n + m.split('\n').length - 1, 0)).length;
    await waitStats(page, (s, n) => s.events >= n, expectEvents(sent));
    await page.waitForFunction(() => {
      const v = window.actraceViewer.view();
      return v.follow && v.t1 >= v.tMax;
    });
    const following = await newest();
    assert.ok(following.t1 - following.t0 < following.tMax - following.tMin, 'zoomed in');
    await shot(page, 'live-follow');

    await page.keyboard.press('a'); // panning stops following
    await page.waitForFunction(() => !window.actraceViewer.view().follow);
    const parked = await newest();
    sent = sendNext(100);
    await waitStats(page, (s, n) => s.events >= n, expectEvents(sent));
    await page.evaluate(() => window.actraceViewer.drawNow());
    const after = await newest();
    assert.ok(after.tMax > parked.tMax, 'more data arrived');
    assert.equal(after.t0, parked.t0, 'the view stayed where the user put it');
    assert.equal(after.t1, parked.t1);
    assert.equal(await page.locator('.av-follow').getAttribute('aria-pressed'), 'false');

    await page.keyboard.press('f'); // and F follows again
    await page.waitForFunction(() => {
      const v = window.actraceViewer.view();
      return v.follow && v.t1 >= v.tMax;
    });
    await page.context().close();
  });
});
