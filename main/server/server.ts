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

export interface ServerOptions {
  readonly host: string;
  /** 0 picks a free port (the returned url names it). */
  readonly port: number;
  readonly token?: string;
  /** Built renderer (index.html + assets); defaults to out/renderer of this checkout. */
  readonly rendererDir?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** out/renderer of this checkout (where vite and electron-vite put the built renderer). */
export function defaultRendererDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../out/renderer');
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

const TOKEN_COOKIE = 'ablate_token';
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

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
  if (!isLoopbackHost(host) && !token) {
    throw new UserError(`refusing to listen on ${host} without --token: anyone who can reach it could queue runs; pass --token or use 127.0.0.1`);
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
    if (token && url.searchParams.has('token')) out['Set-Cookie'] = `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, out);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    serveFile(req, res, url).catch((err: unknown) => {
      process.stderr.write(`ablate serve: ${String(err)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const clients = new Set<WebSocket>();

  http.on('upgrade', (req, socket, head) => {
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
      ws.on('close', () => clients.delete(ws));
      ws.on('message', (data) => void handleMessage(ws, data.toString()));
    });
  });

  const handleMessage = async (ws: WebSocket, text: string): Promise<void> => {
    let id: unknown = null;
    try {
      const msg = decodeMessage(text) as { id?: unknown; method?: unknown; params?: unknown };
      id = msg.id ?? null;
      const method = msg.method as RemoteMethod;
      const args = parseApiArgs(method, msg.params ?? []);
      const fn = workbench[method] as (...a: unknown[]) => Promise<unknown>;
      const result = await fn.apply(workbench, args);
      send(ws, { id: typeof id === 'number' ? id : null, result: result ?? null });
    } catch (err) {
      send(ws, { id: typeof id === 'number' ? id : null, error: replyError(err) });
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
function replyError(err: unknown): WireError {
  if (!(err instanceof UserError)) process.stderr.write(`ablate serve: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return toWireError(err);
}
