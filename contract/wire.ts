/**
 * How the Workbench API travels between a front and the service, over Electron IPC and over the
 * `ablate serve` WebSocket. One definition for both ends.
 *
 * WebSocket (JSON; non-finite numbers travel as {"$num":"NaN"} so diverged losses survive):
 *   client → server  {id, method, params: [...]}
 *   server → client  {id, result} | {id, error: WireError}
 *   server → client  {events: WorkbenchEvent[]}   (pushed, one message per service batch)
 *
 * Electron IPC: one `invoke` channel per method (IPC_PREFIX + method) answering an IpcReply (a
 * thrown error would lose its issues crossing IPC and the context bridge), and event batches on
 * IPC_EVENT_CHANNEL.
 */
import type { WireError } from './errors';
import type { RemoteMethod, WorkbenchApi, WorkbenchEvent } from './api';

/** Channel of method `m` is IPC_PREFIX + m. */
export const IPC_PREFIX = 'workbench:';
/** Main → renderer: one WorkbenchEvent[] per service batch. */
export const IPC_EVENT_CHANNEL = 'workbench:events';
/** Renderer → main: save a file through the native dialog (Electron only). */
export const IPC_SAVE_CHANNEL = 'workbench:saveFile';

/** What every IPC method channel answers. */
export type IpcReply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: WireError };

/**
 * What preload exposes as `window.workbench`: each remote method answers its IpcReply unopened
 * (an Error crossing the context bridge keeps only its message), and the renderer's transport
 * turns a failed reply into a UserError with its issues.
 */
export type PreloadBridge = { readonly [M in RemoteMethod]: (...args: Parameters<WorkbenchApi[M]>) => Promise<IpcReply> } & Pick<WorkbenchApi, 'onEvent' | 'saveFile'>;

export interface SocketCall {
  readonly id: number;
  readonly method: RemoteMethod;
  readonly params: readonly unknown[];
}

export type SocketMessage =
  | { readonly id: number | null; readonly result: unknown }
  | { readonly id: number | null; readonly error: WireError }
  | { readonly events: readonly WorkbenchEvent[] };

/** JSON that keeps NaN/±Infinity (a diverged loss is data). */
export function encodeMessage(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v));
}

/**
 * Inverse of encodeMessage. A text that cannot hold a `$num` key (no `$num`, no `\u` escape that
 * could spell one) is parsed without the reviver: called for each value of Compare's metrics
 * answer (100 runs' curves, 1.9 MB) it made the parse 28–45 ms instead of 5–18 (Node 20, same text).
 */
export function decodeMessage(text: string): unknown {
  if (!text.includes('$num') && !text.includes('\\u')) return JSON.parse(text);
  return JSON.parse(text, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { $num?: unknown }).$num === 'string' ? Number((v as { $num: string }).$num) : v,
  );
}
