// The per-table checksum of the manifest of contents: FNV-1a 64 of every COPY text row, summed modulo 2^64
// (copy-checksum.wat defines it and says why; docs/decisions.md "Restore tests" documents it for auditors). The
// backup computes it from the data blocks of the dump as they pass, the restore test from COPY … TO STDOUT of the
// restored table; equal data gives equal sums whatever the order of the rows.

/**
 * The compiled copy-checksum.wat (wabt 1.0.39, default features). test/unit/adapters/postgres/copy-checksum.test.ts
 * compiles the .wat again and fails, printing the new bytes, when this is stale.
 */
export const COPY_CHECKSUM_WASM_BASE64 =
  'AGFzbQEAAAABGwZgAn9/AGABfwBgAn9/AX9gAABgAAF+YAABfwMKCQABAgMDBAQEBQUDAQACBkoNfgFCpcaIocicp/lLC38BQQALfgFCAAt+AUIAC34BQgALfwFBAAt/AUEAC34BQgALfwFBAAt+AUIAC38BQQALfwFBAAt/AUEACwdOCQZtZW1vcnkCAAR0ZXh0AAEGZnJhbWVkAAIFZmx1c2gAAwVyZXNldAAEA3N1bQAFBHJvd3MABgxwYXlsb2FkQnl0ZXMABwVwaGFzZQAICq0ECeUBAwF/BH4DfyMEIAEgAGutfCQEIwwEQA8LIAAhAiMAIQQjAiEFIwMhBiMBIQcjCiEIIwshCQJAA0AgAiABTw0BIAIxAAAhAyADQgpRBEAgCEECRiAJQa64AUZxBEBBASQMQqXGiKHInKf5SyEEQQAhBwwDCyAFIAR8IQUgBkIBfCEGQqXGiKHInKf5SyEEQQAhB0EAIQgFIAQgA4VCs4OAgIAgfiEEQQEhByAIQQFqIQggCUEIdCADp3JB//8DcSEJCyACQQFqIQIMAAsLIAQkACAFJAIgBiQDIAckASAIJAogCSQLCwgAQQAgABAAC70BAQN/AkADQCACIABPDQEjBUECTw0BIwVFBEAgAi0AACEDIAJBAWohAiMGRQRAIAMkCAUjByADrSMGQQFrQQhsrYaEJAcLIwZBAWokBiMGIAFLBEAjB1AEQEECJAUFIwgEQEEDJAUFIwckCUEBJAULC0EAJAZCACQHQQAkCAsFIAAgAmshBCMJIAStVARAIwmnIQQLIAIgAiAEahAAIAIgBGohAiMJIAStfSQJIwlQBEBBACQFCwsMAAsLIAILKQAjAQRAIwIjAHwkAiMDQgF8JANCpcaIocicp/lLJABBACQBQQAkCgsLPgBCpcaIocicp/lLJABBACQBQgAkAkIAJANCACQEQQAkBUEAJAZCACQHQQAkCEIAJAlBACQKQQAkC0EAJAwLBAAjAgsEACMDCwQAIwQLBAAjBQs=';

/** What the manifest of contents calls the checksum, so that a later definition can live beside this one. */
export const COPY_CHECKSUM_ALGORITHM = 'fnv1a64-sum-of-copy-rows';

/** One table's contents: how many COPY rows and the sum of their hashes (16 lowercase hex digits). */
export interface TableDigest {
  readonly rows: number;
  readonly checksum: string;
}

interface Exports {
  readonly memory: { readonly buffer: ArrayBuffer };
  text(len: number): void;
  framed(len: number, intSize: number): number;
  flush(): void;
  reset(): void;
  sum(): bigint;
  rows(): bigint;
  payloadBytes(): bigint;
  phase(): number;
}

/** Bytes the module reads per call (its input area at memory offset 0). */
const INPUT_BYTES = 65536;

// @types/node 20 does not declare the WebAssembly global (the DOM library does): the little used here.
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: unknown };
}
const Wasm = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;
const moduleOf = (): object => (compiled ??= new Wasm.Module(Buffer.from(COPY_CHECKSUM_WASM_BASE64, 'base64')));

export type FramedPhase = 'chunkLength' | 'payload' | 'ended' | 'corrupt';
const phases: readonly FramedPhase[] = ['chunkLength', 'payload', 'ended', 'corrupt'];

/**
 * One running checksum (one table at a time). Each instance has its own WebAssembly memory, so concurrent backups in
 * one process never share state. Cheap to create; reuse with reset().
 */
export class CopyChecksum {
  private readonly wasm: Exports;
  private readonly input: Uint8Array;

  constructor() {
    this.wasm = new Wasm.Instance(moduleOf()).exports as Exports;
    this.input = new Uint8Array(this.wasm.memory.buffer, 0, INPUT_BYTES);
  }

  reset(): void {
    this.wasm.reset();
  }

  /** Adds raw COPY text (rows ending in newlines; a row may span calls). */
  text(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length; off += INPUT_BYTES) {
      const piece = bytes.subarray(off, Math.min(bytes.length, off + INPUT_BYTES));
      this.input.set(piece);
      this.wasm.text(piece.length);
    }
  }

  /**
   * Reads a custom-format data block's chunks from `bytes` (from `offset`), hashing their text, until the block's
   * end mark or the end of `bytes`. Returns the offset after what it used and where in the block it stands.
   */
  framed(bytes: Uint8Array, offset: number, intSize: number): { readonly next: number; readonly phase: FramedPhase } {
    let off = offset;
    while (off < bytes.length) {
      const piece = bytes.subarray(off, Math.min(bytes.length, off + INPUT_BYTES));
      this.input.set(piece);
      off += this.wasm.framed(piece.length, intSize);
      const phase = this.wasm.phase();
      if (phase >= 2) return { next: off, phase: phases[phase] ?? 'corrupt' };
    }
    return { next: off, phase: phases[this.wasm.phase()] ?? 'corrupt' };
  }

  /** Bytes of COPY text hashed since reset (a data block's payload). */
  payloadBytes(): number {
    return Number(this.wasm.payloadBytes());
  }

  /** The table's digest so far; a last row without its newline counts as a row. */
  digest(): TableDigest {
    this.wasm.flush();
    return {
      rows: Number(this.wasm.rows()),
      checksum: BigInt.asUintN(64, this.wasm.sum()).toString(16).padStart(16, '0'),
    };
  }
}
