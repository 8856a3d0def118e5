// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import type { RunRow } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import RunQueueTable from './RunQueueTable.vue';

const [{ config }] = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' } }));

function run(id: number, state: RunRow['state'], priority = 0): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: 'base', seed: 1, config, configHash: 'h', state, priority, backendRequested: 'auto',
    backend: state === 'queued' ? null : 'wasm', device: state === 'queued' ? null : 'CPU', step: 3, totalSteps: 10, error: state === 'failed' ? 'diverged at step 3: loss is NaN' : null,
    dataInfo: null, checkpointDir: null, params: null, createdAt: 0, startedAt: null, finishedAt: null, metrics: {},
  };
}

describe('the queue table', () => {
  const queued = [run(5, 'queued', 0), run(6, 'queued', 1), run(7, 'queued', 2)];
  const all = [...queued, run(1, 'done'), run(2, 'running'), run(3, 'failed')];
  const w = mount(RunQueueTable, { props: { queued, runs: all, progress: new Map() } });
  const btn = (label: string) => w.find(`button[aria-label="${label}"]`);

  it('lists queued runs in start order, then running, then the rest', () => {
    expect(w.findAll('tbody tr').map((r) => r.attributes('data-run'))).toEqual(['5', '6', '7', '2', '3', '1']);
  });
  it('moves a queued run one place up or down, and not past the ends', async () => {
    await btn('move run 6 up').trigger('click');
    await btn('move run 6 down').trigger('click');
    expect(w.emitted('move')!.map(([r, p]) => [(r as RunRow).id, p])).toEqual([[6, 0], [6, 2]]);
    expect(btn('move run 5 up').attributes('disabled')).toBeDefined();
    expect(btn('move run 7 down').attributes('disabled')).toBeDefined();
  });
  it('offers cancel for queued and running runs and retry for failed ones, and shows the failure', () => {
    expect(btn('cancel run 2').exists()).toBe(true);
    expect(btn('cancel run 5').exists()).toBe(true);
    expect(btn('cancel run 1').exists()).toBe(false);
    expect(btn('retry run 3').exists()).toBe(true);
    expect(btn('retry run 1').exists()).toBe(false);
    expect(w.find('tr[data-run="3"]').text()).toContain('diverged at step 3: loss is NaN');
    expect(w.find('tr[data-run="2"]').text()).toContain('wasm · CPU');
  });
  it('shows each run’s state as a badge', () => {
    expect(w.findAll('.badge').map((b) => b.text())).toEqual(['queued', 'queued', 'queued', 'running', 'failed', 'done']);
  });
});
