/**
 * Spec text and files at the edge: YAML or JSON (JSON is read by the same YAML parser), syntax
 * errors naming file, line and column, schema errors naming the field path and (for files) the
 * line it sits on, presets by name, relative corpus paths resolved against the spec's directory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isScalar, LineCounter, parseDocument, visit, YAMLParseError } from 'yaml';
import { checkSpecTextSize, expandSpec, parseSpec, SpecError, type ExpandedRun, type Spec } from '../../contract/spec';
import { decodeUtf8Strict } from '../../contract/text-safety';
import { findPreset, PRESETS } from '../../experiments/presets';
import { UserError } from '../../contract/errors';
import { fusedProblems } from '../../experiments/fused/run/support';

export interface LoadedSpec {
  readonly spec: Spec;
  /** Directory relative corpus paths resolve against (the spec file's folder; cwd for presets and pasted text). */
  readonly specDir: string | null;
  /** Where it came from, for messages: a file path or `preset quick`. */
  readonly source: string;
}

/** Parses YAML/JSON text into a validated spec. `file` only labels errors. */
export function parseSpecText(text: string, file?: string, transform?: (raw: Record<string, unknown>) => Record<string, unknown>): Spec {
  // Bounded first: the parse below is linear, but a megabyte of keys would still take seconds.
  checkSpecTextSize(text, file);
  const lineCounter = new LineCounter();
  // uniqueKeys is checked below in one pass (the parser's own check is quadratic in a map's size).
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, logLevel: 'error' });
  if (doc.errors.length > 0) {
    throw new SpecError(doc.errors.slice(0, 20).map((e) => syntaxIssue(e, lineCounter)), file);
  }
  const duplicates = duplicateKeyIssues(doc, lineCounter);
  if (duplicates.length) throw new SpecError(duplicates, file);
  let raw: unknown;
  try {
    // An alias to a missing anchor, or aliases that multiply (a "billion laughs"), fail here.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new SpecError([`(spec): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`], file);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SpecError(['(spec): must be a mapping with name, data, base, train, variants'], file);
  }
  try {
    return parseSpec(transform ? transform(raw as Record<string, unknown>) : raw, file);
  } catch (err) {
    if (!(err instanceof SpecError) || !file) throw err;
    // Point at the line of each offending field, when the path exists in the document.
    const issues = err.issues.map((issue) => {
      const path = issuePathParts(issue.slice(0, issue.indexOf(':')));
      for (let n = path.length; n > 0; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node && node.range) return `${issue} (line ${lineCounter.linePos(node.range[0]).line})`;
      }
      return issue;
    });
    throw new SpecError(issues, file);
  }
}

/** `line L, column C: Map keys must be unique` for every repeated key, in one pass over each map. */
function duplicateKeyIssues(doc: ReturnType<typeof parseDocument>, lc: LineCounter): string[] {
  const issues: string[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        if (seen.has(key) && issues.length < 20) {
          const pos = lc.linePos((pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0);
          issues.push(`line ${pos.line}, column ${pos.col}: Map keys must be unique`);
        }
        seen.add(key);
      }
    },
  });
  return issues;
}

function syntaxIssue(e: YAMLParseError, lc: LineCounter): string {
  const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
  const firstLine = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return `line ${pos.line}, column ${pos.col}: ${firstLine}`;
}

/** `variants[2].heads` → ['variants', 2, 'heads']. */
function issuePathParts(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return parts;
}

/** Reads a spec file (YAML or JSON). */
export function readSpecFile(file: string, transform?: (raw: Record<string, unknown>) => Record<string, unknown>): LoadedSpec {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UserError(`${file}: cannot read spec file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const text = decodeUtf8Strict(bytes, file);
  return { spec: parseSpecText(text, file, transform), specDir: dirname(path), source: file };
}

/**
 * `ablate run SPEC|PRESET`: an existing file wins, then a preset name. `corpus` swaps the data
 * section for DIR/{train,valid,test}.{en,de} (Table 3 on your own data).
 */
export function loadSpecArg(arg: string, opts: { corpus?: string } = {}): LoadedSpec {
  const transform = opts.corpus ? corpusTransform(opts.corpus) : undefined;
  if (existsSync(arg) && statSync(arg).isFile()) return readSpecFile(arg, transform);
  const preset = findPreset(arg);
  if (preset) return { spec: parseSpecText(preset.yaml, `preset ${preset.name}`, transform), specDir: null, source: `preset ${preset.name}` };
  throw new UserError(`${arg}: no such spec file or preset (presets: ${PRESETS.map((p) => p.name).join(', ')})`);
}

/**
 * Replaces the data section with a parallel corpus in `dir` (train and valid required, test
 * optional), keeping the tokenizer of a spec that already reads a corpus.
 */
export function corpusTransform(dir: string, src = 'en', tgt = 'de'): (raw: Record<string, unknown>) => Record<string, unknown> {
  const abs = resolve(dir);
  const split = (name: string) => [join(abs, `${name}.${src}`), join(abs, `${name}.${tgt}`)] as [string, string];
  for (const name of ['train', 'valid'])
    for (const f of split(name)) if (!existsSync(f)) throw new UserError(`--corpus ${dir}: missing ${f} (expected {train,valid,test}.{${src},${tgt}})`);
  const hasTest = split('test').every((f) => existsSync(f));
  return (raw) => {
    const old = (raw.data ?? {}) as Record<string, unknown>;
    return {
      ...raw,
      data: {
        corpus: { train: split('train'), valid: split('valid'), ...(hasTest ? { test: split('test') } : {}) },
        // A corpus spec chose its tokenizer for real text (its model and step time are sized with it);
        // a synthetic task's word/char vocabulary fits only the toy data, so those get BPE 8,000.
        tokenizer: old.corpus && old.tokenizer ? old.tokenizer : { kind: 'bpe', vocab: 8000, shared: true },
        max_len: typeof old.max_len === 'number' && old.max_len > 32 ? old.max_len : 64,
      },
    };
  };
}

/** Expands a loaded spec with corpus paths made absolute against its directory. */
export function expandLoaded(loaded: { spec: Spec; specDir: string | null }): ExpandedRun[] {
  const base = loaded.specDir ?? process.cwd();
  return expandSpec(loaded.spec, (p) => (isAbsolute(p) ? p : resolve(base, p)));
}

/**
 * Refuses, when queued, runs the named backend cannot train (one line per problem; nothing queued):
 * the fused engine's limits (experiments/fused/run/support.ts). `auto` is not checked: it passes over
 * the fused engine for such a config at run time.
 */
export function checkBackendSupport(runs: readonly ExpandedRun[], backend: string): void {
  if (backend !== 'fused') return;
  const problems = new Set<string>();
  for (const r of runs) for (const p of fusedProblems(r.config)) problems.add(p);
  if (problems.size) throw new SpecError([...problems]);
}
