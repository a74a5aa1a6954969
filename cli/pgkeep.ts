#!/usr/bin/env node
// Entry point of the `pgkeep` bin: wires run() to the process; all behaviour is in main.ts.
import { readFile } from 'node:fs/promises';
import { run } from './main';

run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (path) => readFile(path, 'utf8'),
  env: process.env,
  ...(process.stderr.isTTY && { terminal: process.stderr }),
  onInterrupt: (handler) => {
    process.on('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    // run() never rejects; this only guards against a broken pipe on stdout or stderr.
    process.exitCode = 1;
  },
);
