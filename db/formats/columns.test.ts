import { describe, expect, it } from 'vitest';
import type { ResultCell, ResultRow } from '../../contract/api';
import { cellNotes, metricColumn } from './columns';

const row = (seedsDone: number): ResultRow => ({ variant: 'v', isBase: false, params: {}, metrics: {}, seedsDone, seedsExpected: 3 });
const cell = (n: number, delta: number | null): ResultCell => ({ mean: 1, std: null, n, delta, best: false });
const plain = (d: string) => `Δ ${d}`;

describe('cell notes, as a paper prints them', () => {
  it('names n only where a cell has fewer seeds than its row', () => {
    const bleu = metricColumn('BLEU (dev)')!;
    expect(cellNotes(bleu, cell(3, null), row(3), plain)).toBe('');
    expect(cellNotes(bleu, cell(2, 0.5), row(3), plain)).toBe('n=2, Δ +0.50');
  });

  it('drops a Δ that rounds to zero in the column’s format (0.00M parameters) and any Δ of train time', () => {
    expect(cellNotes(metricColumn('params')!, cell(1, 1_000), row(1), plain)).toBe('');
    expect(cellNotes(metricColumn('params')!, cell(1, 200_000), row(1), plain)).toBe('Δ +0.20M');
    expect(cellNotes(metricColumn('train time')!, cell(1, -60), row(1), plain)).toBe('');
  });
});
