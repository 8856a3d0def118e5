/**
 * LaTeX with booktabs (\toprule, \midrule, \bottomrule): "mean $\pm$ std" cells with the seed
 * count, the best value in \textbf, Δ against base, and incomplete seed groups marked $^\dagger$
 * with a note under the table. Needs \usepackage{booktabs} in the preamble.
 */
import type { ResultCell, ResultRow, ResultTable } from '../../contract/api';
import { cellNotes, directionNote, incompleteNote, markedSignificant, isIncomplete, type MetricColumn, repeatNote, reusedNote, significanceColumn, significanceNote, signatureNote, splitColumns, STATS_HEADER, statsRows } from './columns';

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '{': '\\{',
  '}': '\\}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
};

/** Escapes text for LaTeX text mode, one character at a time (so nothing is escaped twice). */
export function escapeLatex(s: string): string {
  return s.replace(/[\\{}&%$#_~^<>|]/g, (ch) => SPECIAL[ch]).replace(/\r?\n/g, ' ');
}

function cell(col: MetricColumn, c: ResultCell | undefined, row: ResultRow): string {
  if (!c || c.mean === null) return '--';
  const mean = c.best ? `\\textbf{${col.format(c.mean)}}` : col.format(c.mean);
  const std = c.std !== null && !(col.metric === 'params' && c.std === 0) ? ` $\\pm$ ${col.format(c.std)}` : '';
  const notes = cellNotes(col, c, row, (d) => `$\\Delta$ $${d}$`);
  return `${mean}${std}${notes ? ` {\\scriptsize (${notes})}` : ''}`;
}

const variantName = (r: ResultRow) => `${escapeLatex(r.variant)}${isIncomplete(r) ? '$^\\dagger$' : ''}${escapeLatex(repeatNote(r))}${r.reusedFrom?.length ? '$^\\ddagger$' : ''}`;

export function formatLatex(table: ResultTable, opts: { readonly stats?: boolean } = {}): string {
  const { params, metrics } = splitColumns(table);
  const spec = `lr${'c'.repeat(params.length)}${'r'.repeat(metrics.length)}`;
  const header = ['Variant', 'Seeds', ...params.map(escapeLatex), ...metrics.map((m) => escapeLatex(m.label))];
  const lines = [
    `% ${table.experiment.replace(/\r?\n/g, ' ')}: mean ± sample std over the row's finished seeds (n in a cell only where it differs), Δ against base; requires \\usepackage{booktabs}`,
    `\\begin{tabular}{${spec}}`,
    '\\toprule',
    `${header.join(' & ')} \\\\`,
    '\\midrule',
  ];
  for (const row of table.rows) {
    const marked = markedSignificant(row.significance) ? significanceColumn(table) : null;
    const cells = [variantName(row), String(row.seedsDone), ...params.map((p) => escapeLatex(row.params[p] ?? '')), ...metrics.map((m) => `${cell(m, row.metrics[m.label], row)}${m.label === marked ? '$^{*}$' : ''}`)];
    lines.push(`${cells.join(' & ')} \\\\`);
  }
  lines.push('\\bottomrule', '\\end{tabular}');
  const incomplete = incompleteNote(table);
  if (incomplete) lines.push('', `{\\footnotesize $^\\dagger$ ${escapeLatex(incomplete)}}`);
  const reused = reusedNote(table);
  if (reused) lines.push('', `{\\footnotesize $^\\ddagger$ ${escapeLatex(reused)}}`);
  const sigNote = significanceNote(table);
  if (sigNote) lines.push('', `{\\footnotesize $^{*}$ ${escapeLatex(sigNote).replace('p \\textless{} 0.05', '$p < 0.05$')}}`);
  const direction = directionNote(table);
  if (direction) lines.push('', `{\\footnotesize ${escapeLatex(direction)}}`);
  const stats = opts.stats ? statsRows(table) : null;
  if (stats) {
    lines.push('', `\\begin{tabular}{lllrrrrrl}`, '\\toprule', `${STATS_HEADER.map(escapeLatex).join(' & ')} \\\\`, '\\midrule');
    for (const r of stats) lines.push(`${r.map(escapeLatex).join(' & ')} \\\\`);
    lines.push('\\bottomrule', '\\end{tabular}');
  }
  const signature = signatureNote(table);
  if (signature) lines.push('', `{\\footnotesize ${escapeLatex(signature).replace(escapeLatex(table.bleuSignature!), `\\texttt{${escapeLatex(table.bleuSignature!)}}`)}}`);
  return `${lines.join('\n')}\n`;
}
