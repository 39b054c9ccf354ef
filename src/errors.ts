// Typed errors of wasm-session. Each carries a stable `code` so callers can
// branch without instanceof across package copies.

/** A WebAssembly trap (out-of-bounds access, unreachable) in a named operation. */
export class WasmTrapError extends Error {
  readonly code = 'ERR_WASM_TRAP';
  readonly operation: string;
  constructor(operation: string, cause: unknown) {
    super(`wasm-session: WebAssembly trap in ${operation}: ${(cause as Error)?.message ?? cause}`, { cause });
    this.name = 'WasmTrapError';
    this.operation = operation;
  }
}
