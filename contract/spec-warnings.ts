/**
 * Warnings about a valid spec: things that run but are probably not what the author meant. Shown
 * when a spec is previewed (the spec editor) and queued (the CLI), never refused.
 */
import type { ExpandedRun } from './spec';

/**
 * A row that changes `heads` but inherits an explicit base d_k / d_v: h·d_k (or h·d_v) then differs
 * from d_model, while the table's "heads" column alone suggests the paper's row (A), which keeps
 * h·d_k = h·d_v = d_model. One warning per variant (seeds share it).
 */
export function specWarnings(runs: readonly ExpandedRun[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const { config } of runs) {
    if (seen.has(config.variant)) continue;
    seen.add(config.variant);
    const { changes, model } = config;
    if (!('heads' in changes)) continue;
    const inherited = (['d_k', 'd_v'] as const).filter((k) => !(k in changes) && model.heads * model[k] !== model.d_model);
    if (!inherited.length) continue;
    const products = inherited.map((k) => `h·${k} = ${model.heads}·${model[k]} = ${model.heads * model[k]}`).join(', ');
    out.push(
      `${config.variant}: heads ${model.heads} keeps the base ${inherited.map((k) => `${k} ${model[k]}`).join(' and ')}, so ${products} ≠ d_model ${model.d_model}; the paper's rows (A) keep h·d_k = h·d_v = d_model: set ${inherited.join(' and ')} in this variant if that is what you mean`,
    );
  }
  return out;
}
