/**
 * `ablate serve`'s server: the built renderer over HTTP and the Workbench API on a WebSocket at
 * /api, for machines without a display. Same API, same argument validation (main/api-schemas.ts)
 * and same Content-Security-Policy as the Electron window.
 *
 * Wire format: contract/wire.ts (calls, results, WireErrors, and one message per event batch).
 *
 * Security: loopback by default. A non-loopback host needs a token, and then every HTTP request
 * and the WebSocket must carry it (?token=, `Authorization: Bearer`, or the cookie set on the first
 * authenticated page load). Without a token the Host header must name a loopback address (DNS
 * rebinding), and the WebSocket's Origin must be this server (a web page elsewhere cannot drive it).
 * The token never has to stay in a URL: the page load that carries ?token= is answered with the
 * cookie and a redirect to the same URL without it (history, screenshots, Referer).
 *
 * Hostile clients: a malformed frame, invalid UTF-8 or a message over 4 MB closes that client with
 * a reason (close code 1002/1007/1009) and the server keeps serving everyone else; a message that
 * is not a call is answered with a one-line error. Specs queued or previewed here may only name
 * corpus files inside the data roots (data-roots.ts), and are size-bounded by the spec schema
 * (contract/spec.ts SPEC_LIMITS), so one request cannot hold the event loop. Cluster runs may only
 * use the cluster roots and sbatch options the server was started with (cluster-policy.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RemoteMethod, WorkbenchService } from '../../contract/api';
import { parseApiArgs } from '../../contract/api-schemas';
import { toWireError, UserError, type WireError } from '../../contract/errors';
import { contentSecurityPolicy } from '../../contract/content-policy';
import { decodeMessage, encodeMessage, type SocketMessage } from '../../contract/wire';
import { ApiArgumentError } from '../../contract/api-schemas';
import { SpecError } from '../../contract/spec';
import { parseSpecText } from '../service/spec-edge';
import { DataRoots } from './data-roots';
import { ClusterPolicy, type ClusterPolicyOptions } from './cluster-policy';
import { MIME } from './mime';

export interface ServerOptions {
  readonly host: string;
  /** 0 picks a free port (the returned url names it). */
  readonly port: number;
  readonly token?: string;
  /** Built renderer (index.html + assets); defaults to out/renderer of this checkout. */
  readonly rendererDir?: string;
  /**
   * Folders corpus paths of specs queued through the API must lie in (`ablate serve` passes the
   * database's folder and each --data-root). None: no corpus spec is accepted from a client.
   */
  readonly dataRoots?: readonly string[];
  /**
   * Cluster roots and sbatch options clients may choose for Slurm runs (cluster-policy.ts;
   * `ablate serve --cluster-root DIR --allow-sbatch-option NAME --allow-ssh-target HOST`). None: Slurm is refused to clients.
   */
  readonly cluster?: ClusterPolicyOptions;
  /** Where the server's own problems are logged (default: stderr). */
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** out/renderer of this checkout (where vite and electron-vite put the built renderer). */
export function defaultRendererDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../out/renderer');
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}


const TOKEN_COOKIE = 'ablate_token';
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Close reasons the client sees for the codes ws closes a bad connection with (each under 123 bytes). */
const CLOSE_REASONS: Record<number, string> = {
  1002: 'malformed WebSocket frame',
  1007: 'invalid UTF-8 in a text message',
  1009: `message larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MB`,
};

function sameToken(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function tokenFrom(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return url.searchParams.get('token') ?? (req.headers['x-ablate-token'] as string | undefined) ?? cookieValue(req, TOKEN_COOKIE);
}

function hostName(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0];
}

/** Headers sent with every HTTP response: the window's CSP plus the usual hardening. */
export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy({ frameAncestors: true }),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  };
}

export async function startServer(workbench: WorkbenchService, options: ServerOptions): Promise<RunningServer> {
  const { host, token } = options;
  const log = options.log ?? ((line: string) => void process.stderr.write(`ablate serve: ${line}\n`));
  const dataRoots = new DataRoots(options.dataRoots ?? []);
  const clusterPolicy = new ClusterPolicy(options.cluster);
  if (!isLoopbackHost(host) && !token) {
    throw new UserError(`refusing to listen on ${host} without a token: anyone who can reach it could queue runs; set ABLATE_TOKEN or --token-file, or use 127.0.0.1`);
  }
  const rendererDir = resolve(options.rendererDir ?? defaultRendererDir());

  /** Whether a request may proceed: token when set, else a loopback Host header. */
  const authorised = (req: IncomingMessage, url: URL): boolean => {
    if (token) return sameToken(tokenFrom(req, url), token);
    return isLoopbackHost(hostName(req.headers.host));
  };

  const serveFile = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const headers = securityHeaders();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!authorised(req, url)) {
      res.writeHead(token ? 401 : 403, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(token ? 'token required: open the URL printed by `ablate serve` (it carries ?token=…)\n' : 'forbidden host\n');
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    if (path === '/' || path === '') path = '/index.html';
    const file = normalize(join(rendererDir, path));
    if (!file.startsWith(rendererDir + sep)) {
      res.writeHead(404, headers).end();
      return;
    }
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) throw new Error('not a file');
      body = await readFile(file);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const out: Record<string, string> = {
      ...headers,
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      // Hashed asset names never change content; the page itself must not be cached across builds.
      'Cache-Control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-store',
    };
    if (token && url.searchParams.has('token')) {
      // Move the token out of the address bar: the cookie carries it from now on.
      const rest = new URLSearchParams(url.searchParams);
      rest.delete('token');
      const query = rest.toString();
      res
        .writeHead(303, {
          ...headers,
          'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
          Location: `${url.pathname}${query ? `?${query}` : ''}`,
          'Cache-Control': 'no-store',
        })
        .end();
      return;
    }
    res.writeHead(200, out);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    serveFile(req, res, url).catch((err: unknown) => {
      log(String(err));
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const clients = new Set<WebSocket>();

  // A client that resets mid-request must not take the server down.
  http.on('clientError', (_err, socket) => socket.destroy());
  wss.on('error', (err) => log(`WebSocket server: ${err.message}`));

  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://local');
    const origin = req.headers.origin;
    // A browser always sends Origin on a WebSocket; it must be this very server.
    const originOk = origin === undefined || origin === `http://${req.headers.host}` || origin === `https://${req.headers.host}`;
    if (url.pathname !== '/api' || !authorised(req, url) || !originOk) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      closeWithReasons(ws);
      // ws has already closed the connection (with the code and reason above) when this fires.
      ws.on('error', (err) => log(`client closed: ${err.message}`));
      ws.on('close', () => clients.delete(ws));
      ws.on('message', (data) => void handleMessage(ws, String(data)));
    });
  });

  /** Spec text from a client may only name corpus files inside the data roots. */
  const checkSpecText = (text: string): void => {
    let corpus;
    try {
      corpus = parseSpecText(text).data.corpus;
    } catch (err) {
      if (err instanceof SpecError) return; // the Workbench reports the spec's own problems
      throw err;
    }
    dataRoots.check(corpus);
  };

  const callWorkbench = async (method: RemoteMethod, args: unknown[]): Promise<unknown> => {
    if (method === 'enqueueSpec') {
      const options = args[1] as Parameters<WorkbenchService['enqueueSpec']>[1];
      clusterPolicy.check(options?.executor);
      checkSpecText(args[0] as string);
      if (options?.executor) args = [args[0], { ...options, executor: clusterPolicy.complete(options.executor) }, ...args.slice(2)];
    }
    if (method === 'previewSpec') {
      try {
        checkSpecText(args[0] as string);
      } catch (err) {
        if (err instanceof UserError) return { ok: false, issues: err.issues };
        throw err;
      }
    }
    const fn = workbench[method] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(workbench, args);
  };

  const handleMessage = async (ws: WebSocket, text: string): Promise<void> => {
    let id: unknown = null;
    try {
      let msg: unknown;
      try {
        msg = decodeMessage(text);
      } catch {
        throw new ApiArgumentError('malformed message: not JSON (expected {"id", "method", "params"})');
      }
      if (!msg || typeof msg !== 'object' || Array.isArray(msg)) throw new ApiArgumentError('malformed message: expected an object {"id", "method", "params"}');
      const call = msg as { id?: unknown; method?: unknown; params?: unknown };
      id = call.id ?? null;
      const method = call.method as RemoteMethod;
      const args = parseApiArgs(method, call.params ?? []);
      const result = await callWorkbench(method, args as unknown[]);
      send(ws, { id: typeof id === 'number' ? id : null, result: result ?? null });
    } catch (err) {
      send(ws, { id: typeof id === 'number' ? id : null, error: replyError(err, log) });
    }
  };

  const send = (ws: WebSocket, value: SocketMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(encodeMessage(value));
  };

  // Events: the service batches them; each batch goes out as one message to every client.
  const unsubscribe = workbench.onEvents((events) => {
    const text = encodeMessage({ events } satisfies SocketMessage);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((ok, fail) => {
    http.once('error', fail);
    http.listen(options.port, host, () => {
      http.off('error', fail);
      ok();
    });
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;

  return {
    url,
    port,
    close: async () => {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}

/** An error as the client sees it; a bug (not a UserError) is logged here with its stack. */
function replyError(err: unknown, log: (line: string) => void): WireError {
  if (!(err instanceof UserError)) log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return toWireError(err);
}

/**
 * ws closes a connection that sent a bad frame with a bare code (1002, 1007, 1009); this gives
 * the client the reason too, by filling it in when ws closes this socket with no reason.
 */
function closeWithReasons(ws: WebSocket): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => close(code, reason ?? (code !== undefined ? CLOSE_REASONS[code] : undefined));
}
