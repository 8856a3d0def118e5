/**
 * `ablate serve`'s server against a recording Workbench double: the wire protocol, validation at
 * the edge, pushed events, and the access rules (loopback, Host, Origin, token).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WorkbenchEvent, WorkbenchService } from '../../contract/api';
import { SpecError } from '../../contract/spec';
import { decodeMessage, encodeMessage } from '../../contract/wire';
import { startServer, type RunningServer } from './server';
import { fileBytes } from '../electron/save-file';
import { parseApiArgs } from '../../contract/api-schemas';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ablate-server-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmpdir(), 'ablate-secret.txt'), 'secret');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records calls; answers a few methods with fixed values. */
function fakeWorkbench() {
  const calls: unknown[][] = [];
  const listeners = new Set<(e: readonly WorkbenchEvent[]) => void>();
  const wb = {
    calls,
    emit: (batch: readonly WorkbenchEvent[]) => listeners.forEach((l) => l(batch)),
    onEvents: (l: (e: readonly WorkbenchEvent[]) => void) => (listeners.add(l), () => void listeners.delete(l)),
    getRun: async (id: number) => (calls.push(['getRun', id]), { id, loss: NaN, best: -Infinity }),
    moveRun: async (id: number, pos: number) => void calls.push(['moveRun', id, pos]),
    enqueueSpec: async () => {
      throw new SpecError(['base.heads: must be a positive integer'], 'spec.yaml');
    },
    listRuns: async () => {
      throw new Error('database is locked\n    at Store.listRuns');
    },
  };
  return wb as typeof wb & WorkbenchService;
}

let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => ok(ws));
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
  });
}

function call(ws: WebSocket, id: number, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((ok) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = decodeMessage(data.toString()) as { id?: number };
      if (msg.id === id) {
        ws.off('message', onMessage);
        ok(msg);
      }
    };
    ws.on('message', onMessage);
    ws.send(encodeMessage({ id, method, params }));
  });
}

describe('ablate serve over HTTP and WebSocket', () => {
  it('serves the renderer with the CSP and hardening headers, and nothing outside its folder', async () => {
    server = await startServer(fakeWorkbench(), { host: '127.0.0.1', port: 0, rendererDir: dir });
    const page = await get(server.url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>x</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await get(`http://127.0.0.1:${server.port}/assets/app.js`)).headers['content-type']).toContain('javascript');
    expect((await get(`http://127.0.0.1:${server.port}/..%2fablate-secret.txt`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${server.port}/assets/../../ablate-secret.txt`)).status).toBe(404);
  });

  it('answers API calls, keeps NaN and ±Infinity, and validates arguments before the workbench sees them', async () => {
    const wb = fakeWorkbench();
    server = await startServer(wb, { host: '127.0.0.1', port: 0, rendererDir: dir });
    const ws = await connect(`ws://127.0.0.1:${server.port}/api`);
    expect(await call(ws, 1, 'getRun', [5])).toEqual({ id: 1, result: { id: 5, loss: NaN, best: -Infinity } });
    expect(await call(ws, 2, 'moveRun', [5, 0])).toEqual({ id: 2, result: null });
    expect(await call(ws, 3, 'getRun', ['5'])).toEqual({ id: 3, error: { message: 'getRun: argument 0: run id must be a positive integer', issues: ['getRun: argument 0: run id must be a positive integer'], user: true } });
    expect(await call(ws, 4, 'moveRun', [5, -1])).toEqual({ id: 4, error: { message: 'moveRun: argument 1: position must be a non-negative integer', issues: ['moveRun: argument 1: position must be a non-negative integer'], user: true } });
    expect(await call(ws, 5, 'constructor', [])).toEqual({ id: 5, error: { message: 'unknown method "constructor"', issues: ['unknown method "constructor"'], user: true } });
    expect(await call(ws, 6, 'enqueueSpec', ['name: x'])).toEqual({ id: 6, error: { message: 'spec.yaml: base.heads: must be a positive integer', issues: ['base.heads: must be a positive integer'], user: true } });
    // A bug's message is one line; the stack stays in the server's log.
    expect(await call(ws, 7, 'listRuns', [])).toEqual({ id: 7, error: { message: 'database is locked', user: false } });
    expect(wb.calls).toEqual([['getRun', 5], ['moveRun', 5, 0]]);
    ws.close();
  });

  it('pushes each batch of workbench events to every client as one message', async () => {
    const wb = fakeWorkbench();
    server = await startServer(wb, { host: '127.0.0.1', port: 0, rendererDir: dir });
    const ws = await connect(`ws://127.0.0.1:${server.port}/api`);
    const got = new Promise<unknown>((ok) => ws.once('message', (d) => ok(decodeMessage(d.toString()))));
    const q: WorkbenchEvent = { type: 'queue', status: { paused: true, slots: 1, running: [] } };
    const p: WorkbenchEvent = { type: 'progress', runId: 1, step: 3, totalSteps: 10, loss: NaN, tokensPerSecond: 5, etaSeconds: null };
    wb.emit([q, p]);
    expect(await got).toEqual({ events: [q, p] });
    ws.close();
  });

  it('refuses a WebSocket from another origin (a web page cannot drive the local workbench)', async () => {
    server = await startServer(fakeWorkbench(), { host: '127.0.0.1', port: 0, rendererDir: dir });
    await expect(connect(`ws://127.0.0.1:${server.port}/api`, { Origin: 'https://evil.example' })).rejects.toThrow('403');
    await expect(connect(`ws://127.0.0.1:${server.port}/api`, { Origin: `http://127.0.0.1:${server.port}` })).resolves.toBeTruthy();
  });

  it('refuses a non-loopback Host header without a token (DNS rebinding)', async () => {
    server = await startServer(fakeWorkbench(), { host: '127.0.0.1', port: 0, rendererDir: dir });
    expect((await get(server.url, { Host: 'attacker.example' })).status).toBe(403);
    await expect(connect(`ws://127.0.0.1:${server.port}/api`, { Host: 'attacker.example' })).rejects.toThrow('403');
  });

  it('refuses to listen beyond loopback without a token', async () => {
    await expect(startServer(fakeWorkbench(), { host: '0.0.0.0', port: 0, rendererDir: dir })).rejects.toThrow(/without a token/);
  });

  it('with a token requires it on HTTP and on the WebSocket, then remembers it in a cookie', async () => {
    const token = 's3cret-token-123';
    server = await startServer(fakeWorkbench(), { host: '127.0.0.1', port: 0, rendererDir: dir, token });
    expect(server.url).toContain(`?token=${token}`);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await get(`${base}/`)).status).toBe(401);
    expect((await get(`${base}/?token=wrong-token-1234`)).status).toBe(401);
    // The first load trades ?token= for a cookie and a redirect to the URL without it.
    const first = await get(`${base}/?token=${token}&view=queue`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/?view=queue');
    const cookie = String(first.headers['set-cookie']).split(';')[0];
    expect(String(first.headers['set-cookie'])).toContain('HttpOnly');
    expect(String(first.headers['set-cookie'])).toContain('SameSite=Strict');
    expect((await get(`${base}/?view=queue`, { Cookie: cookie })).status).toBe(200);
    expect((await get(`${base}/assets/app.js`, { Cookie: cookie })).status).toBe(200);
    expect((await get(`${base}/assets/app.js`, { Authorization: `Bearer ${token}` })).status).toBe(200);
    await expect(connect(`ws://127.0.0.1:${server.port}/api`)).rejects.toThrow('403');
    await expect(connect(`ws://127.0.0.1:${server.port}/api?token=${token}`)).resolves.toBeTruthy();
  });
});

describe('the API argument schemas', () => {
  it('accept omitted optional arguments and JSON nulls for them', () => {
    expect(parseApiArgs('listRuns', [])).toEqual([]);
    expect(parseApiArgs('listRuns', [null])).toEqual([]);
    expect(parseApiArgs('enqueueSpec', ['name: x', { backend: 'wasm' }])).toEqual(['name: x', { backend: 'wasm' }]);
  });
  it('reject unknown options, extra arguments and oversize input', () => {
    expect(() => parseApiArgs('enqueueSpec', ['x', { backend: 'cuda' }])).toThrow('enqueueSpec: argument 1.backend: backend must be one of auto, tensorflow, webgpu, wasm, cpu');
    expect(() => parseApiArgs('enqueueSpec', ['x', { force: true, rm: '-rf' }])).toThrow(/enqueueSpec/);
    expect(() => parseApiArgs('pauseQueue', [1])).toThrow(/pauseQueue/);
    expect(() => parseApiArgs('exportTable', [1, 'pdf'])).toThrow('exportTable: argument 1: format must be one of csv, md, latex');
    expect(() => parseApiArgs('previewSpec', ['x'.repeat(1_000_001)])).toThrow('previewSpec: argument 0: spec is longer than 1 MB');
    expect(() => parseApiArgs('getMetrics', [{ runIds: [1], maxPoints: 1 }])).toThrow('maxPoints must be at least 2');
  });
});

describe('saving exports in the app', () => {
  it('writes a chart data URL as its bytes and text as UTF-8', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    expect(fileBytes(`data:image/png;base64,${png.toString('base64')}`)).toEqual(png);
    expect(fileBytes(`data:image/svg+xml;charset=utf-8,${encodeURIComponent('<svg>±</svg>')}`).toString('utf8')).toBe('<svg>±</svg>');
    expect(fileBytes('a,b\n±1').toString('utf8')).toBe('a,b\n±1');
  });
});
