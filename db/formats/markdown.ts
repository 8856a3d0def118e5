/**
 * Markdown (GitHub table): "mean ± std (n=k, Δ ±d)" cells, the best value in **bold**, and
 * incomplete seed groups marked † with a footnote under the table.
 */
import type { ResultCell, ResultRow, ResultTable } from '../../contract/api';
import { isIncomplete, type MetricColumn, repeatNote, signed, splitColumns } from './columns';

/** Pipes would split the cell; backslash-escape them (and backslashes themselves). */
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function cell(col: MetricColumn, c: ResultCell | undefined): string {
  if (!c || c.mean === null) return '–';
  const mean = c.best ? `**${col.format(c.mean)}**` : col.format(c.mean);
  // Parameter counts do not vary over seeds; "± 0.00M" would be noise.
  const std = c.std !== null && !(col.metric === 'params' && c.std === 0) ? ` ± ${col.format(c.std)}` : '';
  const delta = c.delta !== null ? `, Δ ${signed(col, c.delta)}` : '';
  return `${mean}${std} (n=${c.n}${delta})`;
}

const variantName = (r: ResultRow) => `${esc(r.variant)}${isIncomplete(r) ? ' †' : ''}${esc(repeatNote(r))}`;

export function formatMarkdown(table: ResultTable): string {
  const { params, metrics } = splitColumns(table);
  const header = ['variant', ...params.map(esc), ...metrics.map((m) => m.label)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i > params.length ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const row of table.rows) {
    const cells = [variantName(row), ...params.map((p) => esc(row.params[p] ?? '')), ...metrics.map((m) => cell(m, row.metrics[m.label]))];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const incomplete = table.rows.filter(isIncomplete);
  if (incomplete.length) {
    lines.push('');
    lines.push(`† Incomplete seed group, averaged over the finished seeds only: ${incomplete.map((r) => `${esc(r.variant)} (${r.seedsDone} of ${r.seedsExpected} seeds done)`).join('; ')}.`);
  }
  return `${lines.join('\n')}\n`;
}
