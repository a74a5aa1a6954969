// Loads a compiled Functions app the way the Node worker does: package.json "main" (a glob), each file required or
// imported in order, then appStart hooks and getCapabilities; refuses bindings devhost cannot run.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionRegistry, RegisteredFunction } from './core-shim';

function globToRegExp(segment: string): RegExp {
  const body = segment
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** Expands a package.json "main" pattern (`*`, `?`, `**` segments) relative to the app root; sorted like globby. */
export function expandMainGlob(appRoot: string, pattern: string): string[] {
  const segments = path.posix.normalize(pattern.replace(/\\/g, '/')).split('/');
  const results = new Set<string>();
  const walk = (dir: string, i: number): void => {
    if (i === segments.length) {
      if (fs.existsSync(dir) && fs.statSync(dir).isFile()) results.add(dir);
      return;
    }
    const seg = segments[i]!;
    if (seg === '**') {
      walk(dir, i + 1);
      for (const e of safeReaddir(dir)) if (e.isDirectory()) walk(path.join(dir, e.name), i);
    } else if (/[*?]/.test(seg)) {
      const re = globToRegExp(seg);
      for (const e of safeReaddir(dir)) if (re.test(e.name)) walk(path.join(dir, e.name), i + 1);
    } else {
      walk(path.join(dir, seg), i + 1);
    }
  };
  walk(path.resolve(appRoot), 0);
  return [...results].sort();
}

function safeReaddir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** The app's entry files; empty when the glob matches nothing (the caller reports it, as the worker does). */
export function resolveAppFiles(appRoot: string): { main: string; files: string[] } {
  const pkgFile = path.join(appRoot, 'package.json');
  if (!fs.existsSync(pkgFile))
    throw new Error(`no package.json in ${appRoot}: devhost needs its "main" to find the app`);
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { main?: unknown };
  if (typeof pkg.main !== 'string' || pkg.main === '') throw new Error(`${pkgFile} has no "main"`);
  return { main: pkg.main, files: expandMainGlob(appRoot, pkg.main) };
}

function isEsm(file: string, appRoot: string): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(appRoot, 'package.json'), 'utf8')) as { type?: string };
    return pkg.type === 'module';
  } catch {
    return false;
  }
}

/** Requires (or imports) each app file; like the worker on Node 20+, any load error is fatal. */
export async function loadAppFiles(appRoot: string, files: string[]): Promise<void> {
  for (const file of files) {
    try {
      if (isEsm(file, appRoot)) await import(pathToFileURL(file).href);
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS apps load synchronously, as in the worker
      else require(file);
    } catch (err) {
      const why = err instanceof Error ? (err.stack ?? err.message) : String(err);
      throw new Error(`failed to load ${path.relative(appRoot, file)}: ${why}`);
    }
  }
}

export const SUPPORTED_TRIGGERS = [
  'httpTrigger',
  'timerTrigger',
  'queueTrigger',
  'orchestrationTrigger',
  'activityTrigger',
];
const SUPPORTED_INPUTS = ['durableClient'];
const SUPPORTED_OUTPUTS = ['http', 'queue'];

export function triggerOf(fn: RegisteredFunction): { key: string; type: string; binding: Record<string, unknown> } {
  for (const [key, b] of Object.entries(fn.bindings)) {
    if (/trigger$/i.test(b.type)) return { key, type: b.type, binding: b };
  }
  throw new Error(`function ${fn.name} has no trigger binding`);
}

/** Throws one clear error listing every registration devhost cannot run (instead of silently ignoring it). */
export function validateRegistrations(registry: FunctionRegistry): void {
  const problems: string[] = [];
  for (const fn of registry.functions.values()) {
    for (const b of Object.values(fn.bindings)) {
      const isTrigger = /trigger$/i.test(b.type);
      const ok = isTrigger
        ? SUPPORTED_TRIGGERS.includes(b.type)
        : b.direction === 'in'
          ? SUPPORTED_INPUTS.includes(b.type)
          : SUPPORTED_OUTPUTS.includes(b.type);
      if (!ok) {
        const kind = isTrigger ? 'trigger' : b.direction === 'in' ? 'input binding' : 'output binding';
        problems.push(`function ${fn.name}: ${kind} type "${b.type}" is not supported by devhost`);
      }
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${problems.join('\n')}\n(devhost runs ${SUPPORTED_TRIGGERS.join(', ')} triggers; see devhost/README.md)`,
    );
  }
}

interface ProgrammingModelLike {
  getCapabilities?(caps: Record<string, string>): Promise<Record<string, string>> | Record<string, string>;
}

/**
 * Locks app.setup() as the worker does and refuses HTTP streaming, which would need a proxy devhost does not
 * implement.
 */
export async function checkCapabilities(registry: FunctionRegistry): Promise<void> {
  const pm = registry.getProgrammingModel() as ProgrammingModelLike | undefined;
  if (!pm?.getCapabilities) return;
  const caps = await pm.getCapabilities({});
  if (caps && typeof caps === 'object' && 'HttpUri' in caps) {
    throw new Error(
      'the app enables HTTP streaming (app.setup({ enableHttpStream: true })), which devhost does not support',
    );
  }
}
