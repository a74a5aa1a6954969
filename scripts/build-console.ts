// Builds the web console (console/) into static files the app serves from its root (functions/console.ts): tsc checks
// console/ against its own tsconfig (DOM types), esbuild bundles console/src/main.tsx (Preact, the contracts' zod
// schemas) into content-hashed assets, index.html names them, and each gets a gzip sibling. Run by `npm run build`
// after tsc; does nothing when no input changed since the last build (npm start and npm test build every time).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

// Compiled into dist/scripts/, or run from scripts/ by the tests.
const repoRoot = path.resolve(__dirname, path.basename(path.dirname(__dirname)) === 'dist' ? '../..' : '..');
export const consoleSource = path.join(repoRoot, 'console');
export const consoleOutput = path.join(repoRoot, 'dist/console/public');

export interface BuiltFile {
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

/**
 * `import { z } from 'zod'` (how the contracts import it) makes esbuild keep zod's whole namespace object, every
 * locale included (~450 KiB); `import * as z from 'zod'` lets it keep only what is used (~85 KiB). Same module, same
 * bindings: the bundle rewrites the import instead of every contract file having to remember it.
 */
const zodNamespaceImports: Plugin = {
  name: 'zod-namespace-imports',
  setup(b) {
    b.onLoad({ filter: /\.tsx?$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = await readFile(args.path, 'utf8');
      const contents = source.replace(/^import \{ z \} from 'zod';$/m, "import * as z from 'zod';");
      return { contents, loader: args.path.endsWith('.tsx') ? 'tsx' : 'ts' };
    });
  },
};

/**
 * The shared modules the console imports (contracts, errors, the domain's types) do nothing when loaded but declare
 * things; telling esbuild so lets it drop what the console never uses — e.g. `contracts/policies.ts` also exports the
 * policy parser for the API and the CLI, which would otherwise bring CLDR's zone tables (~45 KiB) into the page.
 */
const sharedHasNoSideEffects: Plugin = {
  name: 'shared-has-no-side-effects',
  setup(b) {
    const shared = path.join(repoRoot, 'shared') + path.sep;
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'resolving') return undefined;
      const result = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolving',
      });
      if (result.errors.length > 0 || !result.path.startsWith(shared)) return undefined;
      return { path: result.path, sideEffects: false };
    });
  },
};

const stampFile = path.join(path.dirname(consoleOutput), '.build-stamp');

function newestMtime(entry: string): number {
  const info = statSync(entry, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

/** The newest change among what the bundle is made of: the console, the shared code it imports, the locked deps. */
function newestInput(): number {
  return Math.max(
    ...[consoleSource, path.join(repoRoot, 'shared'), path.join(repoRoot, 'package-lock.json'), __filename].map(
      newestMtime,
    ),
  );
}

/** Whether the last build used inputs at least as new as today's (and its output is still there). */
export function consoleUpToDate(): boolean {
  if (!existsSync(path.join(consoleOutput, 'index.html')) || !existsSync(stampFile)) return false;
  return Number(readFileSync(stampFile, 'utf8')) >= newestInput();
}

/** tsc over console/ (incremental): the bundler strips types without checking them. */
export function typeCheckConsole(): void {
  const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(consoleSource, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`console/ does not type-check:\n${result.stdout}${result.stderr}`);
}

export async function buildConsole(options: { outDir?: string } = {}): Promise<BuiltFile[]> {
  const outDir = options.outDir ?? consoleOutput;
  const inputsAsOf = newestInput();
  typeCheckConsole();
  await rm(outDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [path.join(consoleSource, 'src/main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    entryNames: 'assets/app-[hash]',
    assetNames: 'assets/[name]-[hash]',
    outdir: outDir,
    metafile: true,
    logLevel: 'warning',
    plugins: [zodNamespaceImports, sharedHasNoSideEffects],
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(outDir, path.resolve(repoRoot, f)));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  if (!script || !style) throw new Error(`esbuild produced no script or stylesheet: ${outputs.join(', ')}`);
  const template = await readFile(path.join(consoleSource, 'index.html'), 'utf8');
  const html = template.replace('%SCRIPT%', `/${script}`).replace('%STYLE%', `/${style}`);
  await writeFile(path.join(outDir, 'index.html'), html);

  const built: BuiltFile[] = [];
  for (const name of ['index.html', script, style]) {
    const bytes = await readFile(path.join(outDir, name));
    const gz = gzipSync(bytes, { level: 9 });
    await mkdir(path.dirname(path.join(outDir, name)), { recursive: true });
    await writeFile(path.join(outDir, `${name}.gz`), gz);
    built.push({ name, bytes: bytes.length, gzipBytes: gz.length });
  }
  if (outDir === consoleOutput) await writeFile(stampFile, String(inputsAsOf));
  return built;
}

export function describeBuild(files: readonly BuiltFile[]): string {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  const total = files.reduce((s, f) => s + f.gzipBytes, 0);
  return [
    ...files.map((f) => `  ${f.name.padEnd(32)} ${kib(f.bytes).padStart(10)}  gzip ${kib(f.gzipBytes).padStart(9)}`),
    `  ${'total'.padEnd(32)} ${''.padStart(10)}  gzip ${kib(total).padStart(9)}`,
  ].join('\n');
}

if (require.main === module) {
  if (consoleUpToDate() && !process.argv.includes('--force')) {
    process.stdout.write('console: up to date\n');
    process.exit(0);
  }
  buildConsole()
    .then((files) =>
      process.stdout.write(`console: built into ${path.relative(repoRoot, consoleOutput)}\n${describeBuild(files)}\n`),
    )
    .catch((err: unknown) => {
      process.stderr.write(`console: build failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
