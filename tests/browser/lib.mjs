// Shared pieces of the browser tests: a tiny static server, the Chromium
// launch, and helpers to open the viewer and take screenshots.

import http from 'node:http';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export const ARTIFACTS = join(REPO, 'tests', 'artifacts');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.md': 'text/markdown; charset=utf-8',
};

/**
 * Serves the repository's files read-only, plus `routes` (path -> string,
 * Buffer or {file}) that tests add for generated traces. Listens on
 * 127.0.0.1 only.
 */
export async function startServer() {
  const routes = new Map();
  const server = http.createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const send = (status, body, type) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const route = routes.get(path);
    if (route !== undefined) {
      if (route && route.file) {
        const size = statSync(route.file).size;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': size, 'cache-control': 'no-store' });
        createReadStream(route.file, { highWaterMark: 1 << 20 }).pipe(res);
        return;
      }
      send(200, route, TYPES[extname(path)] || 'application/octet-stream');
      return;
    }
    const file = normalize(join(REPO, path));
    if (!file.startsWith(REPO + '/')) return send(403, 'forbidden', 'text/plain');
    let st;
    try {
      st = statSync(file);
    } catch {
      return send(404, 'not found', 'text/plain');
    }
    if (!st.isFile()) return send(404, 'not found', 'text/plain');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    server,
    routes,
    port,
    base: `http://127.0.0.1:${port}`,
    viewer: `http://127.0.0.1:${port}/www/index.html`,
    close: () => new Promise((r) => {
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

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * A new page on the viewer with `query` (e.g. "?url=/t/a.json"). Page errors
 * are collected in page.errors so tests can assert there were none.
 */
export async function openViewer(browser, srv, query = '', { colorScheme = 'light', viewport = { width: 1280, height: 760 } } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(new Error(`console: ${m.text()}`));
  });
  await page.goto(srv.viewer + query);
  await page.waitForFunction(() => window.actraceViewer && typeof window.actraceViewer.stats === 'function');
  return page;
}

/** Wait until stats() satisfies `predicate` (run in the page), then return stats(). */
export async function waitStats(page, predicate, arg, timeout = 20000) {
  await page.waitForFunction(
    ([src, a]) => new Function('s', 'arg', `return (${src})(s, arg)`)(window.actraceViewer.stats(), a),
    [predicate.toString(), arg],
    { timeout },
  );
  return page.evaluate(() => window.actraceViewer.stats());
}

/** Wait for a finished load (loadMs set, not loading). */
export function waitLoaded(page) {
  return waitStats(page, (s) => s.loadMs !== null && !s.loading);
}

export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

export function pick(stats, keys = ['lanes', 'slices', 'openSlices', 'flows', 'events']) {
  return Object.fromEntries(keys.map((k) => [k, stats[k]]));
}
