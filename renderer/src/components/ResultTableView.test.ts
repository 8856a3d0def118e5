// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import type { ResultTable } from '../../../contract/api';
import ResultTableView from './ResultTableView.vue';
import { formatValue, showsDelta } from '../format';

const cell = (mean: number | null, std: number | null, n: number, delta: number | null, best = false) => ({ mean, std, n, delta, best });

describe('the result table', () => {
  const table: ResultTable = {
    experiment: 'abl',
    columns: ['heads', 'PPL (dev)', 'BLEU (dev)', 'params', 'train time'],
    rows: [
      { variant: 'base', isBase: true, params: { heads: '' }, metrics: { 'PPL (dev)': cell(4.92, 0.05, 3, null, true), 'BLEU (dev)': cell(25.8, 0.31, 3, null), params: cell(65_000_000, 0, 3, null), 'train time': cell(12.34, 1, 3, null) }, seedsDone: 3, seedsExpected: 3 },
      { variant: '(A) h=1', isBase: false, params: { heads: '1' }, metrics: { 'PPL (dev)': cell(5.29, 0.1, 2, 0.37), 'BLEU (dev)': cell(24.9, null, 1, -0.9, true), params: cell(65_000_000 + 1200, 0, 2, 1200), 'train time': cell(14, 1, 2, 1.66) }, seedsDone: 2, seedsExpected: 3 },
    ],
  };
  const w = mount(ResultTableView, { props: { table } });
  const rows = w.findAll('tbody tr');

  it('shows mean ± std, the changed parameter, and Δ against base', () => {
    const cells = rows[1].findAll('td');
    expect(cells[0].text()).toBe('1');
    expect(cells[1].text()).toContain('5.29 ± 0.10');
    expect(cells[1].text()).toContain('Δ +0.37');
    expect(cells[2].text()).toContain('Δ −0.90');
    expect(cells[3].text()).toBe('65.00M');
  });
  it('counts seeds once per row, and n in a cell only where it differs from its row', () => {
    expect(w.text()).not.toContain('(n=3)');
    expect(rows[1].findAll('td')[1].text()).not.toContain('n=');
    expect(rows[1].findAll('td')[2].text()).toContain('(n=1)');
  });
  it('prints Δ only where it means something: not for a parameter change below the precision, never for train time', () => {
    expect(rows[1].findAll('td')[3].text()).not.toContain('Δ');
    expect(rows[1].findAll('td')[4].text()).toBe('14.0 ± 1.0');
  });
  it('puts units in the headings', () => {
    expect(w.findAll('thead th').map((t) => t.text())).toContain('train time (s)');
  });
  it('puts the best value of each column in bold', () => {
    expect(rows[0].findAll('td')[1].find('strong').text()).toBe('4.92 ± 0.05');
    expect(rows[1].findAll('td')[2].find('strong').text()).toBe('24.90');
    expect(w.findAll('strong').length).toBe(2);
  });
  it('flags a variant whose seeds are not all done', () => {
    expect(rows[1].find('td.warn').text()).toBe('2/3');
    expect(rows[0].find('td.warn').exists()).toBe(false);
  });
});

describe('paper number formats', () => {
  it('gives tiny models 0.03M parameters, and Δ for parameters only when it shows', () => {
    expect(formatValue('params', 30_100)).toBe('0.03M');
    expect(formatValue('params', 2_500)).toBe('2.5k');
    expect(showsDelta('params', 1200, 65_000_000)).toBe(false);
    expect(showsDelta('params', 20_000, 65_000)).toBe(true);
    expect(formatValue('params', 20_000, 65_000)).toBe('0.02M');
    expect(showsDelta('BLEU (dev)', 0.001)).toBe(true);
    expect(showsDelta('train time', 50)).toBe(false);
  });
});
