/**
 * The words under and beside a result table: the notes its markers point to († incomplete seed
 * group, ‡ reused runs, * significant against base), the repeat note after a variant's name, the
 * sacreBLEU signature line. One definition for the exports (db/formats) and the renderer, so the
 * app says what the exported table says.
 */
import type { ResultRow, ResultTable, RowSignificance } from './api';

export function isIncomplete(row: ResultRow): boolean {
  return row.seedsDone < row.seedsExpected;
}

/** ` (+2 repeats)` after a variant name when `--force` re-ran some of its seeds; empty otherwise. */
export function repeatNote(row: ResultRow): string {
  const n = row.repeats ?? 0;
  return n ? ` (+${n} repeat${n === 1 ? '' : 's'} of a seed, not averaged)` : '';
}

/** The note (after †) naming the rows whose seeds are not all finished; null when every row is complete. */
export function incompleteNote(table: ResultTable): string | null {
  const rows = table.rows.filter(isIncomplete);
  if (!rows.length) return null;
  return `Incomplete seed group, averaged over the finished seeds only: ${rows.map((r) => `${r.variant} (${r.seedsDone} of ${r.seedsExpected} seeds done)`).join('; ')}.`;
}

/** The note (after ‡) naming rows that reuse runs of other experiments; null when none does. */
export function reusedNote(table: ResultTable): string | null {
  const rows = table.rows.filter((r) => r.reusedFrom?.length);
  if (!rows.length) return null;
  return `Reused runs (same config, trained in another experiment): ${rows.map((r) => `${r.variant} from ${r.reusedFrom!.join(', ')}`).join('; ')}.`;
}

/**
 * `2 archived runs not counted`: archived runs are out of the table as of every view unless asked
 * for (each front says how: `--archived`, "show archived"); null when none was left out.
 */
export function archivedNote(table: ResultTable): string | null {
  const n = table.archivedLeftOut ?? 0;
  return n ? `${n} archived run${n === 1 ? '' : 's'} not counted` : null;
}

/** The line under a table naming the BLEU it reports; null for a table without a signature. */
export function signatureNote(table: ResultTable): string | null {
  const weights = table.scoredWeights ? ` Scores from: ${table.scoredWeights}.` : '';
  return table.bleuSignature ? `BLEU: sacreBLEU signature ${table.bleuSignature} (detokenized; the paper's BLEU is tokenized, compound-split multi-bleu, about +0.7: compare directions and deltas).${weights}` : null;
}

/** The metric column that carries the significance marker: BLEU on the split the test used. */
export function significanceColumn(table: ResultTable): string | null {
  const sig = table.rows.find((r) => r.significance)?.significance;
  return sig ? (sig.split === 'test' ? 'BLEU (test)' : 'BLEU (dev)') : null;
}

/**
 * Whether a row gets the * marker: p < 0.05, and the pooled difference the approximate randomization
 * tested points the same way as the difference of means the table prints. MultEval prints the mean
 * over seeds beside a p-value computed on pooled corpora; when seeds disagree the two can differ in
 * sign (measured on Multi30k: (A) h=1 mean +0.18 BLEU over 3 seeds, pooled 17.42 vs 17.89, p 0.0116),
 * and a * beside "+0.18" would claim the opposite of what was tested.
 */
export function markedSignificant(sig: RowSignificance | null | undefined): boolean {
  return !!sig && sig.significant && Math.sign(sig.pooled - sig.basePooled) === Math.sign(sig.mean - sig.baseMean);
}

/** The note naming rows with p < 0.05 whose pooled and mean differences disagree in sign (no * for them); null when none. */
export function directionNote(table: ResultTable): string | null {
  const rows = table.rows.filter((r) => r.significance?.significant && !markedSignificant(r.significance));
  if (!rows.length) return null;
  const f = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  return `No direction claimed (p < 0.05, but the seeds disagree): ${rows.map((r) => {
    const s = r.significance!;
    return `${r.variant}: mean over seeds ${f(s.mean - s.baseMean)}, pooled corpus ${s.pooled.toFixed(2)} vs ${s.basePooled.toFixed(2)} (${f(s.pooled - s.basePooled)}), p ${s.pValue.toFixed(4)}, base s_dev ${s.baseSDev === null ? '–' : s.baseSDev.toFixed(2)}`;
  }).join('; ')}.`;
}

/** The note (after *) explaining the marker; null when no row was tested. */
export function significanceNote(table: ResultTable): string | null {
  const sig = table.rows.find((r) => r.significance)?.significance;
  if (!sig) return null;
  return `p < 0.05 against base on ${sig.split === 'test' ? 'test' : 'dev'} BLEU: stratified approximate randomization over the seed pairs' sentences (${sig.shuffles} shuffles; Clark et al. 2011, MultEval's procedure; it tests the difference of the seeds' outputs pooled into one corpus, marked only where that has the sign of the difference of means); per seed pair, sacreBLEU's paired bootstrap (${sig.pairedSamples} resamples, seed ${sig.seed}) in \`ablate export --stats\` and the CSV.`;
}

/** `s1 67.08 [59.15, 74.85] p=0.0010*` per seed pair: the variant's BLEU, its 95% interval, the p-value (* below 0.05). */
export function pairsText(sig: RowSignificance): string {
  return sig.pairs.map((p) => `s${p.seed} ${p.bleu.toFixed(2)} [${p.lower.toFixed(2)}, ${p.upper.toFixed(2)}] p=${p.pValue.toFixed(4)}${p.pValue < 0.05 ? '*' : ''}`).join('; ');
}
