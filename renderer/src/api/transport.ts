/**
 * The renderer's one door to the workbench: Electron's preload API (window.workbench) when the app
 * runs in Electron, otherwise a WebSocket client to `ablate serve` with the same typed interface.
 * Views never know which one they got.
 */
import { REMOTE_METHOD_NAMES, type RemoteMethod, type WorkbenchApi, type WorkbenchEvent } from '../../../contract/api';
import { fromWireError, UserError } from '../../../contract/errors';
import { decodeMessage, encodeMessage, type IpcReply, type PreloadBridge, type SocketMessage } from '../../../contract/wire';

declare global {
  interface Window {
    /** Exposed by preload/index.ts through contextBridge (Electron only). */
    workbench?: PreloadBridge;
  }
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The API plus what only a network connection has: its state, and a way to learn of reconnects. */
export interface WorkbenchClient extends WorkbenchApi {
  readonly kind: 'electron' | 'websocket';
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

/** Minimal WebSocket surface used here (so tests can pass a fake). */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** The API URL for the page we were served from; the token (if any) comes along from ?token=. */
export function socketUrl(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get('token');
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/**
 * WebSocket client: calls wait for the connection, lost connections are retried with back-off, and
 * calls in flight when it drops fail (the caller shows the error; stores refetch on reconnect).
 */
export function createSocketClient(url: string, open: (url: string) => SocketLike = (u) => new WebSocket(u) as unknown as SocketLike): WorkbenchClient {
  let socket: SocketLike | null = null;
  let state: ConnectionState = 'connecting';
  let nextId = 1;
  let retryMs = 250;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const outbox: string[] = [];
  const eventListeners = new Set<(e: WorkbenchEvent) => void>();
  const connectionListeners = new Set<(s: ConnectionState) => void>();

  const setState = (s: ConnectionState) => {
    state = s;
    for (const l of connectionListeners) l(s);
  };
  const connect = () => {
    const ws = open(url);
    socket = ws;
    ws.onopen = () => {
      retryMs = 250;
      setState('open');
      for (const m of outbox.splice(0)) ws.send(m);
    };
    ws.onmessage = (ev) => {
      const msg = decodeMessage(String(ev.data)) as SocketMessage;
      if ('events' in msg) {
        for (const e of msg.events) for (const l of eventListeners) l(e);
        return;
      }
      const call = msg.id === null ? undefined : pending.get(msg.id);
      if (!call || msg.id === null) return;
      pending.delete(msg.id);
      if ('error' in msg) call.reject(fromWireError(msg.error));
      else call.resolve(msg.result);
    };
    ws.onclose = () => {
      for (const [, call] of pending) call.reject(new UserError('connection to the workbench lost'));
      pending.clear();
      setState('closed');
      setTimeout(() => {
        setState('connecting');
        connect();
      }, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
    ws.onerror = () => {};
  };

  const call = (method: RemoteMethod, params: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const text = encodeMessage({ id, method, params });
      if (socket && state === 'open') socket.send(text);
      else outbox.push(text);
    });

  connect();
  return withRemoteMethods(
    {
      kind: 'websocket',
      onEvent(listener: (e: WorkbenchEvent) => void) {
        eventListeners.add(listener);
        return () => void eventListeners.delete(listener);
      },
      onConnection(listener: (s: ConnectionState) => void) {
        connectionListeners.add(listener);
        listener(state);
        return () => void connectionListeners.delete(listener);
      },
      async saveFile(suggestedName: string, content: string): Promise<string | null> {
        downloadFile(suggestedName, content);
        return suggestedName;
      },
    },
    call,
  );
}

/** Browser "save": a download of text or of a data: URL (chart PNG/SVG). */
export function downloadFile(name: string, content: string): void {
  const href = content.startsWith('data:') ? content : URL.createObjectURL(new Blob([content], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  if (!content.startsWith('data:')) setTimeout(() => URL.revokeObjectURL(href), 10_000);
}

/**
 * Electron: the preload bridge (window.workbench) answers each call with an IpcReply envelope; a
 * failed one becomes the same UserError, issues included, that the WebSocket client throws.
 */
export function createElectronClient(bridge: PreloadBridge): WorkbenchClient {
  return withRemoteMethods(
    {
      kind: 'electron',
      onEvent: (listener) => bridge.onEvent(listener),
      saveFile: (name, content) => bridge.saveFile(name, content),
      onConnection(listener) {
        listener('open');
        return () => {};
      },
    },
    async (method, args) => {
      // Each bridge method takes that method's own parameters; `args` are what the caller passed to it.
      const reply = await (bridge[method] as (...a: unknown[]) => Promise<IpcReply>)(...args);
      if (!reply.ok) throw fromWireError(reply.error);
      return reply.result;
    },
  );
}

/**
 * The client: `local` members plus one function per REMOTE_METHOD_NAMES entry that forwards its
 * arguments to `remote`. The one unchecked step: what `remote` answers is taken to be what
 * WorkbenchApi says that method returns (the other end implements the same interface).
 */
function withRemoteMethods(local: Omit<WorkbenchClient, RemoteMethod>, remote: (method: RemoteMethod, args: unknown[]) => Promise<unknown>): WorkbenchClient {
  const methods = Object.fromEntries(REMOTE_METHOD_NAMES.map((m) => [m, (...args: unknown[]) => remote(m, args)]));
  return { ...methods, ...local } as WorkbenchClient;
}

export function connectWorkbench(): WorkbenchClient {
  if (window.workbench) return createElectronClient(window.workbench);
  return createSocketClient(socketUrl(window.location));
}
