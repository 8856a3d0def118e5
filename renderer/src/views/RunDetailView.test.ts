// @vitest-environment happy-dom
/** A run page for an id the database does not have says so (it used to say "Loading…" forever). */
import { describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { expandSpec, parseSpec } from '../../../contract/spec';
import type { RunRow } from '../../../contract/api';
import { APP } from '../stores/context';
import { createMetricsStore } from '../stores/metrics';
import { createRunsStore } from '../stores/runs';
import RunDetailView from './RunDetailView.vue';

const [one] = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' } }));
const row: RunRow = {
  id: 1, experimentId: 1, experiment: 'e', variant: 'base', seed: 1, config: one.config, configHash: 'h', state: 'done', priority: 0, backendRequested: 'cpu', backend: 'cpu', device: 'cpu',
  step: 20, totalSteps: 20, error: null, dataInfo: null, checkpointDir: null, params: 30_100, createdAt: 0, startedAt: 0, finishedAt: 1, metrics: { params: 30_100, train_seconds: 12.345 },
};

async function mountRun(runId: number) {
  const api = {
    listRuns: async () => [row],
    listExperiments: async () => [],
    queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
    getRun: async (id: number) => (id === 1 ? row : null),
    getLogs: async () => [],
    getSamples: async () => [],
    getMetrics: async () => [],
  };
  const app = { api, runs: createRunsStore(api), metrics: createMetricsStore(api), router: { go: () => {} }, notify: () => {} };
  const w = mount(RunDetailView, { props: { runId }, global: { provide: { [APP]: app }, stubs: { ChartPanel: true, AttentionPanel: true } } });
  await flushPromises();
  return w;
}

describe('the run page', () => {
  it('says "no such run" for an id the database does not have', async () => {
    const w = await mountRun(99);
    expect(w.find('[data-test=no-such-run]').text()).toContain('No such run: #99');
    expect(w.text()).not.toContain('Loading');
  });
  it('shows final metrics with units: parameters in millions, train time in seconds', async () => {
    const w = await mountRun(1);
    expect(w.find('[data-final=params]').text()).toBe('params 0.03M (30,100)');
    expect(w.find('[data-final=train_seconds]').text()).toBe('train time (s) 12.3');
  });
});
