// How devhost stops on SIGINT/SIGTERM (issues 11 and 18): it takes no new HTTP requests, queue messages, timer runs or
// durable work at once; lets running work end for a few seconds, then abandons what is left (the next start redoes
// it); runs appTerminate hooks; and only then stops Azurite and waits until Azurite has written its data and exited.
import type { AzuriteStopped, RunningAzurite } from './azurite';

/** Something that runs work: stop() takes no new work and resolves when the running work has ended. */
export interface WorkSource {
  readonly name: string;
  stop(): Promise<void>;
  /** Gives up on what still runs so that the next start redoes it; returns how much that was. */
  abandon?(): Promise<number> | number;
}

export interface ShutdownOptions {
  log: (line: string) => void;
  /** How long running work may take to end before it is abandoned. */
  graceMs: number;
  /** Signals closer together than this count as one: `npm start` forwards the terminal's Ctrl-C to devhost. */
  sameSignalMs: number;
  exit: (code: number) => void;
  /** SIGKILLs the processes devhost's functions started, sparing `keep`; returns how many (children.ts). */
  killChildProcesses: (keep: readonly number[]) => number;
}

/**
 * One signal stops devhost as described above. A second stops waiting for running work (it runs again after the next
 * start) but still waits for Azurite to write its data. A third exits at once; Azurite, in its own process group and
 * tied to devhost by its stdin lifeline, still finishes writing and exits by itself.
 */
export class Shutdown {
  #signals = 0;
  #lastSignalAt = 0;
  #running: Promise<void> | undefined;
  readonly #hurry = new AbortController();
  readonly #work: WorkSource[] = [];
  readonly #hooks: (() => Promise<void>)[] = [];
  #http: { beginStopping(): void; idleNow(): Promise<void>; close(): void } | undefined;
  #azurite: RunningAzurite | undefined;

  constructor(private readonly o: ShutdownOptions) {}

  /** True from the first signal (or a failed start) on: start-up stops adding listeners and work. */
  get stopping(): boolean {
    return this.#running !== undefined;
  }

  setHttp(http: { beginStopping(): void; idleNow(): Promise<void>; close(): void }): void {
    this.#http = http;
    if (this.stopping) http.beginStopping();
  }

  addWork(source: WorkSource): void {
    this.#work.push(source);
  }

  addHook(hook: () => Promise<void>): void {
    this.#hooks.push(hook);
  }

  setAzurite(azurite: RunningAzurite): void {
    this.#azurite = azurite;
  }

  onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (now - this.#lastSignalAt < this.o.sameSignalMs) return;
    this.#lastSignalAt = now;
    this.#signals++;
    const { log } = this.o;
    if (this.#signals === 1) {
      log(
        `devhost: stopping (${signal}): no new requests or work; running functions get ${this.o.graceMs / 1000} s ` +
          'to end, then Azurite writes its data and stops (Ctrl+C again: stop waiting for running functions)',
      );
      void this.stop(0);
    } else if (this.#signals === 2) {
      log(
        'devhost: not waiting for running functions: they run again after the next start; still waiting for ' +
          'Azurite to write its data (Ctrl+C again: exit now and let Azurite finish in the background)',
      );
      this.#hurry.abort();
    } else {
      const pid = this.#azurite ? ` (pid ${this.#azurite.pid})` : '';
      log(
        `devhost: exiting now; Azurite${pid} finishes writing its data and exits by itself — a start before it ` +
          'has exited finds its ports in use',
      );
      this.o.exit(130);
    }
  }

  /** Stops everything in order and exits with `code`; a second call joins the first. */
  stop(code: number): Promise<void> {
    return (this.#running ??= this.#run(code));
  }

  async #run(code: number): Promise<void> {
    const { log } = this.o;
    this.#http?.beginStopping();
    const stopped = Promise.all([
      ...this.#work.map((w) => w.stop().catch((err: unknown) => log(`devhost: stopping ${w.name}: ${message(err)}`))),
      this.#http?.idleNow(),
    ]);
    if (!(await this.#within(stopped, this.o.graceMs))) {
      let left = 0;
      for (const w of this.#work) left += (await w.abandon?.()) ?? 0;
      log(`devhost: abandoned ${left} running function(s) and message(s); the next start runs them again`);
      // Their tools (pg_dump, pg_restore, zstd) go with them; Azurite, which must still write its data, stays.
      const killed = this.o.killChildProcesses(this.#azurite ? [this.#azurite.pid] : []);
      if (killed > 0) log(`devhost: stopped ${killed} process(es) the abandoned functions had started`);
    }
    this.#http?.close();
    for (const hook of this.#hooks.reverse()) {
      try {
        await hook();
      } catch (err) {
        log(`devhost: error while stopping: ${message(err)}`);
      }
    }
    if (this.#azurite) log(describeStopped(await this.#azurite.stop()));
    this.o.exit(code);
  }

  /** Waits for `p` until `ms` pass or a second signal arrives; true when `p` won. */
  async #within(p: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const signal = this.#hurry.signal;
    const gaveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      signal.addEventListener('abort', () => resolve(false), { once: true });
    });
    try {
      return await Promise.race([p.then(() => true as const), gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function describeStopped(s: AzuriteStopped): string {
  if (s.clean) return `Azurite stopped; its data is written (${s.ms} ms)`;
  const how = s.signal ? `signal ${s.signal}` : `exit code ${s.code}`;
  return `Azurite ended by ${how} after ${s.ms} ms: writes of its last seconds may be lost`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
