// The per-table checksum of the manifest of contents: FNV-1a 64 of every COPY text row, summed modulo 2^64
// (copy-checksum.wat defines it and says why; docs/decisions.md "Restore tests" documents it for auditors). The
// backup computes it from the data blocks of the dump as they pass, the restore test from COPY … TO STDOUT of the
// restored table; equal data gives equal sums whatever the order of the rows.

/**
 * The compiled copy-checksum.wat (wabt 1.0.39, default features). test/unit/adapters/postgres/copy-checksum.test.ts
 * compiles the .wat again and fails, printing the new bytes, when this is stale.
 */
export const COPY_CHECKSUM_WASM_BASE64 =
  'AGFzbQEAAAABGwZgAn9/AGACf38Bf2AAAGABfwBgAAF+YAABfwMODQABAgEBAwECAgQEBAUFAwEAAwZKDX4BQqXGiKHInKf5Swt/AUEAC34BQgALfgFCAAt+AUIAC38BQQALfwFBAAt+AUIAC38BQQALfgFCAAt/AUEAC38BQQALfwFBAAsHTgkGbWVtb3J5AgAEdGV4dAAFBmZyYW1lZAAGBWZsdXNoAAcFcmVzZXQACANzdW0ACQRyb3dzAAoMcGF5bG9hZEJ5dGVzAAsFcGhhc2UADAq2FA1EAQF/IwQgASAAa618JAQjDARADwsgACABEAEhAiMMIAIgAU9yBEAPCyACIAEQBCECIwwgAiABT3IEQA8LIAIgARABGguzAQMBfwJ+An8gACECIwAhBCMKIQUjCyEGAkADQCACIAFPDQEgAjEAACEDIAJBAWohAiADQgpRBEAgBUECRiAGQa64AUZxBEAQAiABDwsjAiAEfCQCIwNCAXwkA0KlxoihyJyn+UskAEEAJAFBACQKQQAkCyACDwsgBCADhUKzg4CAgCB+IQQgBUEBaiEFIAZBCHQgA6dyQf//A3EhBkEBJAEMAAsLIAQkACAFJAogBiQLIAELFgBBASQMQqXGiKHInKf5SyQAQQAkAQtEAQF/AkADQCAAIAFPDQEgAP0ABABBCv0P/SP9ZCECIAIEQCAAIAJoaiEAIAEgACAAIAFPGw8LIABBEGohAAwACwsgAQvTDgsDfwJ+A38BfgN/AX4DfwF+A38BfgF/IAAhAiMCIQUjAyEGAkACQANAIAIgARADIQMgAyABTw0CIAMgAmtBAkYgAi8BAEHc3ABGcQRAQQEhBwwDCyADIAJGBEAgBUKlxoihyJyn+Ut8IQUgBkIBfCEGIANBAWohAgwBCyACIQggAyEJQqXGiKHInKf5SyEKQQEhCyADQQFqIQILCwJAA0AgAiABEAMhAyADIAFPDQIgAyACa0ECRiACLwEAQdzcAEZxBEBBASEHDAMLIAMgAkYEQCAFQqXGiKHInKf5S3whBSAGQgF8IQYgA0EBaiECDAELIAIhDCADIQ1CpcaIocicp/lLIQ5BASEPIANBAWohAgsLAkADQCACIAEQAyEDIAMgAU8NAiADIAJrQQJGIAIvAQBB3NwARnEEQEEBIQcMAwsgAyACRgRAIAVCpcaIocicp/lLfCEFIAZCAXwhBiADQQFqIQIMAQsgAiEQIAMhEUKlxoihyJyn+UshEkEBIRMgA0EBaiECCwsCQANAIAIgARADIQMgAyABTw0CIAMgAmtBAkYgAi8BAEHc3ABGcQRAQQEhBwwDCyADIAJGBEAgBUKlxoihyJyn+Ut8IQUgBkIBfCEGIANBAWohAgwBCyACIRQgAyEVQqXGiKHInKf5SyEWQQEhFyADQQFqIQILCwNAIAkgCGshBCAEIA0gDGsgBCANIAxrSRshBCAEIBEgEGsgBCARIBBrSRshBCAEIBUgFGsgBCAVIBRrSRshBAJAA0AgBEEESQ0BIAogCDEAAIVCs4OAgIAgfiEKIA4gDDEAAIVCs4OAgIAgfiEOIBIgEDEAAIVCs4OAgIAgfiESIBYgFDEAAIVCs4OAgIAgfiEWIAogCDEAAYVCs4OAgIAgfiEKIA4gDDEAAYVCs4OAgIAgfiEOIBIgEDEAAYVCs4OAgIAgfiESIBYgFDEAAYVCs4OAgIAgfiEWIAogCDEAAoVCs4OAgIAgfiEKIA4gDDEAAoVCs4OAgIAgfiEOIBIgEDEAAoVCs4OAgIAgfiESIBYgFDEAAoVCs4OAgIAgfiEWIAogCDEAA4VCs4OAgIAgfiEKIA4gDDEAA4VCs4OAgIAgfiEOIBIgEDEAA4VCs4OAgIAgfiESIBYgFDEAA4VCs4OAgIAgfiEWIAhBBGohCCAMQQRqIQwgEEEEaiEQIBRBBGohFCAEQQRrIQQMAAsLAkADQCAERQ0BIAogCDEAAIVCs4OAgIAgfiEKIAhBAWohCCAOIAwxAACFQrODgICAIH4hDiAMQQFqIQwgEiAQMQAAhUKzg4CAgCB+IRIgEEEBaiEQIBYgFDEAAIVCs4OAgIAgfiEWIBRBAWohFCAEQQFrIQQMAAsLIAggCUYEQCAFIAp8IQUgBkIBfCEGQQAhCwJAA0AgAiABEAMhAyADIAFPDQQgAyACa0ECRiACLwEAQdzcAEZxBEBBASEHDAULIAMgAkYEQCAFQqXGiKHInKf5S3whBSAGQgF8IQYgA0EBaiECDAELIAIhCCADIQlCpcaIocicp/lLIQpBASELIANBAWohAgsLCyAMIA1GBEAgBSAOfCEFIAZCAXwhBkEAIQ8CQANAIAIgARADIQMgAyABTw0EIAMgAmtBAkYgAi8BAEHc3ABGcQRAQQEhBwwFCyADIAJGBEAgBUKlxoihyJyn+Ut8IQUgBkIBfCEGIANBAWohAgwBCyACIQwgAyENQqXGiKHInKf5SyEOQQEhDyADQQFqIQILCwsgECARRgRAIAUgEnwhBSAGQgF8IQZBACETAkADQCACIAEQAyEDIAMgAU8NBCADIAJrQQJGIAIvAQBB3NwARnEEQEEBIQcMBQsgAyACRgRAIAVCpcaIocicp/lLfCEFIAZCAXwhBiADQQFqIQIMAQsgAiEQIAMhEUKlxoihyJyn+UshEkEBIRMgA0EBaiECCwsLIBQgFUYEQCAFIBZ8IQUgBkIBfCEGQQAhFwJAA0AgAiABEAMhAyADIAFPDQQgAyACa0ECRiACLwEAQdzcAEZxBEBBASEHDAULIAMgAkYEQCAFQqXGiKHInKf5S3whBSAGQgF8IQYgA0EBaiECDAELIAIhFCADIRVCpcaIocicp/lLIRZBASEXIANBAWohAgsLCwwACwsgCwRAAkADQCAIIAlPDQEgCiAIMQAAhUKzg4CAgCB+IQogCEEBaiEIDAALCyAFIAp8IQUgBkIBfCEGCyAPBEACQANAIAwgDU8NASAOIAwxAACFQrODgICAIH4hDiAMQQFqIQwMAAsLIAUgDnwhBSAGQgF8IQYLIBMEQAJAA0AgECARTw0BIBIgEDEAAIVCs4OAgIAgfiESIBBBAWohEAwACwsgBSASfCEFIAZCAXwhBgsgFwRAAkADQCAUIBVPDQEgFiAUMQAAhUKzg4CAgCB+IRYgFEEBaiEUDAALCyAFIBZ8IQUgBkIBfCEGCyAFJAIgBiQDIAcEQBACIAEPCyACCwgAQQAgABAAC4ICAQR/QYCABCEFAkADQCACIABPDQEjBUECTw0BIwVFBEAjBkUgAUEERnEgAkEFaiAATXEEQCACLQAAJAggAjUCASQHQQUkBiACQQVqIQIFIAItAAAhAyACQQFqIQIjBkUEQCADJAgFIwcgA60jBkEBa0EIbK2GhCQHCyMGQQFqJAYLIwYgAUsEQCMHUARAQQIkBQUjCARAQQMkBQUjByQJQQEkBQsLQQAkBkIAJAdBACQICwUgACACayEEIwkgBK1UBEAjCachBAsgBSACIAT8CgAAIAUgBGohBSACIARqIQIjCSAErX0kCSMJUARAQQAkBQsLDAALC0GAgAQgBRAAIAILKQAjAQRAIwIjAHwkAiMDQgF8JANCpcaIocicp/lLJABBACQBQQAkCgsLPgBCpcaIocicp/lLJABBACQBQgAkAkIAJANCACQEQQAkBUEAJAZCACQHQQAkCEIAJAlBACQKQQAkC0EAJAwLBAAjAgsEACMDCwQAIwQLBAAjBQs=';

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
