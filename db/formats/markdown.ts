/**
 * Markdown (GitHub table): a seeds column, "mean ± std (Δ ±d)" cells (cellNotes says when n or Δ
 * show), the best value in **bold**, and incomplete seed groups marked † with a footnote.
 */
import type { ResultCell, ResultRow, ResultTable } from '../../contract/api';
import { cellNotes, directionNote, incompleteNote, markedSignificant, isIncomplete, type MetricColumn, repeatNote, reusedNote, significanceColumn, significanceNote, signatureNote, splitColumns, STATS_HEADER, statsRows } from './columns';

/** Pipes would split the cell; backslash-escape them (and backslashes themselves). */
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function cell(col: MetricColumn, c: ResultCell | undefined, row: ResultRow): string {
  if (!c || c.mean === null) return '–';
  const mean = c.best ? `**${col.format(c.mean)}**` : col.format(c.mean);
  // Parameter counts do not vary over seeds; "± 0.00M" would be noise.
  const std = c.std !== null && !(col.metric === 'params' && c.std === 0) ? ` ± ${col.format(c.std)}` : '';
  const notes = cellNotes(col, c, row, (d) => `Δ ${d}`);
  return `${mean}${std}${notes ? ` (${notes})` : ''}`;
}

const variantName = (r: ResultRow) => `${esc(r.variant)}${isIncomplete(r) ? ' †' : ''}${esc(repeatNote(r))}${r.reusedFrom?.length ? ' ‡' : ''}`;

export function formatMarkdown(table: ResultTable, opts: { readonly stats?: boolean } = {}): string {
  const { params, metrics } = splitColumns(table);
  const header = ['variant', 'seeds', ...params.map(esc), ...metrics.map((m) => m.label)];
  const numeric = (i: number) => i === 1 || i > params.length + 1;
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (numeric(i) ? ' ---: ' : ' --- ')).join('|')}|`];
  for (const row of table.rows) {
    const marked = markedSignificant(row.significance) ? significanceColumn(table) : null;
    const cells = [variantName(row), String(row.seedsDone), ...params.map((p) => esc(row.params[p] ?? '')), ...metrics.map((m) => `${cell(m, row.metrics[m.label], row)}${m.label === marked ? ' *' : ''}`)];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const incomplete = incompleteNote(table);
  if (incomplete) lines.push('', `† ${esc(incomplete)}`);
  const reused = reusedNote(table);
  if (reused) lines.push('', `‡ ${esc(reused)}`);
  const sigNote = significanceNote(table);
  if (sigNote) lines.push('', `\\* ${sigNote}`);
  const direction = directionNote(table);
  if (direction) lines.push('', esc(direction));
  const stats = opts.stats ? statsRows(table) : null;
  if (stats) {
    lines.push('', `| ${STATS_HEADER.join(' | ')} |`, `|${STATS_HEADER.map(() => ' --- ').join('|')}|`);
    for (const r of stats) lines.push(`| ${r.map(esc).join(' | ')} |`);
  }
  const signature = signatureNote(table);
  if (signature) lines.push('', signature.replace(table.bleuSignature!, `\`${table.bleuSignature!}\``));
  return `${lines.join('\n')}\n`;
}
