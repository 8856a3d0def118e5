/**
 * The device check's decode table (issue 10's goal: fused ≥ 1.0× PyTorch's sentences/s): fused and
 * PyTorch lines of one (config, mode) make one row with their ratio; an error line is reported, not
 * dropped; a row missing one side shows — rather than a made-up ratio.
 */
import { describe, expect, it } from 'vitest';
import { decodeRows, formatDecode, readJsonLines } from './summary';

const lines = [
  '{"kind":"decode","engine":"pytorch","config":"small","mode":"greedy","sentences_per_second":40,"tokens":900,"device":"NVIDIA H200"}',
  '{"kind":"decode","engine":"pytorch","config":"small","mode":"beam 4","sentences_per_second":10,"tokens":880,"device":"NVIDIA H200"}',
  '{"kind":"decode","engine":"pytorch","config":"base","error":"torch_beam.py exited 124"}',
  '{"kind":"decode","engine":"fused","config":"small","mode":"greedy","sentences_per_second":100,"tokens":900,"identical":63,"compared":64,"device":"H200 (Vulkan)"}',
  '{"kind":"decode","engine":"fused","config":"small","mode":"beam 4","sentences_per_second":5,"tokens":880,"identical":64,"compared":64,"device":"H200 (Vulkan)"}',
  '{"kind":"decode","engine":"fused","config":"base","mode":"greedy","sentences_per_second":30,"tokens":700,"identical":null,"compared":0,"device":"H200 (Vulkan)"}',
  '{"kind":"decode","engine":"fused","config":"base","mode":"beam',
].join('\n');

describe('device check decode table', () => {
  const { rows, errors } = decodeRows(readJsonLines(lines));

  it('pairs fused and PyTorch lines by config and mode, keeping the order they came in', () => {
    expect(rows.map((r) => [r.config, r.mode, r.fused?.sentences_per_second, r.torch?.sentences_per_second])).toEqual([
      ['small', 'greedy', 100, 40],
      ['small', 'beam 4', 5, 10],
      ['base', 'greedy', 30, undefined],
    ]);
    expect(errors).toEqual(['pytorch base: torch_beam.py exited 124']);
  });

  it('prints fused/torch and whether it reaches 1.0 (100/40 = 2.5, 5/10 = 0.5), and — where PyTorch is missing', () => {
    const table = formatDecode(rows).split('\n');
    const cells = (i: number) => table[i].trim().split(/\s{2,}/);
    expect(cells(0).slice(0, 7)).toEqual(['config', 'mode', 'fused sent/s', 'torch sent/s', 'fused/torch', 'goal ≥ 1.0', 'identical']);
    const row = (config: string, mode: string) => cells(table.findIndex((l) => l.startsWith(config) && l.includes(mode)));
    expect(row('small', 'greedy').slice(4, 7)).toEqual(['2.50×', 'met', '63/64']);
    expect(row('small', 'beam 4').slice(4, 7)).toEqual(['0.50×', 'not met', '64/64']);
    expect(row('base', 'greedy').slice(3, 7)).toEqual(['—', '—', '—', '—']);
  });
});
