import { describe, expect, it } from 'vitest';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { createRunsStore } from './runs';

const [{ config }] = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' } }));

function row(id: number, state: RunRow['state'], priority = 0): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: 'base', seed: 1, config, configHash: 'h', state, priority, backendRequested: 'auto',
    backend: null, device: null, step: 0, totalSteps: 10, error: null, dataInfo: null, checkpointDir: null, params: null, createdAt: 0, startedAt: null, finishedAt: null, metrics: {},
  };
}

const api = {
  listRuns: async () => [row(1, 'done'), row(2, 'queued', 5), row(3, 'queued', 1)],
  listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
  queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
};

describe('the runs store', () => {
  it('orders queued runs by priority then id, the order they will start in', async () => {
    const s = createRunsStore(api);
    await s.refresh();
    expect(s.queued.value.map((r) => r.id)).toEqual([3, 2]);
  });
  it('merges pushed run changes by id and drops stale progress when a run stops', async () => {
    const s = createRunsStore(api);
    await s.refresh();
    s.applyEvent({ type: 'progress', runId: 3, step: 4, totalSteps: 10, loss: 2, tokensPerSecond: 100, etaSeconds: 6 });
    s.applyEvent({ type: 'runs-changed', runs: [{ ...row(3, 'running'), step: 4 }, row(4, 'queued', 9)] });
    expect(s.running.value.map((r) => r.id)).toEqual([3]);
    expect(s.runs.value.map((r) => r.id)).toEqual([1, 2, 3, 4]);
    expect(s.progress.value.get(3)?.etaSeconds).toBe(6);
    s.applyEvent({ type: 'runs-changed', runs: [row(3, 'done')] });
    expect(s.progress.value.has(3)).toBe(false);
  });
  it('reports a failed refresh as an error line instead of throwing', async () => {
    const s = createRunsStore({ ...api, listRuns: async () => Promise.reject(new Error('connection lost')) });
    await s.refresh();
    expect(s.error.value).toBe('connection lost');
  });
  it('keeps archived runs and experiments out of runs and experiments until showArchived; byId finds them either way', async () => {
    const asked: unknown[] = [];
    const s = createRunsStore({
      listRuns: async (f) => (asked.push(f), [row(1, 'done'), { ...row(2, 'done'), archivedAt: 9 }]),
      listExperiments: async (o) => (asked.push(o), [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }, { id: 2, name: 'old', spec: {}, specDir: null, createdAt: 0, archivedAt: 9 }]),
      queueStatus: api.queueStatus,
    });
    await s.refresh();
    expect(asked).toEqual([{ includeArchived: true }, { includeArchived: true }]);
    expect(s.runs.value.map((r) => r.id)).toEqual([1]);
    expect(s.experiments.value.map((e) => e.name)).toEqual(['e']);
    expect(s.byId.value.get(2)?.archivedAt).toBe(9);
    s.showArchived.value = true;
    expect(s.runs.value.map((r) => r.id)).toEqual([1, 2]);
    expect(s.experiments.value.map((e) => e.name)).toEqual(['e', 'old']);
  });
  it('drops deleted runs and their progress, and lists experiments again when they change', async () => {
    let experiments = [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }];
    const s = createRunsStore({ ...api, listExperiments: async () => experiments });
    await s.refresh();
    s.applyEvent({ type: 'progress', runId: 1, step: 4, totalSteps: 10, loss: 2, tokensPerSecond: 100, etaSeconds: 6 });
    s.applyEvent({ type: 'runs-removed', runIds: [1, 3] });
    expect(s.runs.value.map((r) => r.id)).toEqual([2]);
    expect(s.progress.value.has(1)).toBe(false);
    experiments = [];
    s.applyEvent({ type: 'experiments-changed' });
    await new Promise((r) => setTimeout(r, 0));
    expect(s.experiments.value).toEqual([]);
  });
});
