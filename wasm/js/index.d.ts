// Types of the `actrace` package's entry point. The tracer's classes are
// declared by wasm-bindgen in actrace_wasm.d.ts.

import { Tracer } from './actrace_wasm.js';

export { Tracer, Context, NodeInfo, StackKind, TracerOptions } from './actrace_wasm.js';

/** What `init` accepts: the .wasm file's URL, its bytes, or a compiled module. */
export type WasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

/** Loads the WebAssembly module; await it once before `new Tracer()`. */
export function init(input?: WasmSource | Promise<WasmSource>): Promise<void>;
export default init;

/** The events of one sink chunk as Chrome trace event objects. */
export function decodeEvents(bytes: Uint8Array): Array<Record<string, unknown>>;

export interface Recording {
  /** The trace so far, closed as valid JSON. */
  bytes(): Uint8Array;
  /** The trace so far as text. */
  text(): string;
  /** Offers the trace so far as a download. */
  download(filename?: string): void;
  /** Stops recording. */
  stop(): void;
}

/** Records the stream from now on. */
export function recordTrace(tracer: Tracer): Recording;

/** Posts every batch as `{events}` on a BroadcastChannel (default "actrace"). */
export function broadcastTrace(tracer: Tracer, options?: { channel?: string }): {
  channel: BroadcastChannel;
  close(): void;
};

/** Sends the stream to a websocket server, one binary message per batch. */
export function streamToWebSocket(tracer: Tracer, url: string | URL, options?: { protocols?: string | string[] }): {
  socket: WebSocket;
  close(): void;
};
