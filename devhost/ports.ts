// Whether a port can be taken, and the refusal devhost prints when it cannot: `npm start` never reports ready against
// someone else's host or emulator.
import { createServer } from 'node:net';

/** A start-up refusal: devhost prints its message as one line and exits non-zero. */
export class PortInUseError extends Error {}

/**
 * Whether this process could listen on `port` (on `host`, or on every address when undefined, as the HTTP server
 * does). A port another process holds is in use even when it does not accept connections yet.
 */
export function portFree(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(false) : reject(err),
    );
    srv.listen({ port, ...(host ? { host } : {}) }, () => srv.close(() => resolve(true)));
  });
}

/** The one-line refusal for the HTTP port. */
export function httpPortInUse(port: number): PortInUseError {
  return new PortInUseError(
    `port ${port} is in use by another process (another npm start?); stop it, or pass --port <n>`,
  );
}
