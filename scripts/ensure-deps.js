#!/usr/bin/env node
// Runs before `npm start` and `npm test` build anything: installs the locked dependencies (`npm ci`) when node_modules
// is missing or does not match package-lock.json, so that a fresh clone needs nothing but `npm start` / `npm test`.
// Plain Node, no dependencies: it runs before anything is installed.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Why node_modules does not hold what package-lock.json locks, or undefined when it does. npm records the tree it
 * installed in node_modules/.package-lock.json; every package the lock needs on this machine (optional ones may be
 * for other platforms) must be there at the locked version.
 */
function staleness() {
  const lock = readJson(path.join(root, 'package-lock.json'));
  if (!lock || !lock.packages) return undefined; // nothing to compare with: leave it to npm
  const installed = readJson(path.join(root, 'node_modules', '.package-lock.json'));
  if (!installed || !installed.packages) return 'node_modules is missing';
  for (const [name, locked] of Object.entries(lock.packages)) {
    if (name === '' || locked.optional || locked.peer) continue;
    const have = installed.packages[name];
    if (!have) return `${name.replace(/^.*node_modules\//, '')} is not installed`;
    if (have.version !== locked.version) {
      return `${name.replace(/^.*node_modules\//, '')} is ${have.version}, the lock says ${locked.version}`;
    }
  }
  return undefined;
}

function main() {
  const why = staleness();
  if (why === undefined) return 0;
  process.stderr.write(`pgkeep: ${why}: installing the locked dependencies (npm ci)\n`);
  // Under `npm run`, npm_execpath is the npm that runs us; otherwise the one on PATH.
  const [cmd, args] = process.env.npm_execpath
    ? [process.execPath, [process.env.npm_execpath, 'ci', '--no-audit', '--no-fund']]
    : ['npm', ['ci', '--no-audit', '--no-fund']];
  const res = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status === 0) return 0;
  process.stderr.write('pgkeep: npm ci failed; run it yourself in the repository: npm ci\n');
  return 1;
}

process.exitCode = main();
