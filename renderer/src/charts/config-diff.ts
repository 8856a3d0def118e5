/** Flattened config comparison for Run detail: what this run changes against its base run. */

/** `{a: {b: 1}}` → `{ 'a.b': 1 }` (arrays kept whole). */
export function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = value;
  return out;
}

export interface ConfigLine {
  readonly key: string;
  readonly value: string;
  /** The base run's value when different; undefined when equal (or no base). */
  readonly base?: string;
}

/** Every config field of `run`, with the base's value where it differs. Identity fields skipped. */
export function configDiff(run: unknown, base: unknown | null): ConfigLine[] {
  const skip = new Set(['experiment', 'variant', 'seed']);
  const a = flatten(run);
  const b = base === null ? {} : flatten(base);
  const keys = [...new Set([...Object.keys(a), ...(base === null ? [] : Object.keys(b))])].filter((k) => !skip.has(k) && !k.startsWith('changes.')).sort();
  return keys.map((key) => {
    const value = JSON.stringify(a[key]) ?? '—';
    const other = JSON.stringify(b[key]) ?? '—';
    return base !== null && value !== other ? { key, value, base: other } : { key, value };
  });
}
