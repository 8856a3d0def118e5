/**
 * `ablate serve` against hostile clients (issue 15): malformed frames, invalid UTF-8, messages
 * over 4 MB and messages that are not calls each close or answer that one client, with a reason,
 * and the server keeps serving; specs from clients may only read corpora inside the data roots, and
 * cluster runs from clients may only use the server's cluster roots and allowed sbatch options.
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { WorkbenchEvent, WorkbenchService } from '../../contract/api';
import { decodeMessage, encodeMessage } from '../../contract/wire';
import { startServer, type RunningServer } from './server';
import { frame, rawSocket as rawFrames } from '../../test/support/raw-websocket';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ablate-hostile-'));
  mkdirSync(join(dir, 'renderer'));
  writeFileSync(join(dir, 'renderer', 'index.html'), '<!doctype html><title>x</title>');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'train.en'), 'a\n');
  writeFileSync(join(dir, 'outside.txt'), 'secret\n');
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'data', 'link.en'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeWorkbench() {
  const calls: unknown[][] = [];
  const wb = {
    calls,
    onEvents: (_l: (e: readonly WorkbenchEvent[]) => void) => () => {},
    getRun: async (id: number) => (calls.push(['getRun', id]), { id }),
    enqueueSpec: async (text: string, options?: unknown) => (calls.push(options === undefined ? ['enqueueSpec', text] : ['enqueueSpec', text, options]), { experimentId: 1, queued: [1], skipped: [] }),
    previewSpec: async (text: string) => (calls.push(['previewSpec', text]), { ok: true, name: 'x', runs: [] }),
  };
  return wb as typeof wb & WorkbenchService;
}

let server: RunningServer | null = null;
let logged: string[] = [];
afterEach(async () => {
  await server?.close();
  server = null;
  logged = [];
});

async function start(wb = fakeWorkbench()) {
  server = await startServer(wb, { host: '127.0.0.1', port: 0, rendererDir: join(dir, 'renderer'), dataRoots: [join(dir, 'data')], log: (l) => logged.push(l) });
  return wb;
}

function wsConnect(): Promise<WebSocket> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/api`);
    ws.once('open', () => ok(ws));
    ws.once('error', fail);
  });
}

function call(ws: WebSocket, id: number, method: string, params: unknown[]): Promise<Record<string, unknown>> {
  return new Promise((ok) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = decodeMessage(String(data)) as { id?: number };
      if (msg.id === id) {
        ws.off('message', onMessage);
        ok(msg as Record<string, unknown>);
      }
    };
    ws.on('message', onMessage);
    ws.send(encodeMessage({ id, method, params }));
  });
}

const rawSocket = () => rawFrames(server!.port);

const MALFORMED: [string, Buffer, number][] = [
  ['reserved bits set', frame(0xf1, Buffer.from('hi')), 1002],
  ['an unknown opcode', frame(0x83, Buffer.from('hi')), 1002],
  ['an unmasked client frame', frame(0x81, Buffer.from('hello'), { masked: false }), 1002],
  ['a fragmented ping', frame(0x09, Buffer.from('x')), 1002],
  ['a close frame with a 1-byte payload', frame(0x88, Buffer.from([3])), 1002],
  ['a continuation with nothing to continue', frame(0x80, Buffer.from('x')), 1002],
  ['invalid UTF-8 in a text frame', frame(0x81, Buffer.from([0x68, 0xc3, 0x28, 0xff])), 1007],
  ['a 64-bit length of 2^62 bytes', frame(0x82, Buffer.alloc(0), { lengthBytes: Buffer.from([127, 0x40, 0, 0, 0, 0, 0, 0, 0]) }), 1009],
  ['a 16-bit-length frame whose 64-bit length is 5 MB', frame(0x82, Buffer.alloc(0), { lengthBytes: Buffer.from([127, 0, 0, 0, 0, 0, 0x50, 0, 0]) }), 1009],
];

describe('malformed frames', () => {
  it.each(MALFORMED)('%s closes that client with code and reason; the server keeps serving', async (_name, bytes, code) => {
    await start();
    const { socket, closeFrame } = await rawSocket();
    socket.write(bytes);
    const closed = await closeFrame;
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(/malformed WebSocket frame|invalid UTF-8|larger than 4 MB/);
    socket.destroy();
    const ws = await wsConnect();
    expect(await call(ws, 1, 'getRun', [2])).toEqual({ id: 1, result: { id: 2 } });
    ws.close();
  });

  it('a message over 4 MB closes that client with 1009 and a reason; other clients are unaffected', async () => {
    await start();
    const bystander = await wsConnect();
    const attacker = await wsConnect();
    attacker.on('error', () => {});
    const closed = new Promise<[number, string]>((ok) => attacker.once('close', (code, reason) => ok([code, String(reason)])));
    attacker.send(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    expect(await closed).toEqual([1009, 'message larger than 4 MB']);
    expect(await call(bystander, 9, 'getRun', [1])).toEqual({ id: 9, result: { id: 1 } });
    bystander.close();
  });

  it('answers messages that are not calls with one line, logging no bug', async () => {
    await start();
    const ws = await wsConnect();
    const replies: unknown[] = [];
    ws.on('message', (d) => replies.push(decodeMessage(String(d))));
    for (const text of ['not json', 'null', '[1,2]', '7', '{"id":1}', '{"id":2,"method":"getRun","params":"x"}', '{"id":3,"method":"__proto__","params":[]}', '{'.repeat(100_000)]) ws.send(text);
    await new Promise((r) => setTimeout(r, 300));
    expect(replies).toHaveLength(8);
    for (const r of replies as { error: { message: string; user: boolean } }[]) {
      expect(r.error.user).toBe(true);
      expect(r.error.message).not.toContain('\n');
    }
    expect(logged).toEqual([]);
    expect(await call(ws, 4, 'getRun', [3])).toEqual({ id: 4, result: { id: 3 } });
    ws.close();
  });

  it('survives 300 random frames from 30 clients (fixed seed)', async () => {
    await start();
    let seed = 15;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let c = 0; c < 30; c++) {
      const { socket, closeFrame } = await rawSocket();
      for (let f = 0; f < 10; f++) {
        const payload = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
        socket.write(frame(Math.floor(rand() * 256), payload, { masked: rand() < 0.9 }));
      }
      socket.end();
      await Promise.race([closeFrame, new Promise((r) => setTimeout(r, 200))]);
      socket.destroy();
    }
    const ws = await wsConnect();
    expect(await call(ws, 1, 'getRun', [4])).toEqual({ id: 1, result: { id: 4 } });
    ws.close();
  });
});

describe('corpus paths of specs from clients', () => {
  const spec = (train: string) => `name: c\ndata: { corpus: { train: ["${train}", "${train}"], valid: "${train}" } }\n`;

  it('refuses a corpus outside the data roots in one line naming the path, before the workbench sees it', async () => {
    const wb = await start();
    const ws = await wsConnect();
    const reply = (await call(ws, 1, 'enqueueSpec', [spec('/etc/passwd')])) as { error: { message: string; user: boolean } };
    expect(reply.error.user).toBe(true);
    expect(reply.error.message).toBe(`data.corpus.train[0]: /etc/passwd is outside the server's data roots (${join(dir, 'data')}); the person running \`ablate serve\` can allow a folder with --data-root DIR`);
    // A symlink inside a root that points outside it is followed, and refused.
    expect(((await call(ws, 2, 'enqueueSpec', [spec(join(dir, 'data', 'link.en'))])) as { error: { message: string } }).error.message).toContain(join(dir, 'outside.txt'));
    // ../ out of a root is refused too.
    expect(((await call(ws, 3, 'enqueueSpec', [spec(join(dir, 'data', '..', 'outside.txt'))])) as { error: { message: string } }).error.message).toContain('outside the server');
    expect(await call(ws, 4, 'previewSpec', [spec('/etc/passwd')])).toMatchObject({ result: { ok: false, issues: [expect.stringContaining('/etc/passwd is outside')] } });
    expect(wb.calls).toEqual([]);
    ws.close();
  });

  it('queues a corpus inside a data root', async () => {
    const wb = await start();
    const ws = await wsConnect();
    const inside = spec(join(dir, 'data', 'train.en'));
    expect(await call(ws, 1, 'enqueueSpec', [inside])).toEqual({ id: 1, result: { experimentId: 1, queued: [1], skipped: [] } });
    expect(wb.calls).toEqual([['enqueueSpec', inside]]);
    ws.close();
  });

  it('refuses every corpus when no data root is configured', async () => {
    server = await startServer(fakeWorkbench(), { host: '127.0.0.1', port: 0, rendererDir: join(dir, 'renderer') });
    const ws = await wsConnect();
    expect(((await call(ws, 1, 'enqueueSpec', [spec(join(dir, 'data', 'train.en'))])) as { error: { message: string } }).error.message).toMatch(/data roots \(none\)/);
    ws.close();
  });

  it('refuses the issue’s 1e6-cell grid and 70k-unknown-keys specs within milliseconds', async () => {
    const wb = fakeWorkbench();
    wb.enqueueSpec = async (text: string) => {
      const { parseSpecText } = await import('../service/spec-edge');
      parseSpecText(text);
      return { experimentId: 1, queued: [], skipped: [] };
    };
    await start(wb);
    const ws = await wsConnect();
    const values = '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]';
    const grid = `name: g\ndata: { task: synthetic-copy }\ngrid:\n  layers: ${values}\n  d_ff: ${values}\n  d_k: ${values}\n  d_v: ${values}\n  dropout: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n  label_smoothing: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]\n`;
    const keys = `name: k\ndata: { task: synthetic-copy }\nbase:\n${Array.from({ length: 70_000 }, (_, i) => `  k${i}: 1`).join('\n')}\n`;
    await call(ws, 0, 'enqueueSpec', ['name: warm\ndata: { task: synthetic-copy }\n']);
    for (const [i, text, pattern] of [[1, grid, /grid: 1000000 cells/], [2, keys, /characters is more than 262144|more than 2000 "key: value" pairs/]] as const) {
      const t0 = performance.now();
      const reply = (await call(ws, i, 'enqueueSpec', [text])) as { error: { message: string } };
      const ms = performance.now() - t0;
      expect(reply.error.message).toMatch(pattern);
      expect(ms).toBeLessThan(500);
    }
    ws.close();
  });
});

describe('cluster runs queued by clients', () => {
  const text = 'name: s\ndata: { task: synthetic-copy }\n';
  const startWith = async (cluster?: { clusterRoots?: string[]; sbatchOptions?: string[]; sshTargets?: string[]; clusterNode?: string; clusterCheckout?: string }) => {
    const wb = fakeWorkbench();
    server = await startServer(wb, { host: '127.0.0.1', port: 0, rendererDir: join(dir, 'renderer'), dataRoots: [join(dir, 'data')], cluster, log: (l) => logged.push(l) });
    return wb;
  };
  const error = (reply: Record<string, unknown>) => (reply as { error: { message: string; user: boolean } }).error;

  it('are refused, one line naming the field, before the workbench sees them, when the server names no cluster root', async () => {
    const wb = await startWith();
    const ws = await wsConnect();
    const reply = await call(ws, 1, 'enqueueSpec', [text, { executor: { name: 'slurm', clusterRoot: join(dir, 'data') } }]);
    expect(error(reply)).toMatchObject({ user: true, message: expect.stringMatching(/^executor\.clusterRoot: this server runs no cluster jobs for its clients;[^\n]*--cluster-root DIR$/) });
    expect(wb.calls).toEqual([]);
    ws.close();
  });

  it('may use a configured root and allowed options; another root or option is refused and nothing is queued', async () => {
    const root = join(dir, 'data');
    const wb = await startWith({ clusterRoots: [root], sbatchOptions: ['qos'] });
    const ws = await wsConnect();
    const bad = await call(ws, 1, 'enqueueSpec', [text, { executor: { name: 'slurm', clusterRoot: '/home' } }]);
    expect(error(bad).message).toMatch(/^executor\.clusterRoot: \/home is not one of the server's cluster roots/);
    const opt = await call(ws, 2, 'enqueueSpec', [text, { executor: { name: 'slurm', clusterRoot: root, sbatchArgs: ['--export=ALL,LD_PRELOAD=x'] } }]);
    expect(error(opt).message).toMatch(/^executor\.sbatchArgs\[0\]: --export is not an sbatch option this server allows its clients \(allowed: --qos\)/);
    expect(wb.calls).toEqual([]);
    const ok = await call(ws, 3, 'enqueueSpec', [text, { executor: { name: 'slurm', clusterRoot: root, partition: 'low', sbatchArgs: ['--qos=high'] } }]);
    expect(ok).toMatchObject({ id: 3, result: { queued: [1] } });
    expect(wb.calls).toHaveLength(1);
    // A local run needs no cluster settings.
    expect(await call(ws, 4, 'enqueueSpec', [text, { executor: { name: 'local' } }])).toMatchObject({ result: { queued: [1] } });
    ws.close();
  });

  it('name an ssh target only when the server allows that one exactly, with a root named as the server named it', async () => {
    const slurm = (extra: object) => [text, { executor: { name: 'slurm', clusterRoot: '/scratch/ablate', ...extra } }];
    const none = await startWith({ clusterRoots: ['/scratch/ablate'] });
    let ws = await wsConnect();
    expect(error(await call(ws, 1, 'enqueueSpec', slurm({ ssh: 'login.hpc' }))).message).toMatch(/^executor\.ssh: this server reaches no cluster over ssh for its clients;[^\n]*--allow-ssh-target HOST$/);
    expect(none.calls).toEqual([]);
    ws.close();
    await server!.close();
    const wb = await startWith({ clusterRoots: ['/scratch/ablate/'], sshTargets: ['ana@login.hpc'] });
    ws = await wsConnect();
    expect(error(await call(ws, 1, 'enqueueSpec', slurm({ ssh: 'login.hpc' }))).message).toMatch(/^executor\.ssh: "login\.hpc" is not an ssh target this server allows its clients \(allowed: ana@login\.hpc\)/);
    expect(error(await call(ws, 2, 'enqueueSpec', slurm({ ssh: 'ana@login.hpc.evil' }))).message).toMatch(/^executor\.ssh: /);
    // The schema refuses what ssh would read as an option before the policy sees it.
    expect(error(await call(ws, 3, 'enqueueSpec', slurm({ ssh: '-oProxyCommand=touch x' }))).message).toMatch(/ssh.*expected host or user@host/);
    expect(error(await call(ws, 4, 'enqueueSpec', [text, { executor: { name: 'slurm', clusterRoot: '/scratch/ablate/../../home/ana', ssh: 'ana@login.hpc' } }])).message).toMatch(/^executor\.clusterRoot: \/scratch\/ablate\/\.\.\/\.\.\/home\/ana is not one of the server's cluster roots \(\/scratch\/ablate\); over ssh/);
    expect(error(await call(ws, 5, 'enqueueSpec', [text, { executor: { name: 'slurm', clusterRoot: '/scratch/ablate/x', ssh: 'ana@login.hpc' } }])).message).toMatch(/^executor\.clusterRoot: /);
    expect(wb.calls).toEqual([]);
    expect(await call(ws, 6, 'enqueueSpec', slurm({ ssh: 'ana@login.hpc' }))).toMatchObject({ id: 6, result: { queued: [1] } });
    expect(wb.calls).toHaveLength(1);
    ws.close();
  });

  it('never let a client choose what the jobs exec; the server adds its own --cluster-node and --cluster-checkout', async () => {
    const wb = await startWith({ clusterRoots: ['/scratch/ablate'], sshTargets: ['login.hpc'], clusterNode: '/opt/node/bin/node', clusterCheckout: '/home/srv/ablate' });
    const ws = await wsConnect();
    const choice = { name: 'slurm', clusterRoot: '/scratch/ablate', ssh: 'login.hpc' };
    expect(error(await call(ws, 1, 'enqueueSpec', [text, { executor: { ...choice, clusterNode: '/bin/sh' } }])).message).toMatch(/^executor\.clusterNode: what the jobs run is not chosen by clients; [^\n]*--cluster-node PATH$/);
    expect(error(await call(ws, 2, 'enqueueSpec', [text, { executor: { ...choice, clusterCheckout: '/tmp/evil' } }])).message).toMatch(/^executor\.clusterCheckout: what the jobs run is not chosen by clients; [^\n]*--cluster-checkout PATH$/);
    expect(wb.calls).toEqual([]);
    await call(ws, 3, 'enqueueSpec', [text, { executor: choice }]);
    expect(wb.calls).toEqual([['enqueueSpec', text, { executor: { ...choice, clusterNode: '/opt/node/bin/node', clusterCheckout: '/home/srv/ablate' } }]]);
    ws.close();
  });
});
