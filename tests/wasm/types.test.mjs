// The package's TypeScript declarations, as a fresh project (example/) sees
// them through package.json "exports": correct use type-checks, misuse does
// not. wasm-bindgen's declarations use Symbol.dispose, so the consumer's
// lib must include esnext.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EXAMPLE, HERE } from './lib.mjs';

const TSC = join(HERE, 'node_modules', 'typescript', 'bin', 'tsc');
const OPTIONS = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'esnext,dom'];

function tsc(file) {
  return spawnSync(process.execPath, [TSC, ...OPTIONS, file], { cwd: EXAMPLE, encoding: 'utf8' });
}

test('the example use of the API type-checks', () => {
  const r = tsc('types-check.ts');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('misuse is a type error', () => {
  const r = tsc('types-misuse.ts');
  assert.notEqual(r.status, 0);
  const lines = [...r.stdout.matchAll(/types-misuse\.ts\((\d+),\d+\): error/g)].map((m) => Number(m[1]));
  assert.deepEqual([...new Set(lines)], [5, 6, 7], r.stdout);
});
