// Serves the console's built files (dist/console/public, made by scripts/build-console.ts) from the host's root:
// a file that exists is sent with its type and caching rule, any other path that is not an asset is a page of the
// single-page console and gets index.html, and /api/… is never answered here (the caller sends the API's 404).
// Precompressed `.gz` siblings are sent to clients that accept gzip.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface StaticResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Everything the page loads comes from this app: no CDN, no inline script, nothing to frame it. Inline style
 * attributes are allowed for the charts' computed sizes only through the CSSOM (which CSP does not govern).
 */
export const consoleSecurityHeaders: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** True for paths the console must never answer: the API's own namespace. */
export function isApiPath(pathname: string): boolean {
  return /^\/api(\/|$)/i.test(pathname);
}

async function fileAt(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export function createConsoleFiles(root: string) {
  const base = path.resolve(root);

  /** The file a URL path names inside the root, or undefined when it would leave it or is not a plain path. */
  function resolve(pathname: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return undefined;
    }
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (decoded.includes('\\') || /[\0-\x1f]/.test(decoded)) return undefined;
    const segments = decoded.split('/').filter((s) => s !== '');
    if (segments.some((s) => s === '.' || s === '..' || s.startsWith('.'))) return undefined;
    const file = path.join(base, ...segments);
    return file.startsWith(base + path.sep) || file === base ? file : undefined;
  }

  async function send(file: string, acceptsGzip: boolean, headOnly: boolean): Promise<StaticResponse> {
    const ext = path.extname(file);
    const hashed = /[.-][A-Z0-9]{8,}\.[a-z]+$/i.test(path.basename(file));
    const headers: Record<string, string> = {
      'content-type': types[ext] ?? 'application/octet-stream',
      // Bundles carry a content hash in their names and never change; index.html names the current ones.
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(ext === '.html' ? consoleSecurityHeaders : { 'x-content-type-options': 'nosniff' }),
    };
    let body: Buffer | undefined;
    if (acceptsGzip && (await fileAt(`${file}.gz`))) {
      headers['content-encoding'] = 'gzip';
      headers.vary = 'accept-encoding';
      body = await readFile(`${file}.gz`);
    } else {
      body = await readFile(file);
    }
    return headOnly ? { status: 200, headers } : { status: 200, headers, body };
  }

  /** The response for a GET or HEAD of `pathname`, or undefined when the console has nothing there (send a 404). */
  async function serve(
    pathname: string,
    options: { acceptEncoding?: string | null; head?: boolean } = {},
  ): Promise<StaticResponse | undefined> {
    if (isApiPath(pathname)) return undefined;
    const gzip = /\bgzip\b/i.test(options.acceptEncoding ?? '');
    const file = resolve(pathname);
    if (file === undefined) return undefined;
    if (file !== base && (await fileAt(file))) return send(file, gzip, options.head === true);
    // A console page (/instances/orders, /instances/orders.v2): the app's shell, which routes in the browser. A
    // missing asset (under assets/, or with a file type the console ships) stays a 404.
    const asset = path.relative(base, file).split(path.sep)[0] === 'assets' || types[path.extname(file)] !== undefined;
    if (!asset) {
      const index = path.join(base, 'index.html');
      if (await fileAt(index)) return send(index, gzip, options.head === true);
    }
    return undefined;
  }

  return { serve };
}
