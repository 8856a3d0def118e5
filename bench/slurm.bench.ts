/**
 * `npm run bench slurm [-- --quick]`: the Slurm executor's two numbers (issue 11).
 *
 * 1. Ingest throughput of events files: 200 runs × 10k metric points (JSONL lines of 4 points, as
 *    a run writes them on the cluster), read from offset 0 and committed with their offsets
 *    (ingest.ts), in rows/s; against the local-ingest reference measured in the same run: the
 *    same points through Store.insertMetrics in recorder-sized batches (no files, no parsing).
 *    Goal ≥ 100k rows/s. A second ingest of every file from 0 (idempotent replay) is timed too.
 *    Rows per CPU-second (this process's user + system time) are printed beside rows/s: on a box
 *    shared with other work, wall time mostly measures waiting for a core.
 * 2. Latency from a metric line appended to a running job's events file to that point arriving
 *    over `ablate serve`'s WebSocket (startServer on a Workbench whose Slurm executor polls every
 *    POLL_MS). Slurm's clients are stood in by a fake shell (squeue says RUNNING), so this measures
 *    the workbench's path (poll → ingest → recorder → event batch → socket), not slurmctld.
 *    Goal: within 2 poll intervals.
 */
import { mkdirSync, appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { openStore, type Store } from '../db/store';
import type { MetricPoint } from '../contract/run-protocol';
import type { WorkbenchEvent } from '../contract/api';
import { encodeEventLine } from '../contract/events-line';
import { decodeMessage } from '../contract/wire';
import { ingestFile } from '../main/service/executors/slurm/ingest';
import { Workbench } from '../main/service/workbench';
import { startServer } from '../main/server/server';
import { toySpec } from '../test/support/workbench';
import { fakeSlurm } from '../test/support/fake-slurm';

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const POINTS_PER_LINE = 4;

function points(step: number, t0: number): MetricPoint[] {
  return [
    { split: 'train', name: 'loss', step, value: 10 / Math.sqrt(step + 1), time: t0 + step },
    { split: 'train', name: 'lr', step, value: 1e-3, time: t0 + step },
    { split: 'train', name: 'tokens_per_second', step, value: 4000 + (step % 7), time: t0 + step },
    { split: 'train', name: 'tokens_seen', step, value: step * 2048, time: t0 + step },
  ];
}

function newStore(file: string, runs: number): { store: Store; runIds: number[] } {
  const store = openStore(file);
  const exp = store.upsertExperiment('bench', {}, null);
  const runIds = store.insertRuns(exp.id, Array.from({ length: runs }, (_, i) => ({ variant: 'base', seed: i, config: {}, configHash: `h${i}`, backendRequested: 'cpu', totalSteps: 1 })));
  return { store, runIds };
}

async function ingestThroughput(dir: string, runs: number, perRun: number): Promise<void> {
  const steps = perRun / POINTS_PER_LINE;
  const files: string[] = [];
  const t0 = Date.now();
  for (let r = 0; r < runs; r++) {
    const lines: string[] = [];
    for (let s = 0; s < steps; s++) lines.push(encodeEventLine({ v: 1, seq: s, time: t0 + s, msg: { type: 'metrics', points: points(s, t0) } }));
    const path = join(dir, `events-${r}`, `s1.${r + 1}_0.r0.jsonl`);
    mkdirSync(join(dir, `events-${r}`));
    writeFileSync(path, lines.join(''));
    files.push(path);
  }
  const total = runs * perRun;

  // Reference: the same rows through the store as the local recorder writes them (one transaction per batch of 200 steps).
  const cpuSeconds = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const ref = newStore(join(dir, 'local.sqlite'), runs);
  let a = performance.now();
  let c = cpuSeconds();
  for (let r = 0; r < runs; r++) for (let s = 0; s < steps; s += 200) ref.store.insertMetrics(ref.runIds[r], Array.from({ length: Math.min(200, steps - s) }, (_, i) => points(s + i, t0)).flat());
  const localS = (performance.now() - a) / 1000;
  const localCpu = cpuSeconds() - c;
  ref.store.close();

  const { store, runIds } = newStore(join(dir, 'cluster.sqlite'), runs);
  a = performance.now();
  c = cpuSeconds();
  let rows = 0;
  for (let r = 0; r < runs; r++) rows += (await ingestFile(store, runIds[r], files[r], { final: true })).points;
  const ingestS = (performance.now() - a) / 1000;
  const ingestCpu = cpuSeconds() - c;
  a = performance.now();
  c = cpuSeconds();
  for (let r = 0; r < runs; r++) await ingestFile(store, runIds[r], files[r], { fromOffset: 0, final: true });
  const replayS = (performance.now() - a) / 1000;
  const replayCpu = cpuSeconds() - c;
  const stored = store.getMetrics({ runIds: [runIds[0]] }).length;
  store.close();
  if (rows !== total || stored !== perRun) throw new Error(`ingest wrote ${rows} rows (${stored} for run 1), expected ${total} (${perRun})`);

  console.log(`ingest: ${runs} runs × ${fmt(perRun)} points = ${fmt(total)} rows`);
  console.log(`| path | seconds | rows/s | vs local | rows per CPU-second |`);
  console.log(`|---|---|---|---|---|`);
  console.log(`| local recorder (Store.insertMetrics, reference) | ${fmt(localS, 2)} | ${fmt(total / localS)} | 1.00 | ${fmt(total / localCpu)} |`);
  console.log(`| events files → SQLite (read, parse, rows + offset per transaction) | ${fmt(ingestS, 2)} | ${fmt(total / ingestS)} | ${fmt(localS / ingestS, 2)} | ${fmt(total / ingestCpu)} |`);
  console.log(`| second ingest from offset 0 (idempotent replay) | ${fmt(replayS, 2)} | ${fmt(total / replayS)} | ${fmt(localS / replayS, 2)} | ${fmt(total / replayCpu)} |`);
  console.log(`goal ≥ 100,000 rows/s: ${total / ingestS >= 100_000 ? 'met' : 'NOT met'}`);
}

async function latency(dir: string, pollMs: number, samples: number): Promise<void> {
  const root = join(dir, 'cluster');
  const dbPath = join(dir, 'serve.sqlite');
  const wb = await Workbench.open({ dbPath, dataDir: join(dir, 'data'), slots: 1, slurm: { shell: fakeSlurm(), pollMs, hostCommand: ['true'] } });
  const server = await startServer(wb, { host: '127.0.0.1', port: 0, log: () => undefined });
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws').replace(/\/$/, '')}/api`);
  await new Promise((ok, fail) => ws.once('open', ok).once('error', fail));
  const arrived = new Map<number, number>();
  ws.on('message', (data) => {
    const msg = decodeMessage(data.toString()) as { events?: WorkbenchEvent[] };
    for (const e of msg.events ?? []) if (e.type === 'metrics') for (const p of e.points) if (p.name === 'probe') arrived.set(p.step, performance.now());
  });
  const probe = openStore(dbPath);
  try {
    const { queued } = await wb.enqueueSpec(toySpec({ name: 'latency', steps: 1_000_000 }), { executor: { name: 'slurm', clusterRoot: root } });
    const runId = queued[0];
    const rx = await (async () => {
      for (;;) {
        const x = probe.getRunExecutor(runId);
        if (x?.submissionId && x.jobId) return x;
        await sleep(20);
      }
    })();
    const events = join(root, 'runs', rx.runKey, 'events');
    mkdirSync(events, { recursive: true });
    const file = join(events, `${rx.submissionId}.${rx.jobId!.split('_')[0]}_0.r0.jsonl`);
    let seq = 0;
    appendFileSync(file, encodeEventLine({ v: 1, seq: seq++, time: Date.now(), msg: { type: 'ready', backend: 'cpu', device: 'bench', params: 1, data: {}, startStep: 0 } }));
    const lat: number[] = [];
    for (let i = 1; i <= samples; i++) {
      await sleep(Math.random() * pollMs); // land anywhere in the poll cycle
      const at = performance.now();
      appendFileSync(file, encodeEventLine({ v: 1, seq: seq++, time: Date.now(), msg: { type: 'metrics', points: [{ split: 'train', name: 'probe', step: i, value: i, time: Date.now() }] } }));
      const end = at + 10 * pollMs;
      while (!arrived.has(i) && performance.now() < end) await sleep(5);
      if (!arrived.has(i)) throw new Error(`point ${i} did not arrive within ${10 * pollMs} ms`);
      lat.push(arrived.get(i)! - at);
    }
    lat.sort((x, y) => x - y);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    console.log(`\nlatency: metric line appended → point on the WebSocket, ${samples} samples, poll interval ${pollMs} ms`);
    console.log(`| median | p95 | max | max / poll interval |`);
    console.log(`|---|---|---|---|`);
    console.log(`| ${fmt(q(0.5))} ms | ${fmt(q(0.95))} ms | ${fmt(lat.at(-1)!)} ms | ${fmt(lat.at(-1)! / pollMs, 2)} |`);
    console.log(`goal ≤ 2 poll intervals: ${lat.at(-1)! <= 2 * pollMs ? 'met' : 'NOT met'}`);
  } finally {
    probe.close();
    ws.close();
    await server.close();
    await wb.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const dir = mkdtempSync(join(tmpdir(), 'ablate-bench-slurm-'));
  try {
    await ingestThroughput(dir, quick ? 20 : 200, 10_000);
    await latency(dir, 1000, quick ? 10 : 30);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
