// @vitest-environment happy-dom
/** Results counts what the lists show: archived runs are left out (and said so) until "show archived". */
import { describe, expect, it } from 'vitest';
import { defineComponent, h } from 'vue';
import { flushPromises, mount } from '@vue/test-utils';
import type { ExportFormat, ResultTable, RunRow, TableOptions } from '../../../contract/api';
import { expandSpec, parseSpec } from '../../../contract/spec';
import { APP } from '../stores/context';
import { createRunsStore } from '../stores/runs';
import ResultsView from './ResultsView.vue';

const [s1, s2] = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' }, train: { seeds: [1, 2] } }));
function run(id: number, config: RunRow['config'], archivedAt: number | null): RunRow {
  return {
    id, experimentId: 1, experiment: 'e', variant: config.variant, seed: config.seed, config, configHash: `h${id}`, state: 'done', priority: 0, backendRequested: 'cpu',
    backend: 'cpu', device: 'cpu', step: 20, totalSteps: 20, error: null, dataInfo: null, checkpointDir: null, params: 100, createdAt: 0, startedAt: 0, finishedAt: 1, metrics: {}, archivedAt,
  };
}
const Chart = defineComponent({ name: 'ChartPanel', props: ['option', 'title', 'fileName', 'empty', 'height'], setup: () => () => h('div') });

describe('the results view and archived runs', () => {
  it('asks for the table and the export without archived runs, says how many it left out, and counts them once "show archived" is ticked', async () => {
    const asked: (TableOptions | undefined)[] = [];
    const exported: (TableOptions | undefined)[] = [];
    const table = (o?: TableOptions): ResultTable => ({ experiment: 'e', columns: [], rows: [], archivedLeftOut: o?.includeArchived ? 0 : 1 });
    const api = {
      listRuns: async () => [run(1, s1.config, null), run(2, s2.config, 5)],
      listExperiments: async () => [{ id: 1, name: 'e', spec: {}, specDir: null, createdAt: 0 }],
      queueStatus: async () => ({ paused: false, slots: 1, running: [] }),
      resultTable: async (_id: number, o?: TableOptions) => (asked.push(o), table(o)),
      exportTable: async (_id: number, _f: ExportFormat, o?: TableOptions) => (exported.push(o), 'text'),
      saveFile: async () => null,
    };
    const runs = createRunsStore(api);
    await runs.refresh();
    const w = mount(ResultsView, { global: { provide: { [APP]: { api, runs, router: { go: () => {} }, notify: () => {} } }, stubs: { ChartPanel: Chart } } });
    await flushPromises();
    expect(asked.at(-1)).toEqual({ includeArchived: false });
    expect(w.find('[data-test=note-archived]').text()).toBe('1 archived run not counted (“show archived” counts them).');
    await w.find('[data-test=save-md]').trigger('click');
    await flushPromises();
    expect(exported.at(-1)).toEqual({ includeArchived: false });

    await w.find('[data-test=results-show-archived]').setValue(true);
    await flushPromises();
    expect(runs.showArchived.value).toBe(true);
    expect(asked.at(-1)).toEqual({ includeArchived: true });
    expect(w.find('[data-test=note-archived]').exists()).toBe(false);
    await w.find('[data-test=save-md]').trigger('click');
    await flushPromises();
    expect(exported.at(-1)).toEqual({ includeArchived: true });
  });
});
