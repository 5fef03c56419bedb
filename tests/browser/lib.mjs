// Shared pieces of the browser tests: a tiny static server, the Chromium
// launch, helpers to open the viewer and take screenshots, and to run the
// actrace binary (check, demo, view) as a child process.

import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
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

// --- The actrace binary ------------------------------------------------------
// run.sh builds it (`cargo build -p actrace --bin actrace`); ACTRACE_BIN
// overrides where it is looked for.

let binPath = null;

/** The path of the debug `actrace` binary of this workspace. */
export function actraceBin() {
  if (binPath) return binPath;
  let path = process.env.ACTRACE_BIN;
  if (!path) {
    let targetDir = process.env.CARGO_TARGET_DIR;
    if (!targetDir) {
      const meta = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 << 20 });
      if (meta.status !== 0) throw new Error(`cargo metadata failed: ${meta.stderr}`);
      targetDir = JSON.parse(meta.stdout).target_directory;
    }
    path = join(resolve(REPO, targetDir), 'debug', 'actrace');
  }
  if (!existsSync(path)) throw new Error(`no actrace binary at ${path}: run \`cargo build -p actrace --bin actrace\` (run.sh does)`);
  binPath = path;
  return path;
}

/** Runs `actrace ARGS...` to its end: {status, stdout, stderr}. */
export function runActrace(args, opts = {}) {
  const r = spawnSync(actraceBin(), args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.error) throw r.error;
  return r;
}

/**
 * The counts of `actrace check FILE`'s summary. Its lines are
 *   stream:  complete (closed) | open-ended (...) | cut (...)
 *   lanes:   N
 *   slices:  N ended, M still open
 *   flows:   N
 *   events:  N[, K of unknown phase (ignored)]
 */
export function checkCounts(file) {
  const r = runActrace(['check', file]);
  if (r.status !== 0) throw new Error(`actrace check ${file} exited ${r.status}: ${r.stderr}`);
  const field = (re) => {
    const m = r.stdout.match(re);
    if (!m) throw new Error(`actrace check ${file}: no ${re} in its output:\n${r.stdout}`);
    return m;
  };
  const slices = field(/^slices:\s+(\d+) ended, (\d+) still open$/m);
  return {
    stream: field(/^stream:\s+(complete|open-ended|cut)\b/m)[1],
    lanes: Number(field(/^lanes:\s+(\d+)$/m)[1]),
    ended: Number(slices[1]),
    open: Number(slices[2]),
    flows: Number(field(/^flows:\s+(\d+)$/m)[1]),
    events: Number(field(/^events:\s+(\d+)/m)[1]),
    output: r.stdout,
  };
}

/** Children started by startActrace that are still running, killed by killAll(). */
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/**
 * Starts `actrace ARGS...` in the background and waits until its stdout
 * matches `ready` (a RegExp); fails if it exits or `timeout` ms pass first.
 * Returns {child, match, output(), exited (a promise of {code, signal}),
 * stop(signal)}; stop() resolves once the process has ended.
 */
export async function startActrace(args, ready, timeout = 30000) {
  const child = spawn(actraceBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const exited = new Promise((r) => child.on('exit', (code, signal) => {
    children.delete(child);
    r({ code, signal });
  }));
  const proc = {
    child,
    exited,
    output: () => ({ stdout: out, stderr: err }),
    stop: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  child.stderr.on('data', (d) => (err += d));
  proc.match = await new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeout} ms`)), timeout);
    const fail = (e) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`actrace ${args.join(' ')}: ${e.message}\nstdout: ${out}\nstderr: ${err}`));
    };
    child.on('error', fail);
    exited.then(({ code, signal }) => fail(new Error(`exited (${code ?? signal}) before printing ${ready}`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolveReady(m);
      }
    });
  });
  return proc;
}

/** Kills every child startActrace started that is still running, and waits for them. */
export async function killAll() {
  await Promise.all([...children].map((c) => new Promise((r) => {
    c.once('exit', r);
    c.kill('SIGKILL');
  })));
}

/** A new page on any address (e.g. a viewer served by actrace itself). */
export async function openPage(browser, url, { viewport = { width: 1280, height: 760 } } = {}) {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(new Error(`console: ${m.text()}`));
  });
  await page.goto(url);
  await page.waitForFunction(() => window.actraceViewer && typeof window.actraceViewer.stats === 'function');
  return page;
}
