/**
 * LaTeX with booktabs (\toprule, \midrule, \bottomrule): "mean $\pm$ std" cells with the seed
 * count, the best value in \textbf, Δ against base, and incomplete seed groups marked $^\dagger$
 * with a note under the table. Needs \usepackage{booktabs} in the preamble.
 */
import type { ResultCell, ResultRow, ResultTable } from '../../contract/api';
import { isIncomplete, type MetricColumn, repeatNote, reusedNote, significanceColumn, significanceNote, signatureNote, signed, splitColumns, STATS_HEADER, statsRows } from './columns';

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

function cell(col: MetricColumn, c: ResultCell | undefined): string {
  if (!c || c.mean === null) return '--';
  const mean = c.best ? `\\textbf{${col.format(c.mean)}}` : col.format(c.mean);
  const std = c.std !== null && !(col.metric === 'params' && c.std === 0) ? ` $\\pm$ ${col.format(c.std)}` : '';
  const delta = c.delta !== null ? `, $\\Delta$ $${signed(col, c.delta)}$` : '';
  return `${mean}${std} {\\scriptsize (n=${c.n}${delta})}`;
}

const variantName = (r: ResultRow) => `${escapeLatex(r.variant)}${isIncomplete(r) ? '$^\\dagger$' : ''}${escapeLatex(repeatNote(r))}${r.reusedFrom?.length ? '$^\\ddagger$' : ''}`;

export function formatLatex(table: ResultTable, opts: { readonly stats?: boolean } = {}): string {
  const { params, metrics } = splitColumns(table);
  const spec = `l${'c'.repeat(params.length)}${'r'.repeat(metrics.length)}`;
  const header = ['Variant', ...params.map(escapeLatex), ...metrics.map((m) => escapeLatex(m.label))];
  const lines = [
    `% ${table.experiment.replace(/\r?\n/g, ' ')}: mean ± sample std over seeds (n = finished seeds), Δ against base; requires \\usepackage{booktabs}`,
    `\\begin{tabular}{${spec}}`,
    '\\toprule',
    `${header.join(' & ')} \\\\`,
    '\\midrule',
  ];
  for (const row of table.rows) {
    const marked = row.significance?.significant ? significanceColumn(table) : null;
    const cells = [variantName(row), ...params.map((p) => escapeLatex(row.params[p] ?? '')), ...metrics.map((m) => `${cell(m, row.metrics[m.label])}${m.label === marked ? '$^{*}$' : ''}`)];
    lines.push(`${cells.join(' & ')} \\\\`);
  }
  lines.push('\\bottomrule', '\\end{tabular}');
  const incomplete = table.rows.filter(isIncomplete);
  if (incomplete.length) {
    lines.push('');
    lines.push(`{\\footnotesize $^\\dagger$ Incomplete seed group, averaged over the finished seeds only: ${incomplete.map((r) => `${escapeLatex(r.variant)} (${r.seedsDone} of ${r.seedsExpected} seeds done)`).join('; ')}.}`);
  }
  const reused = reusedNote(table);
  if (reused) lines.push('', `{\\footnotesize $^\\ddagger$ ${escapeLatex(reused)}}`);
  const sigNote = significanceNote(table);
  if (sigNote) lines.push('', `{\\footnotesize $^{*}$ ${escapeLatex(sigNote).replace('p \\textless{} 0.05', '$p < 0.05$')}}`);
  const stats = opts.stats ? statsRows(table) : null;
  if (stats) {
    lines.push('', `\\begin{tabular}{lllrrrrl}`, '\\toprule', `${STATS_HEADER.map(escapeLatex).join(' & ')} \\\\`, '\\midrule');
    for (const r of stats) lines.push(`${r.map(escapeLatex).join(' & ')} \\\\`);
    lines.push('\\bottomrule', '\\end{tabular}');
  }
  const signature = signatureNote(table);
  if (signature) lines.push('', `{\\footnotesize ${escapeLatex(signature).replace(escapeLatex(table.bleuSignature!), `\\texttt{${escapeLatex(table.bleuSignature!)}}`)}}`);
  return `${lines.join('\n')}\n`;
}
