// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { defineComponent, h, shallowRef } from 'vue';
import { mount } from '@vue/test-utils';
import { UserError } from '../../../contract/errors';
import ExecutorSetting from './ExecutorSetting.vue';
import { LOCAL_FORM, loadExecutorForm, queueingOn, readExecutorForm, saveExecutorForm, type ExecutorForm } from './executor-form';

/** The setting as the Queue view holds it: a v-model the test can read. */
function mountSetting(initial: ExecutorForm = LOCAL_FORM) {
  const form = shallowRef(initial);
  const w = mount(defineComponent({ setup: () => () => h(ExecutorSetting, { modelValue: form.value, 'onUpdate:modelValue': (v: ExecutorForm) => (form.value = v) }) }));
  return { w, form };
}
const slurm = (o: Partial<ExecutorForm> = {}): ExecutorForm => ({ ...LOCAL_FORM, executor: 'slurm', clusterRoot: '/shared/ablate', ...o });

describe('the Queue view’s executor setting', () => {
  it('queues locally by default, with no Slurm fields shown', () => {
    const { w, form } = mountSetting();
    expect(w.find('[data-test=slurm-fields]').exists()).toBe(false);
    expect(readExecutorForm(form.value)).toEqual({ choice: { name: 'local' }, issues: [] });
  });

  it('choosing Slurm shows its fields and reads them into the API’s choice', async () => {
    const { w, form } = mountSetting();
    await w.find('[data-test=executor-slurm]').setValue(true);
    expect(w.find('[data-test=slurm-fields]').exists()).toBe(true);
    expect(w.findAll('[data-test=executor-issues] li').map((li) => li.text())).toEqual(['Cluster root: required for Slurm (a folder the cluster nodes and the workbench share)']);
    await w.find('[data-test=cluster-root]').setValue(' /shared/ablate ');
    await w.find('[data-test=partition]').setValue('gpu');
    await w.find('[data-test=gres]').setValue('gpu:1');
    await w.find('[data-test=time]').setValue('4:00:00');
    await w.find('[data-test=sbatch-args]').setValue('--qos=high\n\n--exclusive\n');
    expect(w.find('[data-test=executor-issues]').exists()).toBe(false);
    expect(readExecutorForm(form.value)).toEqual({
      choice: { name: 'slurm', clusterRoot: '/shared/ablate', partition: 'gpu', gres: 'gpu:1', time: '4:00:00', sbatchArgs: ['--qos=high', '--exclusive'] },
      issues: [],
    });
  });

  it('shows each problem on its own line, naming the field', async () => {
    const { w } = mountSetting(slurm({ clusterRoot: 'shared', time: '4 hours', sbatchArgs: 'qos=high\n--array=0-3\n--mem 4G' }));
    expect(w.findAll('[data-test=executor-issues] li').map((li) => li.text())).toEqual([
      'Cluster root: expected an absolute path, got "shared"',
      'Time limit: expected one word without spaces, got "4 hours"',
      'sbatch options, line 1: expected one option starting with \'-\', e.g. --qos=high, got "qos=high"',
      'sbatch options, line 2: --array is set by the workbench itself',
      'sbatch options, line 3: one option per line, written --name=value without spaces, got "--mem 4G"',
    ]);
    expect(readExecutorForm(slurm({ time: '90' })).issues).toEqual([]);
    expect(readExecutorForm(slurm({ time: '2-12:00:00' })).issues).toEqual([]);
    expect(readExecutorForm(slurm({ time: '4h' })).issues).toEqual(['Time limit: expected minutes, HH:MM:SS or D-HH:MM:SS (e.g. 4:00:00), got "4h"']);
  });

  it('names a login node to reach the cluster over ssh, and node and the checkout there; a bad value is a one-line problem', async () => {
    const { w, form } = mountSetting(slurm());
    await w.find('[data-test=ssh]').setValue('-oProxyCommand=x');
    expect(w.findAll('[data-test=executor-issues] li').map((li) => li.text())).toEqual([
      'Login node (ssh): expected host or user@host (letters, digits, \'.\', \'_\', \'-\'; a port or key goes in ~/.ssh/config), got "-oProxyCommand=x"',
    ]);
    await w.find('[data-test=ssh]').setValue(' ana@login.hpc ');
    expect(w.find('[data-test=executor-issues]').exists()).toBe(false);
    expect(readExecutorForm(form.value).choice).toEqual({ name: 'slurm', clusterRoot: '/shared/ablate', ssh: 'ana@login.hpc' });
    await w.find('[data-test=cluster-node]').setValue('node');
    await w.find('[data-test=cluster-checkout]').setValue('/home/ana/ablate/');
    expect(w.findAll('[data-test=executor-issues] li').map((li) => li.text())).toEqual(['node on the cluster: expected an absolute path on the cluster, got "node"']);
    await w.find('[data-test=cluster-node]').setValue('/opt/node/bin/node');
    expect(readExecutorForm(form.value).choice).toEqual({ name: 'slurm', clusterRoot: '/shared/ablate', ssh: 'ana@login.hpc', clusterNode: '/opt/node/bin/node', clusterCheckout: '/home/ana/ablate' });
    // A setting saved before the field existed loads with none.
    expect(loadExecutorForm({ getItem: () => JSON.stringify({ executor: 'slurm', clusterRoot: '/x' }) }).ssh).toBe('');
  });

  it('bounds the cluster runs of the choice in flight with Max parallel; a bad value is a one-line problem naming the field', async () => {
    const { w, form } = mountSetting(slurm());
    for (const bad of ['0', '2.5', 'two', '10001', '-1']) {
      await w.find('[data-test=max-parallel]').setValue(bad);
      expect(w.findAll('[data-test=executor-issues] li').map((li) => li.text())).toEqual([`Max parallel: expected a whole number from 1 to 10000, got "${bad}"`]);
    }
    await w.find('[data-test=max-parallel]').setValue(' 3 ');
    expect(w.find('[data-test=executor-issues]').exists()).toBe(false);
    expect(readExecutorForm(form.value).choice).toEqual({ name: 'slurm', clusterRoot: '/shared/ablate', maxParallel: 3 });
    await w.find('[data-test=max-parallel]').setValue('');
    expect(readExecutorForm(form.value).choice).toEqual({ name: 'slurm', clusterRoot: '/shared/ablate' });
    // A setting saved before the field existed loads with none.
    expect(loadExecutorForm({ getItem: () => JSON.stringify({ executor: 'slurm', clusterRoot: '/x' }) }).maxParallel).toBe('');
  });
});

describe('queueing with the setting', () => {
  const api = () => ({
    listPresets: vi.fn(async () => []),
    previewSpec: vi.fn(async () => ({ ok: true as const, name: 'x', runs: [] })),
    enqueueSpec: vi.fn(async () => ({ experimentId: 1, queued: [1], skipped: [] })),
  });

  it('sends the choice read at the moment of queueing, and nothing for local runs', async () => {
    const a = api();
    let form: ExecutorForm = LOCAL_FORM;
    const q = queueingOn(a, () => form);
    await q.enqueueSpec('name: x', { backend: 'cpu' });
    expect(a.enqueueSpec).toHaveBeenLastCalledWith('name: x', { backend: 'cpu' });
    form = slurm({ partition: 'low' });
    await q.enqueueSpec('name: x', { force: true });
    expect(a.enqueueSpec).toHaveBeenLastCalledWith('name: x', { force: true, executor: { name: 'slurm', clusterRoot: '/shared/ablate', partition: 'low' } });
  });

  it('refuses a setting with problems with one line each, sending nothing', async () => {
    const a = api();
    const q = queueingOn(a, () => slurm({ clusterRoot: '', gres: 'gpu 1' }));
    const err = await q.enqueueSpec('name: x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).issues).toEqual(['Cluster root: required for Slurm (a folder the cluster nodes and the workbench share)', 'GRES: expected one word without spaces, got "gpu 1"']);
    expect(a.enqueueSpec).not.toHaveBeenCalled();
  });

  it('remembers the setting on this machine, and falls back to local on anything unreadable', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    saveExecutorForm(storage, slurm({ gres: 'gpu:2' }));
    expect(loadExecutorForm(storage)).toEqual(slurm({ gres: 'gpu:2' }));
    store.set('ablate.queue.executor', '{not json');
    expect(loadExecutorForm(storage)).toEqual(LOCAL_FORM);
    expect(loadExecutorForm(undefined)).toEqual(LOCAL_FORM);
  });
});
