// Shared pieces of the wasm package's browser tests: the example app's
// server (static files, a small JSON API, a websocket that collects the
// streamed trace) and the Chromium launch.

import http from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { WebSocketServer } from 'ws';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export const EXAMPLE = join(HERE, 'example');
export const ARTIFACTS = join(REPO, 'tests', 'artifacts', 'wasm');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** The example's data: a list per round and one record per item. */
function api(path, query) {
  if (path === '/api/items') {
    const round = Number(query.get('round')) || 0;
    return Array.from({ length: 8 }, (_, i) => ({ id: round * 8 + i, name: `item ${round * 8 + i}` }));
  }
  const m = /^\/api\/items\/(\d+)$/.exec(path);
  if (m) return { id: Number(m[1]), size: 100 + Number(m[1]) * 7 };
  return undefined;
}

/**
 * Serves `root` read-only plus the API, and collects what clients send to
 * the websocket at /ingest. Listens on 127.0.0.1 only.
 */
export async function startServer(root = EXAMPLE) {
  const ingested = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const data = api(path, url.searchParams);
    if (data !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(data));
      return;
    }
    const file = normalize(join(root, path === '/' ? '/index.html' : path));
    let st;
    try {
      st = file.startsWith(root + '/') ? statSync(file) : null;
    } catch {
      st = null;
    }
    if (!st || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] || 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  const wss = new WebSocketServer({ server, path: '/ingest' });
  wss.on('connection', (socket) => {
    const messages = [];
    ingested.push(messages);
    socket.on('message', (data) => messages.push(Buffer.from(data)));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    ingested,
    close: () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Collects the page's errors and warnings. The standalone viewer page looks
 * for a live stream at /stream of its own origin, which this server does not
 * have; Chromium logs that failed handshake, which is expected here.
 */
export function watchErrors(page, errors) {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    if (/WebSocket connection to 'ws:\/\/[^']*\/stream' failed/.test(m.text())) return;
    errors.push(`console.${m.type()}: ${m.text()}`);
  });
}
