// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import type { SpecPreview } from '../../../contract/api';
import { UserError } from '../../../contract/errors';
import SpecEditor from './SpecEditor.vue';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function editorApi(preview: (text: string) => SpecPreview) {
  return {
    listPresets: vi.fn(async () => [{ name: 'quick', description: 'q', yaml: 'name: quick\n' }]),
    previewSpec: vi.fn(async (t: string) => preview(t)),
    enqueueSpec: vi.fn(async () => ({ experimentId: 1, queued: [1, 2], skipped: [] })),
  };
}

describe('the spec editor', () => {
  it('shows the schema’s own messages as the user types, and keeps Queue disabled', async () => {
    const api = editorApi(() => ({ ok: false, issues: ['base.heads: must be a positive integer', 'train.steps: must be a positive integer'] }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 5 } });
    await w.find('[data-test=spec-text]').setValue('name: x\nbase: { heads: -1 }');
    await wait(20);
    await flushPromises();
    expect(w.findAll('[data-test=spec-issues] li').map((li) => li.text())).toEqual(['base.heads: must be a positive integer', 'train.steps: must be a positive integer']);
    expect(w.find('[data-test=enqueue]').attributes('disabled')).toBeDefined();
  });

  it('validates once per pause in typing, not per keystroke', async () => {
    const api = editorApi(() => ({ ok: true, name: 'x', runs: [] }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 30 } });
    for (const t of ['n', 'na', 'nam', 'name']) await w.find('[data-test=spec-text]').setValue(t);
    await wait(60);
    await flushPromises();
    expect(api.previewSpec).toHaveBeenCalledTimes(1);
    expect(api.previewSpec).toHaveBeenCalledWith('name');
  });

  it('lists the expanded runs, counts duplicates, and queues with the chosen backend', async () => {
    const api = editorApi(() => ({
      ok: true,
      name: 'abl',
      runs: [
        { variant: 'base', seed: 1, hash: 'aaaaaaaaaaaa', changes: {}, duplicateOf: 7 },
        { variant: 'h=1', seed: 1, hash: 'bbbbbbbbbbbb', changes: { heads: 1 }, duplicateOf: null },
      ],
    }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await w.find('[data-test=spec-text]').setValue('name: abl');
    await wait(10);
    await flushPromises();
    expect(w.findAll('[data-test=spec-runs] tbody tr').length).toBe(2);
    expect(w.find('[data-test=spec-runs]').text()).toContain('heads=1');
    expect(w.find('[data-test=spec-runs]').text()).toContain('= run #7');
    expect(w.find('[data-test=enqueue]').text()).toBe('Queue 1 run');
    await w.find('[data-test=backend]').setValue('wasm');
    await w.find('[data-test=enqueue]').trigger('click');
    await flushPromises();
    expect(api.enqueueSpec).toHaveBeenCalledWith('name: abl', { force: undefined, backend: 'wasm' });
    expect(w.emitted('queued')?.[0]).toEqual([{ experimentId: 1, queued: [1, 2], skipped: [] }]);
  });

  it('fills the editor from a preset', async () => {
    const api = editorApi(() => ({ ok: true, name: 'quick', runs: [] }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await flushPromises();
    await w.find('[data-test=preset]').setValue('quick');
    expect((w.find('[data-test=spec-text]').element as HTMLTextAreaElement).value).toBe('name: quick\n');
  });

  it('shows every issue when queueing is refused', async () => {
    const api = editorApi(() => ({ ok: true, name: 'x', runs: [{ variant: 'base', seed: 1, hash: 'h', changes: {}, duplicateOf: null }] }));
    api.enqueueSpec.mockRejectedValueOnce(new UserError('bad', ['data.corpus.train: no such file']));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await w.find('[data-test=spec-text]').setValue('name: x');
    await wait(10);
    await flushPromises();
    await w.find('[data-test=enqueue]').trigger('click');
    await flushPromises();
    expect(w.find('[data-test=enqueue-issues]').text()).toBe('data.corpus.train: no such file');
  });
  it('shows the spec’s warnings before queueing, as `ablate queue` prints them, and still lets it queue', async () => {
    const warning = "h=1: heads 1 keeps the base d_k 64, so h·d_k = 1·64 = 64 ≠ d_model 512; the paper's rows (A) keep h·d_k = h·d_v = d_model: set d_k in this variant if that is what you mean";
    let warnings: string[] = [warning];
    const api = editorApi(() => ({ ok: true, name: 'abl', runs: [{ variant: 'h=1', seed: 1, hash: 'h', changes: { heads: 1 }, duplicateOf: null }], warnings }));
    const w = mount(SpecEditor, { props: { api, debounceMs: 1 } });
    await w.find('[data-test=spec-text]').setValue('name: abl');
    await wait(10);
    await flushPromises();
    expect(w.findAll('[data-test=spec-warnings] li').map((li) => li.text())).toEqual([`warning: ${warning}`]);
    expect(w.find('[data-test=enqueue]').attributes('disabled')).toBeUndefined();
    warnings = [];
    await w.find('[data-test=spec-text]').setValue('name: abl\n');
    await wait(10);
    await flushPromises();
    expect(w.find('[data-test=spec-warnings]').exists()).toBe(false);
  });
});
