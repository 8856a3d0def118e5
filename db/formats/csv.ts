/**
 * CSV for spreadsheets and scripts: one line per variant, the changed hyper-parameters, then for
 * each metric separate mean, std, n, delta and best columns at full precision (blank = none),
 * and the seed counts. Headings use the metric names (valid_ppl_mean, …).
 */
import { stringify } from 'csv-stringify/sync';
import type { ResultTable } from '../../contract/api';
import { isIncomplete, splitColumns } from './columns';

const num = (v: number | null) => (v === null ? '' : String(v));

export function formatCsv(table: ResultTable): string {
  const { params, metrics } = splitColumns(table);
  const header = ['variant', 'is_base', ...params];
  for (const m of metrics) header.push(`${m.metric}_mean`, `${m.metric}_std`, `${m.metric}_n`, `${m.metric}_delta`, `${m.metric}_best`);
  header.push('seeds_done', 'seeds_expected', 'complete', 'seeds', 'repeats', 'config_hash', 'reused_from', 'bleu_signature', 'sig_split', 'sig_seeds', 'sig_mean', 'sig_s_dev', 'sig_s_sel', 'sig_base_mean', 'sig_base_s_dev', 'sig_base_s_sel', 'sig_pooled', 'sig_base_pooled', 'sig_p_ar', 'sig_p_lt_0_05', 'paired_bs', 'averaged_checkpoints');
  const records = table.rows.map((row) => {
    const rec = [row.variant, String(row.isBase), ...params.map((p) => row.params[p] ?? '')];
    for (const m of metrics) {
      const c = row.metrics[m.label];
      rec.push(num(c?.mean ?? null), num(c?.std ?? null), String(c?.n ?? 0), num(c?.delta ?? null), String(c?.best ?? false));
    }
    rec.push(String(row.seedsDone), String(row.seedsExpected), String(!isIncomplete(row)), (row.seeds ?? []).join(' '), String(row.repeats ?? 0), row.configHash ?? '', (row.reusedFrom ?? []).join('; '), table.bleuSignature ?? '');
    const s = row.significance;
    rec.push(s?.split ?? '', s ? s.seeds.join(' ') : '', num(s?.mean ?? null), num(s?.sDev ?? null), num(s?.sSel ?? null), num(s?.baseMean ?? null), num(s?.baseSDev ?? null), num(s?.baseSSel ?? null), num(s?.pooled ?? null), num(s?.basePooled ?? null), num(s?.pValue ?? null), s ? String(s.significant) : '', s ? JSON.stringify(s.pairs) : '', String(row.averagedCheckpoints ?? 0));
    return rec;
  });
  return stringify([header, ...records]);
}
