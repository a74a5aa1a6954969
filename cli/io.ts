// What the CLI needs from its process, as one object: tests call run() with their own, the bin passes the real one.

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads a whole UTF-8 file; rejects like fs.promises.readFile (with `code` such as ENOENT). */
  readFile(path: string): Promise<string>;
  /** The environment (PGKEEP_API_URL, PGKEEP_API_KEY, PGKEEP_API_SCOPE); empty when omitted. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A terminal to draw progress bars on (the process's stderr when it is one); plain lines otherwise. */
  readonly terminal?: NodeJS.WritableStream;
  /** Calls `handler` on Ctrl-C until the returned function is called; Ctrl-C keeps its default meaning otherwise. */
  onInterrupt?(handler: () => void): () => void;
  /** Milliseconds since the epoch; Date.now when omitted. */
  now?(): number;
}

export function envOf(io: CliIo, name: string): string | undefined {
  const value = io.env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

export function nowOf(io: CliIo): number {
  return io.now ? io.now() : Date.now();
}
